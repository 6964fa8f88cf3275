"""Decision rules: the built-in issuer rules, an issuer's own class, and rules that misbehave."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from guichet.audit.models import AuditEvent
from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.acs.rules import Decision, RuleConfigError, RuleContext, rules_load
from tests.issuer.acs.support import MASTERCARD_PAN, VISA_PAN, areq_210, areq_220, enrolled_holder, post_areq

pytestmark = pytest.mark.django_db


class DeclineAbove:
    """An issuer's own rule, names it: tests.issuer.acs.test_rules.DeclineAbove(50000)."""

    name = "decline_above"

    def __init__(self, limit: str) -> None:
        self.limit = int(limit)

    def decide(self, context: RuleContext) -> Decision | None:
        amount = context.amount
        return Decision("R", "12") if amount is not None and amount > self.limit else None


class Attempts:
    name = "attempts"

    def decide(self, context: RuleContext) -> Decision | None:
        return Decision("A")


class AlwaysChallenge:
    name = "always_challenge"

    def decide(self, context: RuleContext) -> Decision | None:
        return Decision("C", challenge_mandated=True)


class Broken:
    name = "broken"

    def decide(self, context: RuleContext) -> Decision | None:
        raise RuntimeError("issuer bug")


class ReasonOf220:
    name = "reason_of_220"

    def decide(self, context: RuleContext) -> Decision | None:
        return Decision("U", "22")  # ACS technical issue: does not exist in 2.1.0


class Nonsense:
    def decide(self, context: RuleContext) -> object:
        return Decision("N")  # no reason: not a valid ARes


@pytest.fixture
def rules(settings: Any):
    def configure(*configured: tuple[str, tuple[str, ...]], **acs: Any) -> None:
        settings.GUICHET = dataclasses.replace(
            settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, rules=configured, **acs)
        )

    return configure


def answer(client: Any, **changes: Any) -> dict[str, Any]:
    return post_areq(client, areq_220(**({"acctNumber": VISA_PAN, "purchaseCurrency": "978"} | changes)))


def test_default_challenges_every_payment_and_non_payment(client):
    enrolled_holder(VISA_PAN)
    assert answer(client, purchaseAmount="1")["transStatus"] == "C"
    assert answer(client, messageCategory="02", threeDSRequestorChallengeInd="02")["transStatus"] == "C"


def test_frictionless_below_threshold(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("frictionless_below", ("5000", "978")))
    below = answer(client, purchaseAmount="4999")
    assert (below["transStatus"], below["eci"], len(below["authenticationValue"])) == ("Y", "05", 28)
    assert answer(client, purchaseAmount="5000")["transStatus"] == "C"
    assert answer(client, purchaseAmount="10", purchaseCurrency="840")["transStatus"] == "C"
    assert list(AcsTransaction.objects.order_by("created_at").values_list("decided_by", flat=True)) == [
        "frictionless_below",
        "challenge",
        "challenge",
    ]


def test_gates_come_before_the_issuer_rules(client, rules):
    enrolled_holder(VISA_PAN, epin=None)
    rules(("frictionless_below", ("5000", "978")))
    assert answer(client, purchaseAmount="100")["transStatusReason"] == "13"


def test_low_value_exemption_counts_and_totals_since_the_last_challenge(client, rules, clock):
    enrolled_holder(VISA_PAN)
    rules(("low_value", ()))  # 30 EUR, 5 payments, 100 EUR
    statuses = []
    for amount in ("3000", "3000", "3000", "1000", "1"):
        clock.advance(seconds=1)
        statuses.append(answer(client, purchaseAmount=amount)["transStatus"])
    # the fourth would bring the total to 100 EUR: allowed; the fifth to 100.01 EUR: challenged
    assert statuses == ["Y", "Y", "Y", "Y", "C"]
    assert answer(client, purchaseAmount="3001")["transStatus"] == "C"  # above 30 EUR

    # a successful challenge (as the challenge records it) starts the counts again
    challenged = AcsTransaction.objects.filter(trans_status="C").latest("created_at")
    challenged.trans_status, challenged.authentication_method = "Y", "02"
    challenged.save()
    clock.advance(seconds=1)
    assert answer(client, purchaseAmount="3000")["transStatus"] == "Y"


def test_low_value_exemption_stops_at_the_count(client, rules, clock):
    enrolled_holder(VISA_PAN)
    rules(("low_value", ("3000", "978", "2", "10000")))
    statuses = []
    for _ in range(3):
        clock.advance(seconds=1)
        statuses.append(answer(client, purchaseAmount="100")["transStatus"])
    assert statuses == ["Y", "Y", "C"]


def test_low_value_counts_each_card_separately(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("low_value", ("3000", "978", "1", "10000")))
    assert answer(client, purchaseAmount="100")["transStatus"] == "Y"
    assert answer(client, purchaseAmount="100")["transStatus"] == "C"
    enrolled_holder(MASTERCARD_PAN)
    mastercard = post_areq(
        client, areq_220(acctNumber=MASTERCARD_PAN, purchaseCurrency="978", purchaseAmount="100")
    )
    assert (mastercard["transStatus"], mastercard["eci"]) == ("Y", "02")


@pytest.mark.parametrize(
    ("indicator", "status", "mandated"),
    [
        ("01", "C", "Y"),
        ("02", "Y", None),
        ("03", "C", "Y"),
        ("04", "C", "Y"),
        ("05", "I", None),
        ("06", "I", None),
        ("07", "I", None),
        ("08", "Y", None),
        ("09", "C", "Y"),
    ],
)
def test_challenge_indicator_honoured(client, rules, indicator, status, mandated):
    enrolled_holder(VISA_PAN)
    rules(("challenge_indicator", ()))
    got = answer(client, threeDSRequestorChallengeInd=indicator)
    assert (got["transStatus"], got.get("acsChallengeMandated")) == (status, mandated)


def test_challenge_indicator_in_210_never_answers_i(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("challenge_indicator", ()))
    assert (
        post_areq(client, areq_210(acctNumber=VISA_PAN, threeDSRequestorChallengeInd="02"))["transStatus"]
        == "Y"
    )
    assert (
        post_areq(client, areq_210(acctNumber=VISA_PAN, threeDSRequestorChallengeInd="04"))["transStatus"]
        == "C"
    )


def test_an_issuer_class_by_dotted_path(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("tests.issuer.acs.test_rules.DeclineAbove", ("50000",)), ("frictionless_below", ("100000", "978")))
    declined = answer(client, purchaseAmount="50001")
    assert (declined["transStatus"], declined["transStatusReason"]) == ("R", "12")
    assert answer(client, purchaseAmount="50000")["transStatus"] == "Y"
    assert (
        AcsTransaction.objects.order_by("created_at").values_list("decided_by", flat=True)[0]
        == "decline_above"
    )


def test_an_attempts_rule_gets_an_attempts_value(client, rules):
    from guichet.issuer.acs.authvalue import algorithm_for

    enrolled_holder(VISA_PAN)
    rules(("tests.issuer.acs.test_rules.Attempts", ()))
    got = answer(client, purchaseAmount="700")
    assert (got["transStatus"], got["eci"]) == ("A", "06")
    decoded = algorithm_for("visa").verify(
        got["authenticationValue"], pan=VISA_PAN, eci="06", amount="700", currency="978"
    )
    assert decoded is not None
    assert (decoded.trans_status, decoded.method) == ("A", "98")


def test_a_failing_or_invalid_rule_is_skipped_and_audited(client, rules, caplog):
    enrolled_holder(VISA_PAN)
    rules(("tests.issuer.acs.test_rules.Broken", ()), ("tests.issuer.acs.test_rules.Nonsense", ()))
    assert answer(client)["transStatus"] == "C"
    event = AuditEvent.objects.get(event="acs:areq:answered")
    assert event.detail["broken_rules"] == ["broken", "tests.issuer.acs.test_rules.Nonsense"]
    assert "broken, tests.issuer.acs.test_rules.Nonsense" in caplog.text


def test_a_reason_the_version_lacks_is_skipped_not_an_error(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("tests.issuer.acs.test_rules.ReasonOf220", ()))
    assert answer(client)["transStatusReason"] == "22"
    got = post_areq(client, areq_210(acctNumber=VISA_PAN))
    assert got["transStatus"] == "C"
    assert AuditEvent.objects.filter(event="acs:areq:answered").latest("id").detail["broken_rules"] == [
        "reason_of_220"
    ]


def test_a_rule_may_not_answer_c_to_a_data_only_request(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("tests.issuer.acs.test_rules.AlwaysChallenge", ()))
    # C is skipped for indicator 06 (the default answers I), kept for any other indicator
    assert answer(client, threeDSRequestorChallengeInd="06")["transStatus"] == "I"
    assert answer(client, threeDSRequestorChallengeInd="05")["transStatus"] == "C"
    decided = AcsTransaction.objects.order_by("created_at").values_list("decided_by", flat=True)
    assert list(decided) == ["challenge", "always_challenge"]


def test_a_rule_may_decline_a_data_only_request(client, rules):
    enrolled_holder(VISA_PAN)
    rules(("tests.issuer.acs.test_rules.DeclineAbove", ("0",)))
    assert answer(client, threeDSRequestorChallengeInd="06", purchaseAmount="1")["transStatus"] == "R"


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        (("nope", ()), "unknown rule 'nope'"),
        (("tests.issuer.acs.missing.Rule", ()), "cannot be imported"),
        (("frictionless_below", ("5000",)), "frictionless_below(5000)"),
        (("frictionless_below", ("50.00", "978")), "is not an amount"),
        (("low_value", ("3000", "EUR")), "is not an ISO 4217 numeric currency"),
        (("datetime.timedelta", ()), "has no decide(context) method"),
    ],
)
def test_rules_load_refuses_what_cannot_be_a_rule(configured, message):
    with pytest.raises(RuleConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rules_load((configured,))


def test_rules_load_names_an_issuer_class_without_name_by_its_path():
    (rule,) = rules_load((("tests.issuer.acs.test_rules.Nonsense", ()),))
    assert rule.name == "tests.issuer.acs.test_rules.Nonsense"
