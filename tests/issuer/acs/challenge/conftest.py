from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.issuer.acs.challenge.support import DirectoryServer, ds_list


@pytest.fixture
def ds(settings: Any) -> Iterator[DirectoryServer]:
    """A local DS, listed in GUICHET_ACS_DS_URLS for the test (AReqs naming it are answered)."""
    server = DirectoryServer()
    server.start()
    ds_list(settings, server.url)
    yield server
    server.stop()
