"""`epin_matches`: the ePin comparison the challenge combines with the SMS code in one throttled check."""

from __future__ import annotations

import pytest

import guichet.issuer.acs.challenge.steps as challenge_steps
from guichet.audit.models import AuditEvent
from guichet.codes.models import CredentialThrottle
from guichet.issuer.cards.services import epin_matches
from tests.issuer.acs.support import enrolled_holder

pytestmark = pytest.mark.django_db


def test_right_and_wrong_epin() -> None:
    holder, _ = enrolled_holder(epin="4821")
    assert epin_matches(cardholder=holder, epin="4821") is True
    assert epin_matches(cardholder=holder, epin="4822") is False
    assert epin_matches(cardholder=holder, epin="") is False


def test_bound_to_the_cardholder() -> None:
    first, _ = enrolled_holder(epin="4821")
    second, _ = enrolled_holder(epin="4821")
    assert first.epin_hash != second.epin_hash
    assert epin_matches(cardholder=second, epin="4821") is True
    second.epin_hash = first.epin_hash  # another cardholder's hash does not match
    assert epin_matches(cardholder=second, epin="4821") is False


def test_no_epin_never_matches() -> None:
    holder, _ = enrolled_holder(epin=None)
    assert holder.epin_hash in (None, "")
    assert epin_matches(cardholder=holder, epin="0000") is False
    assert epin_matches(cardholder=holder, epin="") is False


def test_no_throttling_and_no_audit() -> None:
    holder, _ = enrolled_holder(epin="4821")
    events = AuditEvent.objects.count()
    for _ in range(6):
        assert epin_matches(cardholder=holder, epin="0000") is False
    assert epin_matches(cardholder=holder, epin="4821") is True
    assert CredentialThrottle.objects.filter(key=holder.throttle_key).count() == 0
    assert AuditEvent.objects.count() == events


def test_the_challenge_uses_the_public_function() -> None:
    # The module's namespace: steps.py imports the function, it does not re-export it.
    assert vars(challenge_steps)["epin_matches"] is epin_matches
    assert not hasattr(challenge_steps, "_epin_hash")
