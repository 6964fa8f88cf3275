from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "guichet.codes"
    label = "codes"
    verbose_name = "One-time codes and throttling"
