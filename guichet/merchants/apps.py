from django.apps import AppConfig


class MerchantsConfig(AppConfig):
    name = "guichet.merchants"
    label = "merchants"
    default_auto_field = "django.db.models.BigAutoField"
