from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "guichet.payonbill.subscribers"
    label = "subscribers"
    default_auto_field = "django.db.models.BigAutoField"
