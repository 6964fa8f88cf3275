from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "guichet.enrollment"
    label = "enrollment"
    verbose_name = "Enrollment portal"
