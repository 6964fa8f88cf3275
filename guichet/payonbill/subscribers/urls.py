from django.urls import URLPattern, URLResolver, path

from guichet.payonbill.subscribers import account_views, signin_views

app_name = "subscribers"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", account_views.home, name="home"),
    path("signin/", signin_views.signin, name="signin"),
    path("personalise/", signin_views.personalise, name="personalise"),
    path("forgot/", signin_views.forgot, name="forgot"),
    path("reset/", signin_views.reset, name="reset"),
    path("signout/", signin_views.signout, name="signout"),
    path("signout-everywhere/", account_views.signout_everywhere, name="signout_everywhere"),
    path("password/", account_views.password, name="password"),
    path("pay-on-bill/", account_views.pay_on_bill, name="pay_on_bill"),
    path("bills/<str:period>/", account_views.bill_page, name="bill"),
    path("operator.css", signin_views.operator_css, name="operator_css"),
]
