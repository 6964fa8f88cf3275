"""Guichet's URLs plus the demo shop, which guichet/server/urls.py mounts in demo mode only."""

from typing import cast

from django.urls import URLPattern, URLResolver, include, path

from guichet.server.urls import urlpatterns as guichet_urlpatterns

urlpatterns: list[URLPattern | URLResolver] = [
    *cast(list[URLPattern | URLResolver], guichet_urlpatterns),
    path("demo/", include("guichet.demo.shop.urls")),
]
