from django.urls import URLPattern, URLResolver, path

from guichet.issuer.cards.api import views

app_name = "issuer_api"

# Included under /api/issuer/v1/ (guichet/server/urls.py); every route is described in openapi.py.
urlpatterns: list[URLPattern | URLResolver] = [
    path("cardholders/<str:ref>", views.cardholder_put, name="cardholder"),
    path("cardholders/<str:ref>/phone", views.cardholder_phone, name="phone"),
    path("cards/search", views.card_search, name="card_search"),
    path("cards/<str:card_ref>", views.card_detail, name="card"),
    path("cards/<str:card_ref>/block", views.card_block, name="block"),
    path("cards/<str:card_ref>/unblock", views.card_unblock, name="unblock"),
    path("openapi.json", views.openapi, name="openapi"),
]
