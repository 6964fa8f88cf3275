from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "guichet.payonbill.checkout"
    label = "checkout"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from guichet.payonbill.checkout.services import checkout_refunded
        from guichet.payonbill.merchants.services import register_refund_listener

        # A refund of a pay-on-bill payment is credited on the subscriber's bill.
        register_refund_listener(checkout_refunded)
