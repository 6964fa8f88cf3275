from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "guichet.cards"
    label = "cards"
    verbose_name = "Cardholders and cards"
