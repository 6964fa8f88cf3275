from django.urls import URLPattern, URLResolver, path

from guichet.issuer.acs import method_views, views

app_name = "acs"

urlpatterns: list[URLPattern | URLResolver] = [
    path("areq", views.areq, name="areq"),
    path("verify", views.verify, name="verify"),
    path("method", method_views.method_page, name="method"),
    path("method/collect", method_views.method_collect, name="method_collect"),
]
