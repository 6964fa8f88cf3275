from django.urls import URLPattern, URLResolver, path

from guichet.issuer.acs import views

app_name = "acs"

urlpatterns: list[URLPattern | URLResolver] = [
    path("areq", views.areq, name="areq"),
    path("verify", views.verify, name="verify"),
]
