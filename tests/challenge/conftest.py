from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from tests.challenge.support import DirectoryServer


@pytest.fixture
def ds(settings: Any) -> Iterator[DirectoryServer]:
    """A local DS, listed in GUICHET_ACS_DS_URLS for the test (AReqs naming it are answered)."""
    server = DirectoryServer()
    server.start()
    acs = settings.GUICHET.acs
    settings.GUICHET = dataclasses.replace(
        settings.GUICHET, acs=dataclasses.replace(acs, ds_urls=(*acs.ds_urls, server.url))
    )
    yield server
    server.stop()
