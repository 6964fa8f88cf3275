from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "guichet.payonbill.merchants"
    label = "merchants"
    verbose_name = "Merchants and payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from guichet.delivery.http import register_http_kind
        from guichet.delivery.worker import register_periodic
        from guichet.payonbill.merchants import services

        register_http_kind(
            services.NOTIFICATION_KIND,
            prepare=services.notification_prepare,
            accept=services.notification_accept,
        )
        # Expire payments nobody completed in time (also done lazily when one is read).
        register_periodic("merchants.expire_payments", services.payments_expire_sweep)
