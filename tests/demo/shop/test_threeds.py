"""The 3DS Server and DS simulators of the demo: the AReq they build, how they read the ACS's answers,
the RReq receiver, and the final CRes posted to the shop's notificationURL."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest
from django.test import Client

from guichet.core import clock
from guichet.demo.shop import ds as ds_simulator
from guichet.demo.shop import threeds
from guichet.demo.shop.messages import CReq, RRes, b64url_decode, b64url_encode
from guichet.demo.shop.models import DsResult, DsTransaction, Order
from guichet.demo.shop.services import shop_order_create
from guichet.issuer.acs.messages import AReq, Erro, parse_areq
from tests.demo.shop.support import FakeAcs, ares

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.demo.shop.urls")]

PAN = "4970100000000048"
BROWSER = threeds.Browser(
    accept_header="text/html,application/xhtml+xml",
    user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0",
    language="fr",
    ip="192.0.2.10",
    javascript=True,
    color_depth="24",
    screen_height="1080",
    screen_width="1920",
    tz="-660",
)
NO_JS = threeds.Browser(
    accept_header="text/html", user_agent="Lynx/2.9", language="en", ip="", javascript=False
)
NOTIFY = "http://localhost:8000/demo/shop/order/x/3ds/complete"


def build(browser: threeds.Browser = BROWSER, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "pan": PAN,
        "expiry": "2912",
        "cardholder_name": "Marie Kafeat",
        "amount": 29900,
        "currency": "EUR",
        "browser": browser,
        "notification_url": NOTIFY,
        "requestor_url": "http://localhost:8000/demo/shop/",
        "server_url": "http://localhost:8000/demo/shop/3ds-server",
        "ds_url": "http://127.0.0.1:8000/demo/ds/rreq",
        "server_trans_id": str(uuid.uuid4()),
        "ds_trans_id": str(uuid.uuid4()),
        "purchase_date": clock.now(),
    }
    return threeds.threeds_build_areq(**{**args, **overrides})


def authenticate(order: Order, **overrides: Any) -> Order:
    args: dict[str, Any] = {
        "order": order,
        "pan": PAN,
        "expiry": "2912",
        "cardholder_name": "Marie Kafeat",
        "browser": BROWSER,
        "notification_url": NOTIFY,
        "requestor_url": "http://localhost:8000/demo/shop/",
        "server_url": "http://localhost:8000/demo/shop/3ds-server",
        "ds_url": "http://127.0.0.1:8000/demo/ds/rreq",
    }
    return threeds.threeds_authenticate(**{**args, **overrides})


def err(order: Order) -> dict[str, Any]:
    assert order.error is not None
    return order.error


# --- the AReq ------------------------------------------------------------------------------------


@pytest.mark.parametrize("browser", [BROWSER, NO_JS], ids=["javascript", "no-javascript"])
def test_the_areq_built_parses_as_a_valid_browser_payment_areq(browser):
    # given an AReq built for a 299,00 EUR purchase
    raw = json.dumps(build(browser)).encode()
    # when Guichet's own AReq validation reads it
    parsed = parse_areq(raw)
    # then it is an AReq, not an Erro, with the purchase and the routing as built
    assert isinstance(parsed, AReq), parsed
    assert parsed.messageVersion == "2.2.0"
    assert (parsed.deviceChannel, parsed.messageCategory) == ("02", "01")
    assert (parsed.purchaseAmount, parsed.purchaseCurrency, parsed.purchaseExponent) == ("29900", "978", "2")
    assert parsed.merchantName == "Éditions du Lagon"
    assert parsed.acctNumber == PAN
    assert parsed.notificationURL == NOTIFY
    assert parsed.dsURL == "http://127.0.0.1:8000/demo/ds/rreq"
    assert parsed.browserJavascriptEnabled is browser.javascript
    assert parsed.browserLanguage == browser.language
    if browser.javascript:
        assert (parsed.browserScreenWidth, parsed.browserTZ, parsed.browserJavaEnabled) == (
            "1920",
            "-660",
            False,
        )
    else:
        assert parsed.browserScreenWidth is None
        assert parsed.browserIP is None


def test_the_areq_carries_fresh_uuids_and_a_utc_purchase_date(clock):
    areq = build()
    for name in ("threeDSServerTransID", "dsTransID"):
        assert str(uuid.UUID(areq[name])) == areq[name]
    assert areq["purchaseDate"] == clock.now().strftime("%Y%m%d%H%M%S")


# --- reading the ACS's answer --------------------------------------------------------------------


def test_a_challenge_answer_prepares_the_creq_for_the_iframe(fake_acs: FakeAcs):
    # given an order of 299,00 EUR
    order = shop_order_create(product="collection-reliee")
    # when the 3DS Server authenticates it and the ACS answers C
    order = authenticate(order)
    # then the AReq went once to /3ds/areq with the card and the amount
    assert fake_acs.paths == ["/3ds/areq"]
    sent = fake_acs.received[0]
    assert (sent["acctNumber"], sent["purchaseAmount"]) == (PAN, "29900")
    # and the order waits for the challenge, with a CReq naming both transactions
    order.refresh_from_db()
    assert order.status == Order.Status.CHALLENGE
    assert order.acs_url == f"{fake_acs.url}/3ds/challenge"
    assert order.card_masked == "497010XXXXXX0048"
    creq = CReq.model_validate_json(b64url_decode(order.creq))
    assert creq.threeDSServerTransID == sent["threeDSServerTransID"] == order.three_ds_server_trans_id
    assert creq.acsTransID == order.acs_trans_id
    assert (creq.messageVersion, creq.challengeWindowSize) == ("2.2.0", "05")
    assert "=" not in order.creq
    # and the DS simulator knows the transaction it forwarded, without the PAN
    ds = DsTransaction.objects.get()
    assert (ds.ds_trans_id, ds.acs_trans_id, ds.order_id) == (sent["dsTransID"], order.acs_trans_id, order.id)
    assert PAN not in json.dumps(order.ares)


def test_a_frictionless_y_accepts_the_payment_with_the_eci_and_value(fake_acs: FakeAcs):
    value = base64.b64encode(bytes(range(20))).decode()
    fake_acs.answer = lambda areq: (
        200,
        json.dumps(ares(areq, "Y", eci="05", authenticationValue=value)).encode(),
    )
    order = authenticate(shop_order_create(product="panier-editeur"))
    order.refresh_from_db()
    assert (order.status, order.trans_status, order.eci, order.authentication_value) == (
        Order.Status.ACCEPTED,
        "Y",
        "05",
        value,
    )
    assert order.creq == ""


def test_a_refusal_keeps_the_reason(fake_acs: FakeAcs):
    fake_acs.answer = lambda areq: (200, json.dumps(ares(areq, "N", transStatusReason="13")).encode())
    order = authenticate(shop_order_create(product="panier-editeur"))
    order.refresh_from_db()
    assert (order.status, order.trans_status, order.trans_status_reason) == (Order.Status.REFUSED, "N", "13")


def test_an_erro_from_the_acs_is_kept_and_shown_as_an_error(fake_acs: FakeAcs):
    erro = {
        "messageType": "Erro",
        "messageVersion": "2.2.0",
        "errorCode": "203",
        "errorComponent": "A",
        "errorDescription": "Format of one or more Data Elements is Invalid according to the Specification",
        "errorDetail": "browserTZ",
        "errorMessageType": "AReq",
    }
    fake_acs.answer = lambda areq: (200, json.dumps(erro).encode())
    order = authenticate(shop_order_create(product="panier-editeur"))
    order.refresh_from_db()
    assert order.status == Order.Status.ERROR
    assert order.error == erro


@pytest.mark.parametrize(
    ("answer", "code", "detail"),
    [
        (lambda areq: (500, b"<html>oops</html>"), "101", "ACS answered HTTP 500, not JSON"),
        (
            lambda areq: (200, json.dumps({**ares(areq, "Y"), "eci": "05"}).encode()),
            "203",
            "ARes: authenticationValue is required when transStatus is Y or A",
        ),
        (
            lambda areq: (
                200,
                json.dumps(
                    ares({**areq, "dsTransID": str(uuid.uuid4())}, "N", transStatusReason="01")
                ).encode(),
            ),
            "305",
            "ARes: dsTransID",
        ),
        (lambda areq: (200, json.dumps(ares(areq, "C")).encode()), "203", "ARes: acsURL is required"),
    ],
    ids=["not-json", "y-without-value", "wrong-ds-trans-id", "c-without-acs-url"],
)
def test_a_malformed_answer_is_an_error_not_a_result(fake_acs: FakeAcs, answer, code, detail):
    fake_acs.answer = answer
    order = authenticate(shop_order_create(product="panier-editeur"))
    order.refresh_from_db()
    assert order.status == Order.Status.ERROR
    assert (err(order)["errorComponent"], err(order)["errorCode"]) == ("S", code)
    assert err(order)["errorDetail"].startswith(detail)
    assert order.creq == ""


def test_an_ares_for_another_transaction_is_refused(fake_acs: FakeAcs):
    def other(areq: dict[str, Any]) -> tuple[int, bytes]:
        answer = ares(areq, "N", transStatusReason="01")
        answer["threeDSServerTransID"] = str(uuid.uuid4())
        return 200, json.dumps(answer).encode()

    fake_acs.answer = other
    order = authenticate(shop_order_create(product="panier-editeur"))
    order.refresh_from_db()
    assert order.status == Order.Status.ERROR
    assert err(order)["errorDetail"] == "ARes: threeDSServerTransID"


def test_an_unreachable_acs_is_an_error(settings):
    import dataclasses

    from tests.support.servers import free_port

    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=f"http://127.0.0.1:{free_port()}")
    order = authenticate(shop_order_create(product="panier-editeur"))
    order.refresh_from_db()
    assert order.status == Order.Status.ERROR
    assert err(order)["errorCode"] == "405"
    assert err(order)["errorDetail"].startswith("ACS unreachable")


# --- the DS simulator's RReq receiver ------------------------------------------------------------


def challenged(fake_acs: FakeAcs) -> tuple[Order, DsTransaction]:
    order = authenticate(shop_order_create(product="collection-reliee"))
    return order, DsTransaction.objects.get(order=order)


def rreq(ds: DsTransaction, **fields: Any) -> dict[str, Any]:
    message = {
        "messageType": "RReq",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": ds.three_ds_server_trans_id,
        "acsTransID": ds.acs_trans_id,
        "dsTransID": ds.ds_trans_id,
        "messageCategory": "01",
        "transStatus": "Y",
        "authenticationType": "02",
        "authenticationMethod": "02",
        "authenticationValue": base64.b64encode(b"\x01" * 20).decode(),
        "eci": "05",
        "interactionCounter": "02",
    }
    message.update(fields)
    return {k: v for k, v in message.items() if v is not None}


def post_rreq(client: Client, body: bytes | dict[str, Any]) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post("/demo/ds/rreq", data=raw, content_type="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


def test_a_valid_rreq_gets_an_rres_and_is_kept_for_the_result_page(client, fake_acs: FakeAcs):
    # given a transaction the DS forwarded and the ACS challenged
    order, ds = challenged(fake_acs)
    message = rreq(ds)
    # when the ACS posts its RReq
    answer = post_rreq(client, message)
    # then the answer is an RRes echoing the three identifiers
    rres = RRes.model_validate(answer)
    assert (rres.threeDSServerTransID, rres.acsTransID, rres.dsTransID) == (
        ds.three_ds_server_trans_id,
        ds.acs_trans_id,
        ds.ds_trans_id,
    )
    assert (rres.messageVersion, rres.resultsStatus) == ("2.2.0", "01")
    # and the DS kept exactly what it received
    result = DsResult.objects.get()
    assert (result.accepted, result.rreq, result.answer, result.transaction_id) == (
        True,
        message,
        answer,
        ds.ds_trans_id,
    )
    assert ds_simulator.ds_results(order) == [result]


def test_an_rreq_sent_again_gets_the_same_rres_and_both_arrivals_are_kept(client, fake_acs: FakeAcs):
    _order, ds = challenged(fake_acs)
    first = post_rreq(client, rreq(ds))
    second = post_rreq(client, rreq(ds))
    assert first == second
    assert list(DsResult.objects.values_list("accepted", flat=True)) == [True, True]


@pytest.mark.parametrize(
    ("change", "code", "detail"),
    [
        (lambda ds: b"not json at all", "101", "message is not a JSON object"),
        (lambda ds: b"[1, 2]", "101", "message is not a JSON object"),
        (lambda ds: rreq(ds, messageType="ARes"), "101", "messageType"),
        (lambda ds: rreq(ds, messageVersion="2.3.1"), "102", "messageVersion"),
        (lambda ds: rreq(ds, transStatus=None), "201", "transStatus"),
        (lambda ds: rreq(ds, authenticationValue=None), "201", "authenticationValue"),
        (lambda ds: rreq(ds, transStatus="N", authenticationValue=None), "201", "transStatusReason"),
        (lambda ds: rreq(ds, interactionCounter=None), "201", "interactionCounter"),
        (lambda ds: rreq(ds, acsTransID=None), "201", "acsTransID"),
        (lambda ds: rreq(ds, transStatus="C"), "203", "transStatus"),
        (lambda ds: rreq(ds, eci=5), "203", "eci"),
        (lambda ds: rreq(ds, challengeCancel="02"), "203", "challengeCancel"),
        (lambda ds: rreq(ds, dsTransID=str(uuid.uuid4())), "301", "dsTransID"),
        (lambda ds: rreq(ds, acsTransID=str(uuid.uuid4())), "301", "acsTransID"),
        (lambda ds: rreq(ds, messageVersion="2.1.0", authenticationMethod=None), "305", "messageVersion"),
        (
            lambda ds: json.dumps(rreq(ds))[:-1].encode() + b', "eci": "05"}',
            "204",
            "eci",
        ),
        (lambda ds: rreq(ds, transStatusReason="0\u0000"), "203", "transStatusReason"),
        (lambda ds: rreq(ds, interactionCounter="0\ud800"), "203", "interactionCounter"),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "not-an-rreq",
        "unsupported-version",
        "no-trans-status",
        "y-without-value",
        "n-without-reason",
        "no-interaction-counter",
        "no-acs-trans-id",
        "status-c",
        "eci-as-number",
        "reserved-cancel-code",
        "unknown-ds-trans-id",
        "other-acs-trans-id",
        "other-version",
        "duplicate-element",
        "nul-character",
        "lone-surrogate",
    ],
)
def test_a_bad_rreq_gets_an_erro_naming_the_problem_and_is_kept_as_refused(
    client, fake_acs: FakeAcs, change, code, detail
):
    # given a forwarded, challenged transaction
    _order, ds = challenged(fake_acs)
    # when the DS receives a broken RReq
    answer = post_rreq(client, change(ds))
    # then it answers an Erro from the DS naming the problem
    erro = Erro.model_validate(answer)
    assert (erro.errorCode, erro.errorDetail, erro.errorComponent, erro.errorMessageType) == (
        code,
        detail,
        "D",
        "RReq",
    )
    # and it keeps the arrival as refused: no RRes was given
    result = DsResult.objects.get()
    assert result.accepted is False
    assert result.answer == answer
    assert not DsResult.objects.filter(accepted=True).exists()


# --- the final CRes at the notificationURL -------------------------------------------------------


def cres_for(order: Order, status: str = "Y", **fields: Any) -> str:
    message = {
        "messageType": "CRes",
        "messageVersion": "2.2.0",
        "threeDSServerTransID": order.three_ds_server_trans_id,
        "acsTransID": order.acs_trans_id,
        "transStatus": status,
        "challengeCompletionInd": "Y",
        **fields,
    }
    return b64url_encode(json.dumps({k: v for k, v in message.items() if v is not None}).encode())


def post_cres(order: Order, cres: str, session_data: str | None = None) -> Any:
    # A fresh client: the post comes from the ACS's page in the iframe, with none of the shop's cookies.
    return Client().post(
        f"/demo/shop/order/{order.id}/3ds/complete",
        {"cres": cres, "threeDSSessionData": order.session_data if session_data is None else session_data},
    )


@pytest.mark.parametrize(("status", "outcome"), [("Y", Order.Status.ACCEPTED), ("N", Order.Status.REFUSED)])
def test_the_final_cres_decides_the_order(fake_acs: FakeAcs, status, outcome):
    order, _ds = challenged(fake_acs)
    response = post_cres(order, cres_for(order, status))
    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.trans_status) == (outcome, status)
    # the page inside the iframe sends the whole window to the order's result page
    assert f'href="/demo/shop/order/{order.id}/" target="_top"' in response.content.decode()
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def cancel_rreq(ds: DsTransaction) -> dict[str, Any]:
    """The ACS's RReq after "Annuler votre paiement" (N / 01 / challengeCancel 01)."""
    return rreq(
        ds, transStatus="N", transStatusReason="01", challengeCancel="01", authenticationValue=None, eci=None
    )


def test_a_cancel_whose_rreq_comes_before_the_cres_cancels_the_order(client, fake_acs: FakeAcs):
    # given the DS received the RReq saying the cardholder cancelled
    order, ds = challenged(fake_acs)
    post_rreq(client, cancel_rreq(ds))
    # when the final CRes (transStatus N) arrives
    post_cres(order, cres_for(order, "N"))
    # then the order is cancelled, not refused
    order.refresh_from_db()
    assert (order.status, order.trans_status) == (Order.Status.CANCELLED, "N")


def test_a_cancel_whose_rreq_comes_after_the_cres_cancels_the_refused_order(client, fake_acs: FakeAcs):
    order, ds = challenged(fake_acs)
    post_cres(order, cres_for(order, "N"))
    order.refresh_from_db()
    assert order.status == Order.Status.REFUSED
    post_rreq(client, cancel_rreq(ds))
    order.refresh_from_db()
    assert (order.status, order.trans_status) == (Order.Status.CANCELLED, "N")


def test_a_refusal_without_challenge_cancel_stays_refused(client, fake_acs: FakeAcs):
    # given the attempts were used up (N / 19, no challengeCancel)
    order, ds = challenged(fake_acs)
    post_rreq(client, rreq(ds, transStatus="N", transStatusReason="19", authenticationValue=None, eci=None))
    post_cres(order, cres_for(order, "N"))
    order.refresh_from_db()
    assert order.status == Order.Status.REFUSED


def test_a_cancel_rreq_does_not_undo_an_accepted_order(client, fake_acs: FakeAcs):
    order, ds = challenged(fake_acs)
    post_cres(order, cres_for(order, "Y"))
    post_rreq(client, cancel_rreq(ds))
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED


def test_a_padded_cres_is_read_too(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    cres = cres_for(order)
    post_cres(order, cres + "=" * (-len(cres) % 4))
    order.refresh_from_db()
    assert order.status == Order.Status.ACCEPTED


def test_a_cres_with_another_session_data_changes_nothing(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    forged = b64url_encode(uuid.uuid4().bytes + b"\x00" * 16)
    response = post_cres(order, cres_for(order), session_data=forged)
    assert response.status_code == 400
    order.refresh_from_db()
    assert (order.status, order.trans_status, order.cres) == (Order.Status.CHALLENGE, "C", None)


def test_a_cres_for_another_transaction_is_an_error(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    post_cres(order, cres_for(order, acsTransID=str(uuid.uuid4())))
    order.refresh_from_db()
    assert order.status == Order.Status.ERROR
    assert err(order)["errorDetail"] == "CRes: acsTransID"


def test_a_cres_with_status_a_is_an_error(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    post_cres(order, cres_for(order, "A"))
    order.refresh_from_db()
    assert (order.status, err(order)["errorCode"], err(order)["errorDetail"]) == (
        Order.Status.ERROR,
        "203",
        "CRes: transStatus",
    )


def test_an_erro_in_the_cres_field_is_shown_as_an_error(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    erro = {
        "messageType": "Erro",
        "messageVersion": "2.2.0",
        "errorCode": "402",
        "errorComponent": "A",
        "errorDescription": "Transaction Timed Out",
        "errorDetail": "challenge",
    }
    post_cres(order, b64url_encode(json.dumps(erro).encode()))
    order.refresh_from_db()
    assert (order.status, order.error) == (Order.Status.ERROR, erro)


def test_a_second_cres_after_the_result_changes_nothing(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    post_cres(order, cres_for(order, "Y"))
    post_cres(order, cres_for(order, "N"))
    order.refresh_from_db()
    assert (order.status, order.trans_status) == (Order.Status.ACCEPTED, "Y")


def test_garbage_in_the_cres_field_is_an_error(fake_acs: FakeAcs):
    order, _ds = challenged(fake_acs)
    post_cres(order, "%%%not base64%%%")
    order.refresh_from_db()
    assert (order.status, err(order)["errorCode"]) == (Order.Status.ERROR, "302")


def test_the_rres_parses_with_the_acs_own_schema_too(client, fake_acs: FakeAcs):
    acs_messages = pytest.importorskip(
        "guichet.issuer.acs.messages.rres", reason="the ACS's RRes schema is not there yet"
    )
    _order, ds = challenged(fake_acs)
    rres = acs_messages.RRes.model_validate(post_rreq(client, rreq(ds)))
    assert (rres.dsTransID, rres.resultsStatus) == (ds.ds_trans_id, "01")


def test_one_areq_per_order_even_when_the_card_form_is_sent_twice(fake_acs: FakeAcs):
    order = shop_order_create(product="collection-reliee")
    first = authenticate(Order.objects.get(pk=order.pk))
    again = authenticate(Order.objects.get(pk=order.pk))
    assert len(fake_acs.received) == 1
    assert again.three_ds_server_trans_id == first.three_ds_server_trans_id
    assert DsTransaction.objects.count() == 1
