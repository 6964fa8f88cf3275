from django.urls import URLPattern, URLResolver

app_name = "demoshop"

urlpatterns: list[URLPattern | URLResolver] = []
