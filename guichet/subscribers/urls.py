from django.urls import URLPattern, URLResolver

app_name = "subscribers"

urlpatterns: list[URLPattern | URLResolver] = []
