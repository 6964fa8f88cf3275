"""The back-office's admin site: sign-in through the shared credential throttle, and a TOTP code for
staff when GUICHET_STAFF_OTP is "required" (always in production)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest

from guichet.backoffice.forms import StaffLoginForm


class GuichetAdminSite(AdminSite):
    login_form = StaffLoginForm
    login_template = "backoffice/login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        # A session signed in without the second factor (the password alone) is not staff here.
        allowed = super().has_permission(request)
        if allowed and settings.GUICHET.staff.otp_required:
            return bool(request.user.is_verified())  # type: ignore[union-attr]  # django_otp's middleware
        return allowed
