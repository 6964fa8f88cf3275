from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "guichet.issuer.cards"
    label = "cards"
    verbose_name = "Cardholders and cards"
