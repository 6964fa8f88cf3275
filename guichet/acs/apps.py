from django.apps import AppConfig


class AcsConfig(AppConfig):
    name = "guichet.acs"
    label = "acs"
    default_auto_field = "django.db.models.BigAutoField"
