from django.apps import AppConfig


class DevInboxConfig(AppConfig):
    name = "guichet.demo.inbox"
    label = "devinbox"
