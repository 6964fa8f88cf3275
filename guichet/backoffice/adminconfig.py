"""Django's admin, its default site replaced by the guarded one (INSTALLED_APPS names this class)."""

from django.contrib.admin.apps import AdminConfig


class GuichetAdminConfig(AdminConfig):
    default_site = "guichet.backoffice.site.GuichetAdminSite"
