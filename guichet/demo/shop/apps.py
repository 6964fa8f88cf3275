from django.apps import AppConfig


class DemoshopConfig(AppConfig):
    name = "guichet.demo.shop"
    label = "demoshop"
    default_auto_field = "django.db.models.BigAutoField"
