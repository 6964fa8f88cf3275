from django.urls import URLPattern, URLResolver

app_name = "acs_challenge"

urlpatterns: list[URLPattern | URLResolver] = []
