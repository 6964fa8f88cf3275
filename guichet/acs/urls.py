from django.urls import URLPattern, URLResolver

app_name = "acs"

urlpatterns: list[URLPattern | URLResolver] = []
