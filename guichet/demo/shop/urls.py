from django.urls import URLPattern, URLResolver, path

from guichet.demo.shop import views

app_name = "demoshop"

# Included under /demo/, in demo mode only (guichet/server/urls.py).
urlpatterns: list[URLPattern | URLResolver] = [
    path("shop/", views.index, name="index"),
    path("shop/basket/<slug:product>/", views.basket, name="basket"),
    path("shop/order/<uuid:order_id>/", views.order_page, name="order"),
    path("shop/order/<uuid:order_id>/card/", views.card, name="card"),
    path("shop/order/<uuid:order_id>/3ds/complete", views.challenge_complete, name="challenge_complete"),
    path("shop/order/<uuid:order_id>/3ds/method", views.method_done, name="method_done"),
    path("shop/order/<uuid:order_id>/return", views.internetplus_return, name="return"),
    path("shop/notify", views.notify, name="notify"),
    path("ds/rreq", views.ds_rreq, name="ds_rreq"),
]
