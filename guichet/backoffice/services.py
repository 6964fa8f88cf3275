"""Staff of the back-office: sign-in under the shared credential throttle, their TOTP authenticator.

* `staff_signin` checks a user name, a password and (GUICHET_STAFF_OTP=required) a TOTP code: a limit
  per client address, then the core's `credential_check` per user name (5 consecutive failures block
  it, 15 minutes doubling), every attempt in the audit log (`backoffice:staff:signin`).
* `staff_create` makes a staff user with an authenticator; `staff_totp_issue` gives one a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest
from django_otp.oath import TOTP

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.audit.services import audit_record
from guichet.backoffice.groups import AREAS, staff_group_sync
from guichet.backoffice.models import StaffTotp
from guichet.codes.ratelimit import rate_allow
from guichet.codes.services import Blocked, credential_check, throttle_blocked_until
from guichet.core import clock, crypto

SIGNIN_EVENT = Event.BACKOFFICE_STAFF_SIGNIN
TOTP_STEP_S = 30
TOTP_DIGITS = 6
TOTP_DRIFT = (-1, 0, 1)  # a code is accepted during its 30 s and the ones either side (clock drift)
TOTP_ISSUER = "Guichet"


class StaffSigninRefused(Exception):
    """`reason`: "invalid" (user, password or code), "blocked" or "rate_limited"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _throttle_key(username: str) -> str:
    name = username.strip().casefold()
    # The throttle's key has room for 128 characters; user names may have 150.
    return f"staff:{name}" if len(name) <= 100 else f"staff:#{hashlib.sha256(name.encode()).hexdigest()}"


def _seed_label(device: StaffTotp | None, user_id: Any) -> str:
    # The seed is bound to its user: copied to another row it does not decrypt.
    return f"backoffice:totp:{user_id if device is None else device.user_id}"


def staff_totp_verify(*, device: StaffTotp, token: str) -> bool:
    """Whether `token` is the device's current code (or the one either side), not used before."""
    token = token.strip()
    if not re.fullmatch(rf"[0-9]{{{TOTP_DIGITS}}}", token):
        return False
    seed = bytes.fromhex(crypto.decrypt(_seed_label(device, None), device.seed_encrypted))
    totp = TOTP(seed, step=TOTP_STEP_S, digits=TOTP_DIGITS)
    totp.time = clock.now().timestamp()
    for drift in TOTP_DRIFT:
        totp.drift = drift
        step = int(totp.t())
        if step > device.last_step and crypto.equals(f"{totp.token():0{TOTP_DIGITS}d}", token):
            device.last_step = step
            device.save(update_fields=["last_step"])
            return True
    return False


def staff_signin(
    *, request: HttpRequest | None, username: str, password: str, token: str, ip: str
) -> AbstractBaseUser:
    """The staff user these credentials sign in; raises StaffSigninRefused. Audits every attempt."""
    config = settings.GUICHET.staff
    key = _throttle_key(username)
    if not rate_allow(
        key=f"backoffice-signin:{ip}",
        limit=config.signin_ip_limit,
        window=dt.timedelta(seconds=config.signin_ip_window_s),
    ):
        audit_record(
            event=SIGNIN_EVENT, subject=key, ip=ip, outcome=AuditEvent.Outcome.REFUSED, reason="rate_limited"
        )
        raise StaffSigninRefused("rate_limited")
    if throttle_blocked_until(key=key) is not None:  # no password hash is spent on a blocked name
        audit_record(
            event=SIGNIN_EVENT, subject=key, ip=ip, outcome=AuditEvent.Outcome.REFUSED, reason="blocked"
        )
        raise StaffSigninRefused("blocked")
    # The password hash (Argon2id) is computed before the throttle's row is locked, as for subscribers:
    # holding the lock (on SQLite, the database) for it would serialise every sign-in.
    user = authenticate(request, username=username, password=password)
    staff = user if user is not None and user.is_active and getattr(user, "is_staff", False) else None
    verified: list[StaffTotp] = []

    def check() -> bool:
        if staff is None:
            return False
        if not config.otp_required:
            return True
        # Locked: two requests with the same code cannot both use it.
        for device in StaffTotp.objects.select_for_update().filter(user_id=staff.pk, confirmed=True):
            if staff_totp_verify(device=device, token=token):
                verified.append(device)
                return True
        return False

    try:
        with transaction.atomic():
            ok = credential_check(key=key, check=check, event=SIGNIN_EVENT, ip=ip)
    except Blocked:
        audit_record(
            event=SIGNIN_EVENT, subject=key, ip=ip, outcome=AuditEvent.Outcome.REFUSED, reason="blocked"
        )
        raise StaffSigninRefused("blocked") from None
    if not ok or staff is None:
        raise StaffSigninRefused("invalid")
    if verified:
        # django_otp marks the session verified at login (its user_logged_in receiver reads this).
        staff.otp_device = verified[0]  # type: ignore[attr-defined]
    return staff


@dataclass(frozen=True)
class StaffCreated:
    username: str
    password: str  # as given, or generated: shown once
    otpauth_uri: str  # the authenticator's seed, for the app (or a QR code): shown once


def _otpauth_uri(username: str, seed: bytes) -> str:
    secret = base64.b32encode(seed).decode().rstrip("=")
    label = quote(f"{TOTP_ISSUER}:{username}", safe=":@")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(TOTP_ISSUER)}"
        f"&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_S}"
    )


def staff_totp_issue(*, user: AbstractBaseUser) -> str:
    """A new authenticator for `user`, replacing any other; returns its otpauth:// URI (shown once)."""
    seed = secrets.token_bytes(20)  # 160 bits, as RFC 4226 recommends
    with transaction.atomic():
        StaffTotp.objects.filter(user_id=user.pk).delete()
        StaffTotp.objects.create(
            user_id=user.pk,
            name="authenticator",
            confirmed=True,
            seed_encrypted=crypto.encrypt(_seed_label(None, user.pk), seed.hex()),
            created_at=clock.now(),
        )
        audit_record(event=Event.BACKOFFICE_STAFF_TOTP_ISSUED, subject=_throttle_key(user.get_username()))
    return _otpauth_uri(user.get_username(), seed)


def staff_create(*, username: str, email: str = "", password: str = "", area: str = "") -> StaffCreated:
    """A staff user with an authenticator: with every permission (the first operator), or, with
    `area` ("issuer" or "operator"), only that product's (its group, backoffice/groups.py).

    Raises ValueError when the user name is taken or empty. Without `password`, one is generated.
    """
    if area and area not in AREAS:
        raise ValueError(f"the area must be one of {', '.join(AREAS)}")
    username = username.strip()
    if not username or len(username) > 150:
        raise ValueError("the user name must have 1 to 150 characters")
    model = get_user_model()
    if model.objects.filter(username__iexact=username).exists():
        raise ValueError(f"a user named {username!r} already exists")
    password = password or secrets.token_urlsafe(18)
    with transaction.atomic():
        user = model.objects.create_user(
            username=username, email=email, password=password, is_staff=True, is_superuser=not area
        )
        if area:
            user.groups.add(staff_group_sync(area=area))
        audit_record(
            event=Event.BACKOFFICE_STAFF_CREATED, subject=_throttle_key(username), area=area or "all"
        )
        uri = staff_totp_issue(user=user)
    return StaffCreated(username=username, password=password, otpauth_uri=uri)
