from django.urls import path

from guichet.issuer.enrollment import views

app_name = "enrollment"

urlpatterns = [
    path("", views.start, name="start"),
    path("verify/", views.codes, name="codes"),
    path("methods/", views.methods, name="methods"),
    path("password/", views.password, name="password"),
    path("phone/", views.phone, name="phone"),
    path("logout/", views.logout, name="logout"),
    path("help/", views.help_page, name="help"),
    path("secure-shopping/", views.secure_shopping, name="secure_shopping"),
]
