from django.urls import URLPattern, URLResolver, path

from guichet.payonbill.subscribers import operator_views

app_name = "operator"

# Included under /api/operator/v1/ (guichet/server/urls.py); described in operator_openapi.py.
urlpatterns: list[URLPattern | URLResolver] = [
    path("bill-lines", operator_views.bill_lines, name="bill_lines"),
    path("openapi.json", operator_views.openapi, name="openapi"),
]
