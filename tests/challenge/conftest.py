from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.challenge.support import DirectoryServer


@pytest.fixture
def ds() -> Iterator[DirectoryServer]:
    server = DirectoryServer()
    server.start()
    yield server
    server.stop()
