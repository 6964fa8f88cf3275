"""The 3DS Method: threeDSMethodData in, the page and its collection, the join to the AReq, the rule."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import uuid
from typing import Any

import pytest
from django.test import Client

from guichet.issuer.acs import method
from guichet.issuer.acs.messages.method import MethodDataError, method_data_decode, method_data_encode
from guichet.issuer.acs.models import AcsTransaction, DeviceObservation
from guichet.issuer.acs.services import acs_card_ranges
from tests.issuer.acs.support import VISA_PAN, areq_220, areq_231, enrolled_holder, post_areq

pytestmark = pytest.mark.django_db

TRANS_ID = "3ac7caa7-aa42-2663-791b-2ac05a542c4a"
NOTIFY = "https://shop.example/3ds/method-done"
TRAITS = {
    "screenWidth": "1920",
    "screenHeight": "1080",
    "colorDepth": "24",
    "tzOffset": "-660",
    "tzName": "Pacific/Noumea",
    "languages": "fr-FR,fr,en",
}


def b64url(data: Any, *, pad: bool = False) -> str:
    text = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    return text if pad else text.rstrip("=")


def method_data(trans_id: str = TRANS_ID, url: str = NOTIFY) -> str:
    return b64url({"threeDSServerTransID": trans_id, "threeDSMethodNotificationURL": url})


@pytest.fixture
def acs_config(settings: Any) -> Any:
    def change(**fields: Any) -> None:
        settings.GUICHET = dataclasses.replace(
            settings.GUICHET, acs=dataclasses.replace(settings.GUICHET.acs, **fields)
        )

    return change


# --- threeDSMethodData ---------------------------------------------------------------------------


def test_the_published_unpadded_example_is_read():
    # docs/emv-3ds.md §9.11 (DNA Payments)
    data = method_data_decode(
        "eyJ0aHJlZURTU2VydmVyVHJhbnNJRCI6IjNhYzdjYWE3LWFhNDItMjY2My03OTFiLTJhYzA1YTU0MmM0YSIsInRocmVlRFNNZXR"
        "ob2ROb3RpZmljYXRpb25VUkwiOiJodHRwczovL3Nob3AuZXhhbXBsZS8zZHMvbWV0aG9kLWRvbmUifQ"
    )
    assert (data.threeDSServerTransID, data.threeDSMethodNotificationURL) == (TRANS_ID, NOTIFY)


def test_padded_and_standard_alphabet_base64_are_read_and_unknown_members_ignored():
    body = {"threeDSServerTransID": TRANS_ID, "threeDSMethodNotificationURL": NOTIFY, "extra": "?>?>"}
    standard = base64.b64encode(json.dumps(body).encode()).decode()
    assert "+" in standard or "/" in standard  # the standard alphabet's own characters are there
    assert method_data_decode(standard).threeDSServerTransID == TRANS_ID
    assert method_data_decode(b64url(body, pad=True)).threeDSServerTransID == TRANS_ID


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("", "threeDSMethodData is missing"),
        ("not base64!", "threeDSMethodData is not base64url"),
        ("A" * 2049, "threeDSMethodData is not base64url"),
        ("eyJh", "threeDSMethodData is not base64url JSON"),  # {"a
        (b64url(["a"]), "threeDSMethodData is not a JSON object"),
        (b64url({"threeDSMethodNotificationURL": NOTIFY}), "threeDSMethodData: missing threeDSServerTransID"),
        (b64url({"threeDSServerTransID": TRANS_ID}), "missing threeDSMethodNotificationURL"),
        (method_data(trans_id="12345"), "threeDSMethodData: invalid threeDSServerTransID"),
        (method_data(url="ftp://shop.example/x"), "invalid threeDSMethodNotificationURL"),
        (method_data(url="https://shop.example/" + "x" * 240), "invalid threeDSMethodNotificationURL"),
    ],
)
def test_unusable_method_data_is_refused_with_what_is_wrong(field, message):
    with pytest.raises(MethodDataError, match=re.escape(message)):
        method_data_decode(field)


def test_what_is_posted_back_is_the_trans_id_alone_in_unpadded_base64url():
    encoded = method_data_encode(three_ds_server_trans_id=TRANS_ID)
    assert "=" not in encoded
    assert json.loads(base64.urlsafe_b64decode(encoded + "==")) == {"threeDSServerTransID": TRANS_ID}


# --- the page ------------------------------------------------------------------------------------


def open_page(client: Client, field: str) -> Any:
    return client.post("/3ds/method", {"threeDSMethodData": field})


def token_of(response: Any) -> str:
    found = re.search(r'data-token="([^"]*)"', response.content.decode())
    assert found is not None
    return found.group(1)


def collect(client: Client, trans_id: str, token: str, **changes: str) -> Any:
    return client.post(
        "/3ds/method/collect", {"threeDSServerTransID": trans_id, "token": token} | TRAITS | changes
    )


def test_the_page_is_frameable_posts_back_to_the_notification_url_and_stores_a_pending_observation(client):
    response = open_page(client, method_data())

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        "form-action https://shop.example; frame-ancestors *; base-uri 'none'"
    )
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert f'action="{NOTIFY}"' in page
    assert f'value="{method_data_encode(three_ds_server_trans_id=TRANS_ID)}"' in page
    assert 'data-collect="/3ds/method/collect"' in page
    assert "<script>" not in page  # no inline script: the CSP would refuse it
    assert '/static/acs/method.js"' in page
    observation = DeviceObservation.objects.get()
    assert (str(observation.method_trans_id), observation.collected_at, observation.device_hash) == (
        TRANS_ID,
        None,
        "",
    )
    assert len(token_of(response)) == 43
    assert observation.token_hash != token_of(response)  # only its keyed hash


def test_past_the_limit_per_address_the_page_only_posts_back_and_stores_nothing(client, monkeypatch):
    monkeypatch.setattr(method, "METHOD_PER_ADDRESS", 2)
    ids = [str(uuid.uuid4()) for _ in range(4)]
    pages = [open_page(client, method_data(trans_id)) for trans_id in ids[:3]]
    elsewhere = client.post(
        "/3ds/method", {"threeDSMethodData": method_data(ids[3])}, REMOTE_ADDR="192.0.2.9"
    )

    assert [page.status_code for page in pages] == [200, 200, 200]
    assert [len(token_of(page)) for page in pages] == [43, 43, 0]  # the third: nothing to collect
    third = pages[2].content.decode()
    assert f'value="{method_data_encode(three_ds_server_trans_id=ids[2])}"' in third  # still posts back
    assert len(token_of(elsewhere)) == 43  # another address has its own count
    stored = sorted(str(row) for row in DeviceObservation.objects.values_list("method_trans_id", flat=True))
    assert stored == sorted([ids[0], ids[1], ids[3]])


def test_the_method_url_takes_only_a_post(client):
    assert client.get("/3ds/method").status_code == 405
    assert client.get("/3ds/method/collect").status_code == 405


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("%%%", "threeDSMethodData is not base64url"),
        (b64url({"threeDSMethodNotificationURL": NOTIFY}), "missing threeDSServerTransID"),
        (
            method_data(url="http://10.1.2.3/notify"),
            "threeDSMethodNotificationURL is refused: private address",
        ),
        (
            method_data(url="https://user:pw@shop.example/n"),
            "threeDSMethodNotificationURL is refused: a URL with a",
        ),
    ],
)
def test_bad_method_data_gets_a_clear_error_page_and_nothing_is_stored(client, field, problem):
    response = open_page(client, field)
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert "form-action 'none'" in response["Content-Security-Policy"]
    assert DeviceObservation.objects.count() == 0


def test_collecting_stores_the_traits_and_a_device_hash_and_sets_the_device_cookie(client):
    token = token_of(open_page(client, method_data()))

    response = collect(client, TRANS_ID, token)

    assert response.status_code == 204
    cookie = response.cookies[method.DEVICE_COOKIE]
    assert len(cookie.value) == 32
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (True, "Lax", "/3ds/method")
    assert cookie["max-age"] == 395 * 24 * 3600
    observation = DeviceObservation.objects.get()
    assert observation.traits == {
        "screenWidth": 1920, "screenHeight": 1080, "colorDepth": 24, "tzOffset": -660,
        "tzName": "Pacific/Noumea", "languages": ["fr-FR", "fr", "en"],
    }  # fmt: skip
    assert (observation.token_hash, observation.new_device, len(observation.device_hash)) == ("", True, 64)
    assert cookie.value not in observation.device_hash
    assert observation.collected_at is not None


def test_over_https_the_device_cookie_is_samesite_none_and_secure(client, settings):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://acs.example")
    token = token_of(open_page(client, method_data()))
    cookie = collect(client, TRANS_ID, token).cookies[method.DEVICE_COOKIE]
    assert (cookie["secure"], cookie["samesite"]) == (True, "None")


def test_the_same_browser_gives_the_same_device_hash_and_keeps_its_cookie(client):
    first = str(uuid.uuid4())
    collect(client, first, token_of(open_page(client, method_data(first))))
    second = str(uuid.uuid4())
    response = collect(client, second, token_of(open_page(client, method_data(second))))
    assert method.DEVICE_COOKIE not in response.cookies  # sent by the browser: not set again
    hashes = dict(DeviceObservation.objects.values_list("method_trans_id", "device_hash"))
    assert hashes[uuid.UUID(first)] == hashes[uuid.UUID(second)]
    assert DeviceObservation.objects.get(method_trans_id=second).new_device is False


def test_another_screen_or_another_cookie_is_another_device(client):
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    collect(client, first, token_of(open_page(client, method_data(first))))
    collect(client, second, token_of(open_page(client, method_data(second))), screenWidth="1280")
    client.cookies.clear()
    collect(client, third, token_of(open_page(client, method_data(third))))
    assert len(set(DeviceObservation.objects.values_list("device_hash", flat=True))) == 3


def test_the_token_is_single_use_and_bound_to_its_method(client):
    token = token_of(open_page(client, method_data()))
    other = str(uuid.uuid4())
    token_of(open_page(client, method_data(other)))
    assert collect(client, other, token).status_code == 400  # another Method's token
    assert collect(client, TRANS_ID, "x" * 43).status_code == 400
    assert collect(client, TRANS_ID, token).status_code == 204
    assert collect(client, TRANS_ID, token, screenWidth="1").status_code == 400  # used
    assert DeviceObservation.objects.get(method_trans_id=TRANS_ID).traits["screenWidth"] == 1920


def test_a_method_posted_again_after_its_collection_only_posts_back(client):
    collect(client, TRANS_ID, token_of(open_page(client, method_data())))
    again = open_page(client, method_data())
    assert again.status_code == 200
    assert token_of(again) == ""
    assert f'action="{NOTIFY}"' in again.content.decode()
    assert DeviceObservation.objects.count() == 1


@pytest.mark.parametrize(
    "changes",
    [{"screenWidth": "wide"}, {"tzOffset": "99999"}, {"tzName": "<script>"}, {"languages": "fr;q=1"}],
)
def test_malformed_traits_are_refused_and_nothing_is_collected(client, changes):
    token = token_of(open_page(client, method_data()))
    assert collect(client, TRANS_ID, token, **changes).status_code == 400
    assert DeviceObservation.objects.get().collected_at is None


def test_observations_past_their_hour_are_purged_and_cannot_be_collected(client, clock):
    token = token_of(open_page(client, method_data()))
    clock.advance(seconds=3601)
    assert collect(client, TRANS_ID, token).status_code == 400
    open_page(client, method_data(str(uuid.uuid4())))  # each new Method purges the old ones
    assert list(DeviceObservation.objects.values_list("method_trans_id", flat=True)) != [uuid.UUID(TRANS_ID)]
    assert DeviceObservation.objects.count() == 1


# --- the join to the AReq, and the rule ----------------------------------------------------------


RULE = (("recognised_device", ("5000", "978")),)


def payment(trans_id: str, comp_ind: str = "Y", amount: str = "4999", **changes: Any) -> dict[str, Any]:
    base = {
        "acctNumber": VISA_PAN, "threeDSServerTransID": trans_id, "threeDSCompInd": comp_ind,
        "threeDSRequestorChallengeInd": "01", "purchaseAmount": amount, "purchaseCurrency": "978",
    }  # fmt: skip
    return areq_220(**(base | changes))


def run_method(client: Client, trans_id: str) -> str:
    """The 3DS Method in this client's browser; the device hash it stored."""
    assert collect(client, trans_id, token_of(open_page(client, method_data(trans_id)))).status_code == 204
    return DeviceObservation.objects.get(method_trans_id=trans_id).device_hash


def challenge_passed(acs_trans_id: str) -> None:
    """What the challenge's outcome writes on success (challenge/outcome.py)."""
    AcsTransaction.objects.filter(acs_trans_id=acs_trans_id).update(
        trans_status="Y", authentication_method="02"
    )


def test_comp_ind_y_joins_the_device_to_the_transaction(client):
    enrolled_holder(VISA_PAN)
    trans_id = str(uuid.uuid4())
    device = run_method(client, trans_id)
    answer = post_areq(client, payment(trans_id))
    assert answer["transStatus"] == "C"  # nothing recognised it yet
    assert AcsTransaction.objects.get().device_hash == device


@pytest.mark.parametrize("comp_ind", ["N", "U"])
def test_comp_ind_n_or_u_is_answered_without_a_device_and_without_error(client, comp_ind):
    enrolled_holder(VISA_PAN)
    trans_id = str(uuid.uuid4())
    run_method(client, trans_id)  # even had it run, N and U say nothing is to be joined
    answer = post_areq(client, payment(trans_id, comp_ind))
    assert (answer["messageType"], answer["transStatus"]) == ("ARes", "C")
    assert AcsTransaction.objects.get().device_hash == ""


def test_comp_ind_y_with_nothing_stored_is_answered_without_a_device(client, acs_config):
    enrolled_holder(VISA_PAN)
    acs_config(rules=RULE)
    answer = post_areq(client, payment(str(uuid.uuid4())))
    assert (answer["messageType"], answer["transStatus"]) == ("ARes", "C")
    assert AcsTransaction.objects.get().device_hash == ""


def test_a_page_served_but_never_collected_is_no_device(client):
    enrolled_holder(VISA_PAN)
    trans_id = str(uuid.uuid4())
    open_page(client, method_data(trans_id))
    post_areq(client, payment(trans_id))
    assert AcsTransaction.objects.get().device_hash == ""


def recognised_setup(client: Client, acs_config: Any) -> None:
    """A first payment from this browser, challenged and passed."""
    enrolled_holder(VISA_PAN)
    acs_config(rules=RULE)
    first = str(uuid.uuid4())
    run_method(client, first)
    answer = post_areq(client, payment(first))
    assert answer["transStatus"] == "C"
    challenge_passed(answer["acsTransID"])


def test_a_recognised_device_under_the_ceiling_is_frictionless(client, acs_config):
    recognised_setup(client, acs_config)
    second = str(uuid.uuid4())
    run_method(client, second)

    answer = post_areq(client, payment(second, amount="4999"))

    assert (answer["transStatus"], answer["eci"], len(answer["authenticationValue"])) == ("Y", "05", 28)
    assert "acsURL" not in answer
    tx = AcsTransaction.objects.get(acs_trans_id=answer["acsTransID"])
    assert (tx.decided_by, tx.state, tx.authentication_method) == ("recognised_device", "frictionless", "")


def test_a_recognised_device_at_or_over_the_ceiling_goes_the_normal_chain(client, acs_config):
    recognised_setup(client, acs_config)
    second = str(uuid.uuid4())
    run_method(client, second)
    answer = post_areq(client, payment(second, amount="5000"))
    assert answer["transStatus"] == "C"
    assert AcsTransaction.objects.get(acs_trans_id=answer["acsTransID"]).decided_by == "challenge"


def test_a_mandated_challenge_is_not_waived_for_a_recognised_device(client, acs_config):
    recognised_setup(client, acs_config)
    second = str(uuid.uuid4())
    run_method(client, second)
    answer = post_areq(client, payment(second, threeDSRequestorChallengeInd="04"))
    assert (answer["transStatus"], answer["acsChallengeMandated"]) == ("C", "Y")


def test_a_device_seen_only_on_unfinished_or_frictionless_answers_is_not_recognised(client, acs_config):
    enrolled_holder(VISA_PAN)
    acs_config(rules=RULE)
    first = str(uuid.uuid4())
    run_method(client, first)
    answer = post_areq(client, payment(first))
    AcsTransaction.objects.filter(acs_trans_id=answer["acsTransID"]).update(trans_status="Y")  # no challenge
    second = str(uuid.uuid4())
    run_method(client, second)
    assert post_areq(client, payment(second))["transStatus"] == "C"


def test_another_browser_is_not_recognised(client, acs_config):
    recognised_setup(client, acs_config)
    other = Client()
    second = str(uuid.uuid4())
    run_method(other, second)
    assert post_areq(client, payment(second))["transStatus"] == "C"


def test_another_card_from_the_same_device_is_not_recognised(client, acs_config):
    recognised_setup(client, acs_config)
    _, pan = enrolled_holder()
    second = str(uuid.uuid4())
    run_method(client, second)
    assert post_areq(client, payment(second, acctNumber=pan))["transStatus"] == "C"


def test_without_the_rule_a_recognised_device_is_still_challenged(client, acs_config):
    recognised_setup(client, acs_config)
    acs_config(rules=())
    second = str(uuid.uuid4())
    run_method(client, second)
    assert post_areq(client, payment(second))["transStatus"] == "C"


def test_in_2_3_1_the_areq_names_an_earlier_method_run_by_three_ds_method_id(client, acs_config, settings):
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url="https://acs.example")
    recognised_setup(client, acs_config)
    method_run = str(uuid.uuid4())
    run_method(client, method_run)
    areq = areq_231(
        acctNumber=VISA_PAN, threeDSServerTransID=str(uuid.uuid4()), threeDSMethodId=method_run,
        threeDSCompInd="Y", threeDSRequestorChallengeInd=["01"], purchaseAmount="100", purchaseCurrency="978",
    )  # fmt: skip
    answer = post_areq(client, areq)
    assert answer["transStatus"] == "Y"
    tx = AcsTransaction.objects.get(acs_trans_id=answer["acsTransID"])
    assert tx.device_hash == DeviceObservation.objects.get(method_trans_id=method_run).device_hash
    # without threeDSMethodId the AReq's own threeDSServerTransID names the run: none ran for it
    areq["threeDSServerTransID"], areq["threeDSMethodId"] = str(uuid.uuid4()), ...
    areq = {k: v for k, v in areq.items() if v is not ...}
    assert post_areq(client, areq)["transStatus"] == "C"


def test_an_observation_past_its_hour_is_not_joined(client, acs_config, clock):
    recognised_setup(client, acs_config)
    second = str(uuid.uuid4())
    run_method(client, second)
    clock.advance(seconds=3601)
    assert post_areq(client, payment(second))["transStatus"] == "C"


def test_with_the_method_off_nothing_is_joined(client, acs_config):
    recognised_setup(client, acs_config)
    second = str(uuid.uuid4())
    run_method(client, second)
    acs_config(method=False)
    answer = post_areq(client, payment(second))
    assert answer["transStatus"] == "C"
    assert AcsTransaction.objects.get(acs_trans_id=answer["acsTransID"]).device_hash == ""


# --- card ranges and the setting -----------------------------------------------------------------


def test_every_range_names_the_method_url_by_default(settings):
    enrolled_holder(VISA_PAN)
    (entry,) = acs_card_ranges()
    assert entry["threeDSMethodURL"] == f"{settings.GUICHET.public_url}/3ds/method"
    assert list(entry) == [
        "startRange", "endRange", "acsStartProtocolVersion", "acsEndProtocolVersion", "acsInfoInd",
        "threeDSMethodURL", "source",
    ]  # fmt: skip


def test_the_method_off_leaves_the_url_out_of_every_range(acs_config):
    enrolled_holder(VISA_PAN)
    acs_config(method=False)
    assert "threeDSMethodURL" not in acs_card_ranges()[0]


def test_the_method_on_some_ranges_only(acs_config, settings):
    acs_config(card_ranges=(("4970", "4970"), ("5137", "5137")), method_ranges=(("4970", "4970"),))
    ranges = acs_card_ranges()
    assert [r.get("threeDSMethodURL") for r in ranges] == [f"{settings.GUICHET.public_url}/3ds/method", None]


def test_cli_ranges_prints_the_method_url(capsys, monkeypatch, settings):
    from guichet.cli import build_parser

    enrolled_holder(VISA_PAN)
    monkeypatch.setattr("guichet.config.bootstrap.django_setup", lambda mode=None: None)
    args = build_parser().parse_args(["3ds", "ranges"])
    assert args.func(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["threeDSMethodURL"] for r in printed] == [f"{settings.GUICHET.public_url}/3ds/method"]


def test_the_rule_takes_a_ceiling_and_a_currency():
    from guichet.issuer.acs.rules import RuleConfigError, rules_load

    (rule,) = rules_load(RULE)
    assert (rule.name, rule.ceiling, rule.currency) == ("recognised_device", 5000, "978")  # type: ignore[attr-defined]
    with pytest.raises(RuleConfigError, match="recognised_device: 'x' is not an amount"):
        rules_load((("recognised_device", ("x", "978")),))
