from django.urls import path

from guichet.devinbox import views

app_name = "devinbox"
urlpatterns = [path("inbox", views.inbox, name="inbox")]
