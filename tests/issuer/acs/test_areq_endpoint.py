"""POST /3ds/areq: the DS's AReq in, an ARes or Erro out; what it stores, and what it must not."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, connection

from guichet.audit.models import AuditEvent
from guichet.codes.services import Blocked
from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs import answering
from guichet.issuer.acs import store as acs_store
from guichet.issuer.acs.messages import ARes, Erro
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from guichet.issuer.cards.models import Card
from guichet.issuer.cards.services import epin_verify
from guichet.issuer.enrollment.services import CodeResult, enrollment_send_codes, enrollment_verify
from tests.issuer.acs.support import (
    ACS_TRANS_ID,
    DS_FIELDS,
    MASTERCARD_PAN,
    VECTORS,
    VISA_PAN,
    areq_3ri,
    areq_210,
    areq_220,
    areq_231,
    areq_app,
    enrolled_holder,
    post_areq,
    vector,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixed_id(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every AReq gets the same acsTransID, so whole messages can be compared."""
    monkeypatch.setattr(answering, "new_acs_trans_id", lambda: ACS_TRANS_ID)
    return ACS_TRANS_ID


@pytest.fixture
def acs_config(settings: Any) -> Callable[..., None]:
    def change(*, public_url: str | None = None, **fields: Any) -> None:
        settings.GUICHET = dataclasses.replace(
            settings.GUICHET,
            acs=dataclasses.replace(settings.GUICHET.acs, **fields),
            public_url=public_url or settings.GUICHET.public_url,
        )

    return change


def holder_without_epin(pan: str) -> None:
    enrolled_holder(pan, epin=None)


def holder_with_epin(pan: str) -> None:
    enrolled_holder(pan)


HTTPS_ACS = "https://acs.bank.example"

# name of the golden vector -> (who exists, the AReq, configuration)
GOLDEN: dict[str, tuple[Callable[[str], None] | None, dict[str, Any], dict[str, Any]]] = {
    "guichet-ares-220-c": (holder_with_epin, areq_220(acctNumber=VISA_PAN), {}),
    "guichet-ares-210-c": (holder_with_epin, areq_210(acctNumber=VISA_PAN), {}),
    "guichet-ares-220-c-npa": (
        holder_with_epin,
        areq_220(acctNumber=VISA_PAN, messageCategory="02", threeDSRequestorChallengeInd="01"),
        {},
    ),
    "guichet-ares-220-n13-fr": (holder_without_epin, areq_220(acctNumber=VISA_PAN), {}),
    "guichet-ares-210-n13-en": (
        holder_without_epin,
        areq_210(acctNumber=VISA_PAN, browserLanguage="en-GB"),
        {},
    ),
    "guichet-ares-220-u08": (None, areq_220(acctNumber=VISA_PAN), {}),
    "guichet-ares-210-u08": (None, areq_210(acctNumber=VISA_PAN), {}),
    "guichet-ares-220-i-visa": (
        holder_with_epin,
        areq_220(acctNumber=VISA_PAN, threeDSRequestorChallengeInd="06"),
        {},
    ),
    "guichet-ares-220-y-visa": (
        holder_with_epin,
        areq_220(acctNumber=VISA_PAN, purchaseCurrency="978"),
        {"rules": (("frictionless_below", ("20000", "978")),)},
    ),
    "guichet-ares-210-y-visa": (
        holder_with_epin,
        areq_210(acctNumber=VISA_PAN, purchaseCurrency="978", purchaseAmount="1999"),
        {"rules": (("frictionless_below", ("2000", "978")),), "operator_id": "OPERATOR-7"},
    ),
    "guichet-ares-220-y-mastercard": (
        holder_with_epin,
        areq_220(acctNumber=MASTERCARD_PAN, purchaseCurrency="978"),
        {"rules": (("frictionless_below", ("20000", "978")),)},
    ),
    "guichet-ares-220-u03-app": (
        holder_with_epin,
        areq_app(messageVersion="2.2.0", acctNumber=VISA_PAN),
        {},
    ),
    # 2.3.1 (docs/emv-3ds.md §2.7): the methods as an array, cardholderInfo an object, an https acsURL
    "guichet-ares-231-c": (holder_with_epin, areq_231(acctNumber=VISA_PAN), {"public_url": HTTPS_ACS}),
    "guichet-ares-231-u22-http": (holder_with_epin, areq_231(acctNumber=VISA_PAN), {}),
    "guichet-ares-231-n13-fr": (holder_without_epin, areq_231(acctNumber=VISA_PAN), {}),
    "guichet-ares-231-n13-en": (
        holder_without_epin,
        areq_231(acctNumber=VISA_PAN, browserLanguage=..., acceptLanguage=["en-GB", "fr-FR"]),
        {},
    ),
    "guichet-ares-231-y-visa": (
        holder_with_epin,
        areq_231(acctNumber=VISA_PAN, purchaseCurrency="978"),
        {"rules": (("frictionless_below", ("20000", "978")),)},
    ),
    "guichet-ares-231-u08": (None, areq_231(acctNumber=VISA_PAN), {}),
    "guichet-ares-231-u03-app": (
        holder_with_epin,
        areq_app(
            messageVersion="2.3.1",
            acctNumber=VISA_PAN,
            threeDSRequestorURL="https://merchant.example.test/",
            threeDSRequestorChallengeInd=["01"],
        ),
        {},
    ),
    "guichet-ares-231-3ri-u26": (
        holder_with_epin,
        areq_3ri(messageVersion="2.3.1", acctNumber=VISA_PAN, recurringInd={"amountInd": "02"}),
        {},
    ),
}

ERRO_GOLDEN: dict[str, bytes] = {
    "guichet-erro-220-201": json.dumps(areq_220(acctNumber=...)).encode(),
    "guichet-erro-210-201": json.dumps(areq_210(browserTZ=...)).encode(),
    "guichet-erro-220-203": json.dumps(areq_220(purchaseDate="20201317170901")).encode(),
    "guichet-erro-210-203": json.dumps(areq_210(threeDSRequestorChallengeInd="05")).encode(),
    "guichet-erro-102": json.dumps(areq_220(messageVersion="2.0.0")).encode(),
    "guichet-erro-101": b"{not json",
    "guichet-erro-231-201": json.dumps(areq_231(browserUserAgent=...)).encode(),
    "guichet-erro-231-203": json.dumps(areq_231(notificationURL="http://merchant.example/notify")).encode(),
}


def update(name: str, answer: dict[str, Any]) -> None:
    """GUICHET_UPDATE_GOLDEN=1 writes the answers as the new golden files, to be read before committing."""
    if os.environ.get("GUICHET_UPDATE_GOLDEN") == "1":
        (VECTORS / f"{name}.json").write_text(json.dumps(answer, indent=2, ensure_ascii=False) + "\n")


def run_golden(name: str, client: Any, acs_config: Callable[..., None]) -> dict[str, Any]:
    setup, message, config = GOLDEN[name]
    if setup is not None:
        setup(message["acctNumber"])
    if config:
        acs_config(**config)
    return post_areq(client, message)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_ares(name, client, fixed_id, acs_config):
    # given the cardholder and configuration of the case, when the DS posts the AReq
    answer = run_golden(name, client, acs_config)
    update(name, answer)
    # then the ARes is the golden one, element for element, and valid for our schema
    assert answer == vector(name)
    assert ARes.model_validate(answer).model_dump(exclude_none=True) == answer


@pytest.mark.parametrize("name", sorted(ERRO_GOLDEN))
def test_golden_erro(name, client, fixed_id):
    answer = post_areq(client, ERRO_GOLDEN[name])
    update(name, answer)
    assert answer == vector(name)
    assert Erro.model_validate(answer).model_dump(exclude_none=True) == answer
    # an Erro leaves no transaction behind, only its audit event
    assert AcsTransaction.objects.count() == 0
    event = AuditEvent.objects.get(event="acs:areq:refused")
    assert (event.subject, event.outcome, event.detail["error_code"]) == (
        ACS_TRANS_ID,
        "refused",
        answer["errorCode"],
    )


def test_golden_vectors_all_have_a_case():
    names = {p.stem for p in VECTORS.glob("guichet-*.json")}
    assert names == set(GOLDEN) | set(ERRO_GOLDEN)


# --- what an answered AReq stores ------------------------------------------------------------------


def test_challenge_stores_the_transaction_its_two_messages_and_one_audit_event(client, fixed_id):
    holder, pan = enrolled_holder(VISA_PAN)
    message = areq_220(acctNumber=pan, purchaseCurrency="978", browserLanguage="fr-FR")

    answer = post_areq(client, message)

    assert answer["transStatus"] == "C"
    tx = AcsTransaction.objects.get()
    assert str(tx.acs_trans_id) == ACS_TRANS_ID
    assert (tx.card, tx.cardholder, tx.scheme, tx.masked_pan) == (
        Card.objects.get(),
        holder,
        "visa",
        "497010XXXXXX0006",
    )
    assert (tx.message_version, tx.message_category, tx.device_channel) == ("2.2.0", "01", "02")
    assert str(tx.ds_trans_id) == DS_FIELDS["dsTransID"]
    assert str(tx.three_ds_server_trans_id) == message["threeDSServerTransID"]
    assert (tx.ds_url, tx.notification_url) == (DS_FIELDS["dsURL"], message["notificationURL"])
    assert (tx.browser_language, tx.challenge_ind) == ("fr-FR", "04")
    assert (tx.merchant_name, tx.purchase_amount, tx.purchase_currency, tx.purchase_exponent) == (
        "wbbwkucipb",
        "12415",
        "978",
        2,
    )
    assert tx.purchase_date is not None
    assert tx.purchase_date.isoformat() == "2020-05-17T17:09:01+00:00"
    assert (tx.state, tx.decided_by, tx.sms_only) == ("awaiting_creq", "challenge", False)
    assert (tx.trans_status, tx.trans_status_reason, tx.authentication_type) == ("C", "", "02")
    assert (tx.eci, tx.authentication_value, tx.interaction_counter) == ("", "", 0)
    assert tx.ares_sent_at == tx.created_at
    # the AReq is logged with its PAN masked, the ARes as sent
    areq_log, ares_log = AcsMessage.objects.filter(transaction=tx)
    assert (areq_log.kind, areq_log.direction, ares_log.kind, ares_log.direction) == (
        "AReq",
        "in",
        "ARes",
        "out",
    )
    assert areq_log.body["acctNumber"] == "497010XXXXXX0006"
    assert pan not in json.dumps(areq_log.body)
    assert areq_log.body["dsTransID"] == DS_FIELDS["dsTransID"]
    assert ares_log.body == answer
    event = AuditEvent.objects.get(event__startswith="acs:")
    assert (event.event, event.subject, event.outcome, event.ip) == (
        "acs:areq:answered",
        ACS_TRANS_ID,
        "info",
        "127.0.0.1",
    )
    assert event.detail == {
        "trans_status": "C",
        "reason": "",
        "rule": "challenge",
        "card_known": True,
        "ds_trans_id": DS_FIELDS["dsTransID"],
    }
    assert pan not in json.dumps(event.detail)


def test_every_areq_gets_its_own_acs_trans_id(client):
    enrolled_holder(VISA_PAN)
    ids = {post_areq(client, areq_220(acctNumber=VISA_PAN))["acsTransID"] for _ in range(3)}
    assert len(ids) == 3
    assert {str(pk) for pk in AcsTransaction.objects.values_list("pk", flat=True)} == ids


def test_acs_url_follows_the_public_url(client, settings):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://acs.bank.example")
    enrolled_holder(VISA_PAN)
    assert (
        post_areq(client, areq_220(acctNumber=VISA_PAN))["acsURL"] == "https://acs.bank.example/3ds/challenge"
    )


def _writes() -> int:
    """The statements that store an answered AReq: the transaction, its two messages, the audit event.

    PostgreSQL: one INSERT statement for all four rows. SQLite: three INSERTs (one for both messages).
    Either way in atomic(), which is a savepoint pair inside the test's own transaction (in
    production, autocommit: PostgreSQL runs the one statement alone, SQLite adds BEGIN and COMMIT).
    """
    return 3 if connection.vendor == "postgresql" else 5


def test_the_answering_path_runs_one_read_and_few_writes(client, django_assert_num_queries):
    enrolled_holder(VISA_PAN)
    # card + cardholder + ePin block in one SELECT, then the writes (no 3DS Method: no device read)
    with django_assert_num_queries(1 + _writes()):
        post_areq(client, areq_220(acctNumber=VISA_PAN, threeDSCompInd="U"))
    tx = AcsTransaction.objects.get()
    assert sorted(tx.messages.values_list("kind", "direction")) == [("AReq", "in"), ("ARes", "out")]
    assert AuditEvent.objects.filter(event="acs:areq:answered", subject=str(tx.acs_trans_id)).count() == 1


# --- decisions --------------------------------------------------------------------------------------


def test_unknown_card_is_u08_and_stores_no_card(client):
    enrolled_holder()  # somebody else's card
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("U", "08")
    assert "eci" not in answer
    assert "authenticationValue" not in answer
    tx = AcsTransaction.objects.get()
    assert (tx.card, tx.cardholder, tx.state, tx.decided_by) == (None, None, "frictionless", "card_not_found")


def test_card_outside_the_configured_ranges_is_not_even_looked_up(
    client, acs_config, django_assert_num_queries
):
    enrolled_holder(VISA_PAN)
    acs_config(card_ranges=(("5137", "5137"),))
    with django_assert_num_queries(_writes()):  # no card SELECT
        answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("U", "08")


def test_card_inside_the_configured_ranges_is_answered(client, acs_config):
    enrolled_holder(VISA_PAN)
    acs_config(card_ranges=(("4970100000000000", "4970109999999999"),))
    assert post_areq(client, areq_220(acctNumber=VISA_PAN))["transStatus"] == "C"


def test_blocked_card_is_n12(client):
    enrolled_holder(VISA_PAN)
    Card.objects.update(status=Card.Status.BLOCKED)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", "12")
    assert AcsTransaction.objects.get().decided_by == "card_blocked"


def test_epin_blocked_by_five_failures_is_n19_until_the_block_ends(client, clock):
    holder, pan = enrolled_holder(VISA_PAN)
    for _ in range(5):
        assert epin_verify(cardholder=holder, epin="9999", ip="127.0.0.1") is False
    with pytest.raises(Blocked):
        epin_verify(cardholder=holder, epin="1234", ip="127.0.0.1")

    answer = post_areq(client, areq_220(acctNumber=pan))
    assert (answer["transStatus"], answer["transStatusReason"]) == ("N", "19")

    clock.advance(seconds=15 * 60 + 1)  # the first block lasts 15 minutes
    assert post_areq(client, areq_220(acctNumber=pan))["transStatus"] == "C"
    assert list(AcsTransaction.objects.order_by("created_at").values_list("decided_by", flat=True)) == [
        "epin_blocked",
        "challenge",
    ]


def test_no_epin_with_sms_only_policy_is_challenged_by_sms_alone(client, acs_config):
    enrolled_holder(VISA_PAN, epin=None)
    acs_config(no_epin_policy="sms_only")
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert answer["transStatus"] == "C"
    tx = AcsTransaction.objects.get()
    assert (tx.sms_only, tx.state) == (True, "awaiting_creq")


def test_no_epin_refused_points_to_the_portal_of_the_public_url(client, settings):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://secure.bank.example")
    enrolled_holder(VISA_PAN, epin=None)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN, browserLanguage="en"))
    assert answer["cardholderInfo"] == (
        "No static password? Please enrol first on the enrollment portal: https://secure.bank.example/enrollment/"
    )
    assert AcsTransaction.objects.get().sms_only is False


def test_no_epin_info_stays_within_128_characters_with_a_long_public_url(client, settings):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://" + "a" * 100 + ".example")
    enrolled_holder(VISA_PAN, epin=None)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert answer["cardholderInfo"] == (
        "Pas de mot de passe fixe\u00a0? Veuillez vous enrôler au préalable sur le portail d'enrôlement."
    )


def test_data_only_request_is_never_answered_c(client):
    enrolled_holder(VISA_PAN)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN, threeDSRequestorChallengeInd="06"))
    assert (answer["transStatus"], answer["eci"]) == ("I", "07")
    assert len(answer["authenticationValue"]) == 28


# --- Erro, one test per code ------------------------------------------------------------------------


def erro_of(client: Any, body: dict[str, Any] | bytes) -> dict[str, Any]:
    answer = post_areq(client, body)
    assert answer["messageType"] == "Erro", answer
    Erro.model_validate(answer)
    assert (answer["errorComponent"], answer["errorMessageType"]) == ("A", "AReq")
    assert AcsTransaction.objects.count() == 0
    assert AcsMessage.objects.count() == 0
    return answer


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        (b"", "101", "message is not valid JSON"),
        (b"[]", "101", "message is not a JSON object"),
        (json.dumps(areq_220(messageType="RReq")).encode(), "101", "messageType"),
        (b" " * (128 * 1024 + 1), "101", "message exceeds 131072 bytes"),
        (json.dumps(areq_220(messageVersion="2.4.0")).encode(), "102", "messageVersion"),
        (json.dumps(areq_220(dsURL=..., acquirerBIN=...)).encode(), "201", "dsURL,acquirerBIN"),
        (
            json.dumps(
                areq_220(
                    messageExtension=[
                        {"name": "x", "id": "A000000003-9", "criticalityIndicator": True, "data": {}}
                    ]
                )
            ).encode(),
            "202",
            "A000000003-9",
        ),
        (json.dumps(areq_220(acctNumber="4970")).encode(), "203", "acctNumber"),
        (
            json.dumps(areq_220()).replace('"mcc": ', '"mcc": "5411", "mcc": ', 1).encode(),
            "204",
            "mcc",
        ),
        (json.dumps(areq_220(merchantCountryCode="999")).encode(), "304", "merchantCountryCode"),
    ],
)
def test_erro_for_each_validation_code(client, body, code, detail):
    answer = erro_of(client, body)
    assert (answer["errorCode"], answer["errorDetail"]) == (code, detail)


def test_erro_404_when_answering_fails_unexpectedly(client, monkeypatch):
    enrolled_holder(VISA_PAN)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(answering, "_ares", broken)
    answer = erro_of(client, areq_220(acctNumber=VISA_PAN))
    assert (answer["errorCode"], answer["errorDetail"]) == ("404", "ACS processing failure")
    assert answer["threeDSServerTransID"] == areq_220()["threeDSServerTransID"]
    assert answer["dsTransID"] == DS_FIELDS["dsTransID"]
    assert answer["acsTransID"] == AuditEvent.objects.get(event="acs:areq:refused").subject


def test_erro_403_when_the_database_fails(client, monkeypatch):
    def down(pan: str) -> None:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(acs_store, "card_lookup", down)
    answer = erro_of(client, areq_220(acctNumber=VISA_PAN))
    assert (answer["errorCode"], answer["errorDescription"]) == ("403", "Transient System Failure")


def test_only_post_is_accepted(client):
    assert client.get("/3ds/areq").status_code == 405
    assert AuditEvent.objects.count() == 0


def test_a_body_over_the_cap_is_not_stored_anywhere(client):
    big = json.dumps(areq_220(acctNumber=VISA_PAN, merchantName="x" * 200_000)).encode()
    answer = erro_of(client, big)
    assert answer["errorCode"] == "101"
    assert VISA_PAN not in json.dumps(list(AuditEvent.objects.values("detail")))


def test_five_wrong_portal_codes_block_the_portal_but_not_the_cards_payments(client):
    # given an enrolled cardholder whose email someone knows, and portal codes sent
    holder, pan = enrolled_holder(VISA_PAN)
    assert enrollment_send_codes(cardholder=holder, ip="198.51.100.9", language="fr") is CodeResult.SENT
    # when 5 wrong code pairs are typed on the portal
    for _ in range(5):
        outcome = enrollment_verify(
            cardholder=holder, sms_code="00000000", email_code="AAAAA", ip="198.51.100.9", language="fr"
        )
        assert outcome is CodeResult.FAILED
    # then the portal is blocked and its owner alerted once
    assert (
        enrollment_verify(
            cardholder=holder, sms_code="00000000", email_code="AAAAA", ip="198.51.100.9", language="fr"
        )
        is CodeResult.BLOCKED
    )
    [blocked] = AuditEvent.objects.filter(event="credential:holder:blocked")
    assert blocked.subject == holder.portal_throttle_key
    assert OutboxMessage.objects.filter(template="credential_blocked", recipient=holder.email).count() == 1
    # and the card's payments still go to a challenge, not N/19
    answer = post_areq(client, areq_220(acctNumber=pan))
    assert (answer["transStatus"], answer.get("transStatusReason")) == ("C", None)
    assert AcsTransaction.objects.get().decided_by == "challenge"
