"""Only the merchant API, so these tests do not depend on the other areas' routes."""

from django.urls import include, path

urlpatterns = [path("api/v1/", include("guichet.payonbill.merchants.urls"))]
