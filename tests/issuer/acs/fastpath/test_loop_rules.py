"""Which rules the fast path decides on its event loop: low_value reads the card's earlier
exemptions through the ORM, so a chain naming it goes to a thread and answers as Django's path does
(on the loop it was refused by Django and skipped as broken: a challenge instead of the exemption)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from guichet.issuer.acs.models import AcsTransaction
from guichet.issuer.acs.rules import BUILTIN, LOOP_SAFE
from tests.issuer.acs.support import VISA_PAN, areq_220, enrolled_holder
from tests.issuer.acs.test_areq_asgi import Harness
from tests.issuer.acs.test_method import acs_config

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["acs_config"]  # the fixture, used by name


@pytest.fixture
def harness() -> Iterator[Harness]:
    running = Harness()
    yield running
    running.close()


def post(harness: Harness, **changes: Any) -> dict[str, Any]:
    areq = areq_220(
        acctNumber=VISA_PAN, threeDSServerTransID=str(uuid.uuid4()), purchaseCurrency="978", **changes
    )
    status, _, content = harness.request("POST", "/3ds/areq", json.dumps(areq).encode())
    assert status == 200
    answer: dict[str, Any] = json.loads(content)
    return answer


def test_low_value_is_the_one_built_in_rule_kept_off_the_loop():
    assert set(BUILTIN) - LOOP_SAFE == {"low_value"}


def test_low_value_exempts_on_the_fast_path_up_to_its_count(harness, acs_config, caplog):
    enrolled_holder(VISA_PAN)
    acs_config(rules=(("low_value", ("3000", "978", "2", "10000")),))

    statuses = [post(harness, purchaseAmount="100")["transStatus"] for _ in range(3)]

    assert statuses == ["Y", "Y", "C"]  # two exempted, the third over COUNT: challenged
    decided = list(AcsTransaction.objects.order_by("created_at").values_list("decided_by", flat=True))
    assert decided[:2] == ["low_value", "low_value"]
    assert "failed" not in caplog.text
