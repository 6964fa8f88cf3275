from django.urls import URLPattern, URLResolver, path

from guichet.payonbill.checkout import views

app_name = "checkout"

urlpatterns: list[URLPattern | URLResolver] = [
    path("terms/", views.terms, name="terms"),
    path("<str:public_id>/", views.payment_page, name="payment"),
    path("<str:public_id>/confirm/", views.confirm, name="confirm"),
    path("<str:public_id>/resume/", views.resume, name="resume"),
    path("<str:public_id>/cancel/", views.cancel, name="cancel"),
]
