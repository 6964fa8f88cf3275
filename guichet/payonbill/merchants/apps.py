from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "guichet.payonbill.merchants"
    label = "merchants"
    verbose_name = "Merchants and payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from guichet.delivery.http import register_http_kind
        from guichet.delivery.worker import register_periodic
        from guichet.payonbill.merchants import notifications, payments
        from guichet.payonbill.merchants.billing import biller

        register_http_kind(
            notifications.NOTIFICATION_KIND,
            prepare=notifications.notification_prepare,
            accept=notifications.notification_accept,
        )
        # Expire payments nobody completed in time (also done lazily when one is read).
        register_periodic("merchants.expire_payments", payments.payment_expire_sweep)
        # A GUICHET_BILLER that cannot credit refunds stops the start, not the first refund.
        biller()
