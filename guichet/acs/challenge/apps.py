from django.apps import AppConfig


class ChallengeConfig(AppConfig):
    name = "guichet.acs.challenge"
    label = "acs_challenge"
    default_auto_field = "django.db.models.BigAutoField"
