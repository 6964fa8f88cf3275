from django.apps import AppConfig


class DevInboxConfig(AppConfig):
    name = "guichet.devinbox"
    label = "devinbox"
