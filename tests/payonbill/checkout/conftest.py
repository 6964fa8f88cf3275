from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payonbill.checkout.merchant import MerchantSite
from tests.payonbill.checkout.support import Shop, open_shop


@pytest.fixture
def merchant_site() -> Iterator[MerchantSite]:
    """The merchant's real HTTP server: notifications and the customers' returns."""
    site = MerchantSite()
    site.start()
    yield site
    site.stop()


@pytest.fixture
def shop(merchant_site: MerchantSite, db: None) -> Shop:
    return open_shop(merchant_site)
