"""The shared one-time-code and throttling mechanism (guichet.codes), through its service functions."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import transaction

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.codes.alerts import blocked_alert
from guichet.codes.models import CredentialThrottle, OneTimeCode
from guichet.codes.services import (
    Alert,
    Blocked,
    CodeSpec,
    SendRefused,
    codes_issue,
    codes_verify,
    credential_check,
    throttle_blocked_until,
)
from guichet.core import crypto
from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content
from guichet.issuer.cards.services import epin_set, epin_verify
from tests.support.factories import make_cardholder

pytestmark = pytest.mark.django_db

PURPOSE = "enrollment"
IP = "203.0.113.7"
SPECS = [
    CodeSpec(channel="sms", length=8),
    CodeSpec(channel="email", length=5, alphabet=crypto.EMAIL_CODE_ALPHABET),
]


def issue(subject: str = "holder-a", purpose: str = PURPOSE) -> dict[str, str]:
    with transaction.atomic():
        return codes_issue(purpose=purpose, subject=subject, specs=SPECS, ip=IP)


def verify(
    entries: dict[str, str], subject: str = "holder-a", purpose: str = PURPOSE, alert: Alert | None = None
) -> bool:
    with transaction.atomic():
        return codes_verify(purpose=purpose, subject=subject, entries=entries, ip=IP, alert=alert)


def wrong(codes: dict[str, str]) -> dict[str, str]:
    """The same codes with the SMS code off by one digit."""
    return {**codes, "sms": f"{(int(codes['sms']) + 1) % 10**8:08d}"}


def fail(key: str, times: int, alert: Alert | None = None) -> None:
    for _ in range(times):
        with transaction.atomic():
            assert (
                credential_check(
                    key=key, check=lambda: False, event=Event.CARDS_EPIN_VERIFY, ip=IP, alert=alert
                )
                is False
            )


def recording_alert() -> tuple[Alert, list[dt.datetime]]:
    sent: list[dt.datetime] = []
    return Alert(send=sent.append), sent


def test_codes_come_from_the_secrets_module_with_the_right_length_and_alphabet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a stand-in for the CSPRNG that records what it is asked
    asked: list[str] = []

    def choice(alphabet: str) -> str:
        asked.append(alphabet)
        return alphabet[-1]

    monkeypatch.setattr(crypto, "secrets", SimpleNamespace(choice=choice))
    # when
    codes = issue()
    # then every character was drawn from secrets.choice: 8 digits for SMS, 5 for email
    assert codes == {"sms": "99999999", "email": "ZZZZZ"}
    assert asked == [crypto.DIGITS] * 8 + [crypto.EMAIL_CODE_ALPHABET] * 5


def test_real_codes_have_8_digits_by_sms_and_5_unambiguous_characters_by_email():
    # when
    codes = issue()
    # then
    assert re.fullmatch(r"[0-9]{8}", codes["sms"])
    assert re.fullmatch(f"[{crypto.EMAIL_CODE_ALPHABET}]{{5}}", codes["email"])
    assert not set(codes["email"]) & set("0O1lI")


def test_codes_are_stored_only_as_keyed_hashes():
    # when
    codes = issue()
    # then one row per channel, none holding the clear code or a plain hash of it
    rows = list(OneTimeCode.objects.filter(subject="holder-a").values())
    assert sorted(r["channel"] for r in rows) == ["email", "sms"]
    for row in rows:
        code = codes[row["channel"]]
        assert re.fullmatch(r"[0-9a-f]{64}", row["code_hash"])
        assert row["code_hash"] != hashlib.sha256(code.encode()).hexdigest()
        assert not any(code in str(value) for value in row.values())
        assert row["expires_at"] - row["sent_at"] == dt.timedelta(minutes=10)


def test_codes_are_accepted_9_minutes_59_after_sending(clock):
    # given
    codes = issue()
    clock.advance(seconds=599)
    # when
    ok = verify(codes)
    # then
    assert ok is True
    assert OneTimeCode.objects.filter(subject="holder-a", consumed_at__isnull=False).count() == 2


def test_codes_are_refused_10_minutes_01_after_sending(clock):
    # given
    codes = issue()
    clock.advance(seconds=601)
    # when
    ok = verify(codes)
    # then
    assert ok is False
    assert OneTimeCode.objects.filter(consumed_at__isnull=False).count() == 0


def test_a_used_code_fails_the_second_time():
    # given
    codes = issue()
    assert verify(codes) is True
    # when
    again = verify(codes)
    # then
    assert again is False
    assert CredentialThrottle.objects.get(key="holder-a").failures == 1


def test_a_code_issued_for_one_subject_fails_for_another():
    # given codes for A, and live codes of B so B has something to be checked against
    codes_a = issue(subject="holder-a")
    issue(subject="holder-b")
    # when
    ok = verify(codes_a, subject="holder-b")
    # then B's attempt fails and A's codes are still good
    assert ok is False
    assert verify(codes_a, subject="holder-a") is True


def test_a_code_issued_for_one_purpose_fails_for_another():
    # given
    codes = issue(purpose=PURPOSE)
    # when
    ok = verify(codes, purpose="subscribers-reset")
    # then
    assert ok is False
    assert verify(codes, purpose=PURPOSE) is True


def test_each_code_only_counts_on_its_own_channel():
    # given
    codes = issue()
    # when the two codes are typed in each other's field
    ok = verify({"sms": codes["email"], "email": codes["sms"]})
    # then
    assert ok is False


def test_a_resend_voids_the_earlier_codes(clock):
    # given
    old = issue()
    clock.advance(seconds=31)
    new = issue()
    # when / then: the old pair, and a mix of old and new, fail; the new pair passes
    assert verify(old) is False
    assert verify({"sms": old["sms"], "email": new["email"]}) is False
    assert verify(new) is True
    assert OneTimeCode.objects.filter(voided_at__isnull=False).count() == 2
    assert OneTimeCode.objects.filter(consumed_at__isnull=False).count() == 2


def test_a_resend_within_30_seconds_is_refused_with_the_cooldown_reason(clock):
    # given
    first = issue()
    clock.advance(seconds=29)
    # when
    with pytest.raises(SendRefused) as refused:
        issue()
    # then nothing new was made and the first codes still work
    assert refused.value.reason == "cooldown"
    assert dt.timedelta(0) < refused.value.retry_after <= dt.timedelta(seconds=1)
    assert OneTimeCode.objects.count() == 2
    assert AuditEvent.objects.filter(event="enrollment:code:sent").count() == 1
    # and after the cooldown a resend is allowed
    clock.advance(seconds=2)
    second = issue()
    assert verify(first) is False
    assert verify(second) is True


def test_a_sixth_send_within_an_hour_is_refused_with_the_hourly_cap_reason(clock):
    # given 5 sends, 31 s apart
    for _ in range(5):
        issue()
        clock.advance(seconds=31)
    # when
    with pytest.raises(SendRefused) as refused:
        issue()
    # then the cap is per identity: another purpose is refused too, another subject is not
    assert refused.value.reason == "hourly_cap"
    assert (
        dt.timedelta(seconds=3600 - 5 * 31 - 1)
        < refused.value.retry_after
        <= dt.timedelta(seconds=3600 - 5 * 31)
    )
    with pytest.raises(SendRefused) as other_purpose:
        issue(purpose="subscribers-reset")
    assert other_purpose.value.reason == "hourly_cap"
    assert OneTimeCode.objects.filter(subject="holder-a").count() == 10
    assert set(issue(subject="holder-b")) == {"sms", "email"}
    # and once the first send is an hour old, a new one is allowed
    clock.advance(seconds=refused.value.retry_after.total_seconds() + 1)
    assert verify(issue()) is True


def test_five_failures_block_for_15_minutes_and_the_sixth_attempt_fails_even_with_the_right_code(clock):
    # given
    codes = issue()
    alert, alerts = recording_alert()
    for _ in range(4):
        assert verify(wrong(codes), alert=alert) is False
    assert throttle_blocked_until(key="holder-a") is None
    assert alerts == []
    # when the 5th wrong attempt is made
    before = clock.now()
    assert verify(wrong(codes), alert=alert) is False
    after = clock.now()
    # then the holder is blocked for 15 minutes and the owner is alerted once
    until = throttle_blocked_until(key="holder-a")
    assert until is not None
    assert before + dt.timedelta(minutes=15) <= until <= after + dt.timedelta(minutes=15)
    assert alerts == [until]
    # and the 6th attempt is refused even with the right code, which stays unused
    with pytest.raises(Blocked) as blocked:
        verify(codes, alert=alert)
    assert blocked.value.until == until
    assert OneTimeCode.objects.filter(consumed_at__isnull=False).count() == 0
    assert alerts == [until]
    assert AuditEvent.objects.filter(event="enrollment:code:verify").count() == 5


def test_a_block_ends_when_it_should(clock):
    # given a blocked holder
    codes = issue()
    for _ in range(5):
        verify(wrong(codes))
    until = throttle_blocked_until(key="holder-a")
    assert until is not None
    # when one second before the end: no new code and no check
    clock.advance(seconds=(until - clock.now()).total_seconds() - 1)
    with pytest.raises(Blocked):
        issue()
    with pytest.raises(Blocked):
        verify(codes)
    # then one second after the end the right code works
    clock.advance(seconds=2)
    fresh = issue()
    assert verify(fresh) is True
    assert throttle_blocked_until(key="holder-a") is None


def test_repeated_blocks_last_15_then_30_then_60_minutes(clock):
    for number, minutes in enumerate((15, 30, 60), start=1):
        # when 5 more consecutive failures follow the end of the previous block
        before = clock.now()
        fail("holder-a", 5)
        after = clock.now()
        # then
        row = CredentialThrottle.objects.get(key="holder-a")
        assert row.block_count == number
        assert row.blocked_until is not None
        assert (
            before + dt.timedelta(minutes=minutes)
            <= row.blocked_until
            <= after + dt.timedelta(minutes=minutes)
        )
        clock.advance(seconds=minutes * 60 + 1)


def test_a_success_resets_the_failure_count():
    # given 4 failures
    codes = issue(subject="holder-a")
    for _ in range(4):
        verify(wrong(codes))
    assert CredentialThrottle.objects.get(key="holder-a").failures == 4
    # when the right code follows
    assert verify(codes) is True
    # then the count starts again: 4 more failures still do not block
    assert CredentialThrottle.objects.get(key="holder-a").failures == 0
    fail("holder-a", 4)
    assert throttle_blocked_until(key="holder-a") is None
    with transaction.atomic():
        assert (
            credential_check(key="holder-a", check=lambda: True, event=Event.CARDS_EPIN_VERIFY, ip=IP) is True
        )


def test_audit_events_record_subject_ip_and_outcome_and_no_secret(clock):
    # given codes used once, then new codes guessed 5 times wrongly
    first = issue()
    verify(first)
    clock.advance(seconds=31)
    second = issue()
    for _ in range(5):
        verify(wrong(second))
    # then
    events = list(AuditEvent.objects.order_by("at", "id"))
    assert [(e.event, e.outcome) for e in events] == [
        ("enrollment:code:sent", "success"),
        ("enrollment:code:verify", "success"),
        ("enrollment:code:sent", "success"),
        *[("enrollment:code:verify", "failure")] * 5,
        ("credential:holder:blocked", "refused"),
    ]
    assert {(e.subject, e.ip) for e in events} == {("holder-a", IP)}
    secrets = {*first.values(), *second.values(), *wrong(second).values()}
    for event in events:
        text = json.dumps(event.detail) + event.subject
        assert not any(secret in text for secret in secrets)
    assert events[0].detail == {"channels": ["email", "sms"]}
    assert events[-1].detail["block_count"] == 1


def test_the_blocked_alert_enqueues_an_email_to_the_cardholder(clock):
    # given
    holder = make_cardholder(email="alert@example.com", phone="+687750001")
    key = holder.throttle_key
    codes = issue(subject=key)
    # when
    for _ in range(5):
        verify(wrong(codes), subject=key, alert=blocked_alert(email=holder.email, language="fr"))
    # then exactly one email to the owner, nothing by SMS
    [message] = OutboxMessage.objects.all()
    assert (message.channel, message.recipient, message.template) == (
        "email",
        "alert@example.com",
        "credential_blocked",
    )
    content = outbox_content(message)
    assert content.subject == f"{settings.GUICHET.branding.issuer_short_name} - accès temporairement bloqué"
    until = throttle_blocked_until(key=key)
    assert until is not None
    assert until.strftime("%d/%m/%Y %H:%M") in content.body


def test_epin_checks_go_through_the_same_throttle(clock):
    # given a cardholder with an ePin
    holder = make_cardholder(email="epin@example.com", phone="+687750002")
    epin_set(cardholder=holder, epin="2468", confirmation="2468", ip=IP)
    alert = blocked_alert(email=holder.email, language="fr")
    # when 5 wrong ePins are typed
    for _ in range(5):
        with transaction.atomic():
            assert epin_verify(cardholder=holder, epin="1357", ip=IP, alert=alert) is False
    # then the right ePin is refused until the block ends, then accepted
    until = throttle_blocked_until(key=holder.throttle_key)
    assert until is not None
    clock.advance(seconds=(until - clock.now()).total_seconds() - 1)
    with pytest.raises(Blocked), transaction.atomic():
        epin_verify(cardholder=holder, epin="2468", ip=IP, alert=alert)
    clock.advance(seconds=2)
    with transaction.atomic():
        assert epin_verify(cardholder=holder, epin="2468", ip=IP, alert=alert) is True
    assert (
        OutboxMessage.objects.filter(template="credential_blocked", recipient="epin@example.com").count() == 1
    )
    verifies = AuditEvent.objects.filter(event="cards:epin:verify")
    assert sorted(e.outcome for e in verifies) == ["failure"] * 5 + ["success"]
    assert not any("2468" in json.dumps(e.detail) or "1357" in json.dumps(e.detail) for e in verifies)


def test_portal_code_failures_and_epin_failures_are_counted_apart():
    # given a cardholder with an ePin and live portal codes
    holder = make_cardholder(email="shared@example.com", phone="+687750003")
    epin_set(cardholder=holder, epin="2468", confirmation="2468", ip=IP)
    codes = issue(subject=holder.portal_throttle_key)
    # when 5 wrong portal code pairs and 4 wrong ePins are typed
    for _ in range(5):
        verify(wrong(codes), subject=holder.portal_throttle_key)
    for _ in range(4):
        with transaction.atomic():
            epin_verify(cardholder=holder, epin="0000", ip=IP)
    # then the portal is blocked and the ePin is not: it still takes the right ePin
    assert throttle_blocked_until(key=holder.portal_throttle_key) is not None
    assert throttle_blocked_until(key=holder.throttle_key) is None
    with pytest.raises(Blocked):
        verify(codes, subject=holder.portal_throttle_key)
    with transaction.atomic():
        assert epin_verify(cardholder=holder, epin="2468", ip=IP) is True
    # and 5 wrong ePins block the ePin, counted from its own success
    for _ in range(5):
        with transaction.atomic():
            epin_verify(cardholder=holder, epin="0000", ip=IP)
    assert throttle_blocked_until(key=holder.throttle_key) is not None
    assert CredentialThrottle.objects.get(key=holder.portal_throttle_key).block_count == 1
    assert CredentialThrottle.objects.get(key=holder.throttle_key).block_count == 1
