from django.urls import path

from guichet.demo.inbox import views

app_name = "devinbox"
urlpatterns = [path("inbox", views.inbox, name="inbox")]
