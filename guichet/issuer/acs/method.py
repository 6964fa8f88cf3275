"""The 3DS Method: what the ACS learns of the cardholder's browser before the AReq (docs/issuers.md).

The requestor posts `threeDSMethodData` into a hidden iframe on the threeDSMethodURL. The page
(`method_start`) carries a single-use token; its script posts what the browser tells to the collect
endpoint (`method_collect`), then the page posts threeDSMethodData back to the notification URL.
What was learnt is a `DeviceObservation`, keyed by the Method's threeDSServerTransID, which the AReq
with threeDSCompInd Y names again (2.3.1: as threeDSMethodId); answering.py joins the two.

Nothing here calls a third party: the page loads only this server's script, and what it tells is
not sent anywhere else. No IP address is stored, and the device cookie's value only as a keyed hash.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from guichet.codes.ratelimit import rate_allow
from guichet.core import clock, crypto
from guichet.core.egress import EgressRefused, egress_check_url, egress_policy
from guichet.issuer.acs.messages.method import MethodDataError, method_data_decode, method_data_encode
from guichet.issuer.acs.models import DeviceObservation

METHOD_PATH = "/3ds/method"
# An observation serves the AReq that follows its Method (within seconds), or in 2.3.1 a later one
# naming it by threeDSMethodId: an hour covers a checkout; older ones are deleted.
OBSERVATION_TTL = dt.timedelta(hours=1)
# Each Method page stores a row until its traits come or the hour is over: at most this many pages a
# minute per client address (a checkout runs one; a carrier's shared address many at once). Past it
# the page still posts back, learning nothing, so no requestor's 10 s wait ends on a refusal.
METHOD_PER_ADDRESS = 120
METHOD_WINDOW = dt.timedelta(minutes=1)
DEVICE_COOKIE = "guichet_acs_device"
# The device cookie is set once and never renewed: a device is recognised for 13 months at most
# (the CNIL's ceiling for such a cookie), then it is a new one.
DEVICE_COOKIE_MAX_AGE = 395 * 24 * 3600
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{32}")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def method_url() -> str:
    """The threeDSMethodURL the card ranges name."""
    return settings.GUICHET.public_url + METHOD_PATH


def method_for_range(*, start: str, end: str) -> bool:
    """Whether a card range offers the 3DS Method (GUICHET_ACS_METHOD: on, off, or its ranges)."""
    config = settings.GUICHET.acs
    if not config.method:
        return False
    return not config.method_ranges or any(
        first <= start[: len(first)] and end[: len(last)] <= last for first, last in config.method_ranges
    )


@dataclass(frozen=True)
class MethodPage:
    """What the Method page shows: the form posted back to the notification URL, and the token its
    script posts with the browser's traits ("" once this Method's traits are in, or past the
    address's limit: nothing to collect)."""

    three_ds_server_trans_id: str
    notification_url: str
    notification_origin: str  # for the page's form-action
    notification_data: str  # threeDSMethodData as posted back
    token: str


def _origin(url: str) -> str:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return origin if _ORIGIN.fullmatch(origin) else ""


def _token_hash(trans_id: str, token: str) -> str:
    return crypto.keyed_hash("acs-method-collect", trans_id, token)


def method_start(*, method_data: str, ip: str) -> MethodPage:
    """The page for a posted threeDSMethodData; raises MethodDataError (nothing stored) when it is not
    base64url JSON with a threeDSServerTransID and an http(s) notification URL the egress policy
    accepts: the browser, not this server, posts to that URL, but a URL this server would refuse to
    reach (an internal address) has no business in a requestor's form either. Past
    METHOD_PER_ADDRESS pages a minute from `ip`, the page only posts back (no token, nothing stored)."""
    data = method_data_decode(method_data)
    url = data.threeDSMethodNotificationURL
    try:
        egress_check_url(url, policy=egress_policy())
    except EgressRefused as exc:
        raise MethodDataError(f"threeDSMethodNotificationURL is refused: {exc}") from None
    origin = _origin(url)
    if not origin:
        raise MethodDataError("threeDSMethodNotificationURL has no usable origin")
    trans_id = data.threeDSServerTransID.lower()
    page = MethodPage(
        three_ds_server_trans_id=data.threeDSServerTransID,
        notification_url=url,
        notification_origin=origin,
        notification_data=method_data_encode(three_ds_server_trans_id=data.threeDSServerTransID),
        token="",
    )
    if not rate_allow(key=f"acs-method:{ip}", limit=METHOD_PER_ADDRESS, window=METHOD_WINDOW):
        return page
    now = clock.now()
    method_purge(now=now)
    token = secrets.token_urlsafe(32)
    key = uuid.UUID(trans_id)
    # A requestor may post the same Method twice (a reload): the latest page's token counts, until
    # its traits are in; after that the row is not touched (the first collection stands).
    pending = DeviceObservation.objects.filter(method_trans_id=key, collected_at__isnull=True)
    if not pending.update(token_hash=_token_hash(trans_id, token)):
        try:
            with transaction.atomic():
                DeviceObservation.objects.create(
                    method_trans_id=key, token_hash=_token_hash(trans_id, token), created_at=now
                )
        except IntegrityError:
            token = ""  # already collected (or created meanwhile): only the notification is left
    return dataclasses.replace(page, token=token)


def method_purge(*, now: dt.datetime) -> int:
    """Delete the observations past OBSERVATION_TTL (one indexed range delete); how many went."""
    deleted, _ = DeviceObservation.objects.filter(created_at__lt=now - OBSERVATION_TTL).delete()
    return deleted


Language = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,35}$")]


class BrowserTraits(BaseModel):
    """What the page's script reads from the browser (method.js); all of it is public to any site."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    screenWidth: Annotated[int, Field(ge=0, le=100_000)]
    screenHeight: Annotated[int, Field(ge=0, le=100_000)]
    colorDepth: Annotated[int, Field(ge=0, le=64)]
    tzOffset: Annotated[int, Field(ge=-1440, le=1440)]  # minutes, as getTimezoneOffset() gives it
    tzName: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+/-]{0,64}$")]
    languages: Annotated[list[Language], Field(max_length=10)]

    def stable(self) -> tuple[str, ...]:
        """The traits that stay the same from one visit to the next (the offset moves with summer
        time, the list of languages with a setting): the device hash is over these."""
        first = self.languages[0].lower() if self.languages else ""
        return (f"{self.screenWidth}x{self.screenHeight}", str(self.colorDepth), self.tzName, first)


@dataclass(frozen=True)
class Collected:
    accepted: bool  # False: unknown Method, wrong or used token, or expired; nothing changed
    new_device_id: str = ""  # the cookie to set ("" when the browser sent a valid one)


def method_collect(
    *, three_ds_server_trans_id: str, token: str, traits: BrowserTraits, device_cookie: str
) -> Collected:
    """Store what the page's script told, once per Method (the token is single use).

    The device id is the cookie's when the browser sent one, else a new one to set: a browser that
    blocks the cookie in a third-party iframe gets a new id each time, so is never recognised.
    """
    try:
        key = uuid.UUID(three_ds_server_trans_id)
    except ValueError:
        return Collected(accepted=False)
    if not token or len(token) > 128:
        return Collected(accepted=False)
    now = clock.now()
    device_id = device_cookie if _DEVICE_ID.fullmatch(device_cookie) else ""
    new_id = "" if device_id else secrets.token_urlsafe(24)
    device_hash = crypto.keyed_hash("acs-device", device_id or new_id, *traits.stable())
    updated = DeviceObservation.objects.filter(
        method_trans_id=key,
        token_hash=_token_hash(str(key), token),
        collected_at__isnull=True,
        created_at__gte=now - OBSERVATION_TTL,
    ).update(
        token_hash="",
        device_hash=device_hash,
        traits=traits.model_dump(),
        new_device=not device_id,
        collected_at=now,
    )
    if not updated:
        return Collected(accepted=False)
    return Collected(accepted=True, new_device_id=new_id)
