from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "guichet.payonbill.checkout"
    label = "checkout"
    default_auto_field = "django.db.models.BigAutoField"
