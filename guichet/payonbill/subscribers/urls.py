from django.urls import URLPattern, URLResolver, path

from guichet.payonbill.subscribers import views

app_name = "subscribers"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("personalise/", views.personalise, name="personalise"),
    path("forgot/", views.forgot, name="forgot"),
    path("reset/", views.reset, name="reset"),
    path("signout/", views.signout, name="signout"),
    path("signout-everywhere/", views.signout_everywhere, name="signout_everywhere"),
    path("password/", views.password, name="password"),
    path("pay-on-bill/", views.pay_on_bill, name="pay_on_bill"),
    path("bills/<str:period>/", views.bill_page, name="bill"),
    path("operator.css", views.operator_css, name="operator_css"),
]
