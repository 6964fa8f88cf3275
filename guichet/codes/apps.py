from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "guichet.codes"
    label = "codes"
    verbose_name = "One-time codes and throttling"

    def ready(self) -> None:
        from guichet.codes.ratelimit import rate_buckets_prune
        from guichet.delivery.worker import register_periodic

        register_periodic("codes.rate_buckets_prune", rate_buckets_prune)
