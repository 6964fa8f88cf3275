from django.urls import URLPattern, URLResolver, path

from guichet.issuer.acs.challenge import views

app_name = "acs_challenge"

urlpatterns: list[URLPattern | URLResolver] = [
    path("challenge", views.challenge, name="challenge"),
    path("challenge/step", views.step, name="step"),
    path("challenge/<uuid:acs_trans_id>/status", views.status, name="status"),
]
