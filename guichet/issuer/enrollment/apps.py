from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "guichet.issuer.enrollment"
    label = "enrollment"
    verbose_name = "Enrollment portal"
