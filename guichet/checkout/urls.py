from django.urls import URLPattern, URLResolver

app_name = "checkout"

urlpatterns: list[URLPattern | URLResolver] = []
