"""The merchant API and the back-office only, so these tests do not depend on the other areas' routes."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("api/v1/", include("guichet.payonbill.merchants.urls")), path("admin/", admin.site.urls)]
