from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "guichet.delivery"
    label = "delivery"
    verbose_name = "Delivery (outbox)"
