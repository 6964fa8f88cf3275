from django.urls import URLPattern, URLResolver, path

from guichet.payonbill.merchants import views

app_name = "merchants"

# Included under /api/v1/ (guichet/server/urls.py); every route is described in openapi.py.
urlpatterns: list[URLPattern | URLResolver] = [
    path("payments", views.payments, name="payments"),
    path("payments/<str:payment_id>", views.payment_detail, name="payment"),
    path("payments/<str:payment_id>/refunds", views.payment_refunds, name="refunds"),
    path("openapi.json", views.openapi, name="openapi"),
]
