from django.apps import AppConfig


class AcsConfig(AppConfig):
    name = "guichet.issuer.acs"
    label = "acs"
    verbose_name = "3-D Secure ACS"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from guichet.issuer.acs.rules import RuleConfigError, rules_load

        # A misnamed issuer rule stops the server at start, not at the first AReq.
        try:
            rules_load(settings.GUICHET.acs.rules)
        except RuleConfigError as exc:
            raise ImproperlyConfigured(f"GUICHET_ACS_RULES: {exc}") from exc
