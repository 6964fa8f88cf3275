"""How the suite runs: the `browser` marker is on every browser test and on nothing else; Django's
async guard is on outside the browser tests."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from django.core.exceptions import SynchronousOnlyOperation

from guichet.audit.models import AuditEvent
from tests.support.paths import ROOT


def _collected(*args: str) -> list[str]:
    run = subprocess.run(  # noqa: S603 (pytest itself, with our own arguments)
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_not_browser_leaves_out_every_browser_test_and_only_those():
    browser_tests = _collected("tests/browser")
    assert len(browser_tests) > 20
    assert _collected("-m", "not browser", "tests/browser") == []
    assert _collected("-m", "browser", "tests/browser") == browser_tests
    assert _collected("-m", "browser", "tests/codes") == []


@pytest.mark.django_db
def test_an_orm_call_on_an_event_loop_is_caught():
    async def on_the_loop() -> int:
        return AuditEvent.objects.count()

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(on_the_loop())
