from django.urls import URLPattern, URLResolver

app_name = "merchants"

urlpatterns: list[URLPattern | URLResolver] = []
