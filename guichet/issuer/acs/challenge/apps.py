"""The browser challenge: CReq, the ePin and SMS pages in the merchant's iframe, final CRes, RReq."""

from django.apps import AppConfig


class ChallengeConfig(AppConfig):
    name = "guichet.issuer.acs.challenge"
    label = "acs_challenge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from guichet.delivery.http import register_http_kind
        from guichet.delivery.worker import register_periodic
        from guichet.issuer.acs.challenge.outcome import RREQ_KIND, rreq_accept, rreq_tls
        from guichet.issuer.acs.challenge.timeouts import challenge_expire_due

        register_http_kind(RREQ_KIND, accept=rreq_accept, tls=rreq_tls)
        register_periodic("acs_challenge.expire", challenge_expire_due)
