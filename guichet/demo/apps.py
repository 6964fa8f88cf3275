from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "guichet.demo"
    label = "demo"
