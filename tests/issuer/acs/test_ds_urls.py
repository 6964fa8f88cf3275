"""The DS is known: an AReq whose dsURL is not under GUICHET_ACS_DS_URLS gets Erro 203 (dsURL), and
nothing is stored for it, so no RReq can ever be posted there."""

from __future__ import annotations

import dataclasses
import json
import socket
from typing import Any

import pytest

from guichet.audit.models import AuditEvent
from guichet.delivery.models import OutboxMessage
from guichet.issuer.acs import answering
from guichet.issuer.acs.messages import Erro
from guichet.issuer.acs.messages.erro import ERROR_DESCRIPTIONS
from guichet.issuer.acs.models import AcsMessage, AcsTransaction
from tests.issuer.acs.support import ACS_TRANS_ID, DS_FIELDS, VISA_PAN, areq_220, post_areq

pytestmark = pytest.mark.django_db


@pytest.fixture
def fixed_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answering, "new_acs_trans_id", lambda: ACS_TRANS_ID)


def _configure(settings: Any, *, mode: str | None = None, ds_urls: tuple[str, ...] | None = None) -> None:
    config = settings.GUICHET
    acs = config.acs if ds_urls is None else dataclasses.replace(config.acs, ds_urls=ds_urls)
    settings.GUICHET = dataclasses.replace(config, mode=mode or config.mode, acs=acs)


@pytest.mark.parametrize(
    "ds_url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost/rreq",
        "http://2130706433/rreq",
        "http://[::1]/rreq",
        "https://ds.example.test.evil.example/rreq",  # the listed host as a prefix of another
        "https://ds.example.test@192.0.2.1/rreq",  # user info that looks like the listed host
        "https://ds.example.test:8443/rreq",  # another port of the listed host
        "http://ds.example.test/rreq",  # another scheme
        "https://DS.example.test/rreq",  # compared exactly: as configured
    ],
)
def test_an_areq_naming_an_unlisted_ds_gets_erro_203_and_nothing_is_stored(
    client: Any, settings: Any, fixed_id: None, ds_url: str
) -> None:
    # given GUICHET_ACS_DS_URLS=https://ds.example.test/ (tests/conftest.py)
    assert settings.GUICHET.acs.ds_urls == ("https://ds.example.test/",)
    areq = areq_220(acctNumber=VISA_PAN, dsURL=ds_url)
    # when
    answer = post_areq(client, areq)
    # then
    assert answer == {
        "messageType": "Erro",
        "messageVersion": "2.2.0",
        "errorCode": "203",
        "errorComponent": "A",
        "errorDescription": ERROR_DESCRIPTIONS["203"],
        "errorDetail": "dsURL",
        "errorMessageType": "AReq",
        "threeDSServerTransID": areq["threeDSServerTransID"],
        "acsTransID": ACS_TRANS_ID,
        "dsTransID": areq["dsTransID"],
    }
    Erro.model_validate(answer)
    assert (AcsTransaction.objects.count(), AcsMessage.objects.count(), OutboxMessage.objects.count()) == (
        0,
        0,
        0,
    )
    refused = AuditEvent.objects.get(event="acs:areq:refused")
    assert (refused.detail["error_code"], refused.detail["error_detail"]) == ("203", "dsURL")


def test_a_listed_ds_is_answered(client: Any) -> None:
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN))
    assert answer["messageType"] == "ARes"
    assert AcsTransaction.objects.get().ds_url == DS_FIELDS["dsURL"]


def test_every_prefix_of_the_list_is_accepted(client: Any, settings: Any) -> None:
    _configure(settings, ds_urls=("https://ds.visa.example/3ds/", "https://ds.mc.example/"))
    for ds_url in ("https://ds.visa.example/3ds/rreq", "https://ds.mc.example/any/path?x=1"):
        assert post_areq(client, areq_220(acctNumber=VISA_PAN, dsURL=ds_url))["messageType"] == "ARes"
    refused = post_areq(client, areq_220(acctNumber=VISA_PAN, dsURL="https://ds.visa.example/other"))
    assert (refused["errorCode"], refused["errorDetail"]) == ("203", "dsURL")


def test_production_without_ds_urls_refuses_every_ds(client: Any, settings: Any) -> None:
    _configure(settings, mode="serve", ds_urls=())
    for ds_url in (DS_FIELDS["dsURL"], f"{settings.GUICHET.public_url}/demo/ds/rreq"):
        answer = post_areq(client, areq_220(acctNumber=VISA_PAN, dsURL=ds_url))
        assert (answer["errorCode"], answer["errorDetail"]) == ("203", "dsURL")
    assert AcsTransaction.objects.count() == 0


def test_the_demo_ds_simulator_is_allowed_in_demo_mode(client: Any, settings: Any) -> None:
    # given the demo as it starts: no GUICHET_ACS_DS_URLS
    _configure(settings, mode="demo", ds_urls=())
    public = "http://127.0.0.1:8000"
    settings.GUICHET = dataclasses.replace(settings.GUICHET, public_url=public)
    # when the demo shop's 3DS Server names the simulator (guichet.demo.shop.views.card)
    answer = post_areq(client, areq_220(acctNumber=VISA_PAN, dsURL=f"{public}/demo/ds/rreq"))
    # then
    assert answer["messageType"] == "ARes"
    assert (
        post_areq(client, areq_220(acctNumber=VISA_PAN, dsURL="http://127.0.0.1:5432/"))["errorCode"] == "203"
    )


def test_the_ds_check_asks_no_dns_and_no_database(
    monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    def no_dns(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("DNS asked on the AReq path")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    raw = json.dumps(areq_220(acctNumber=VISA_PAN, dsURL="https://ds.example.invalid/rreq")).encode()
    with django_assert_num_queries(0):
        erro = answering.areq_parse(raw=raw, acs_trans_id=ACS_TRANS_ID)
    assert isinstance(erro, Erro)
    assert (erro.errorCode, erro.errorDetail) == ("203", "dsURL")
