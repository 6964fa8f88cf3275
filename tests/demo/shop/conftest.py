from tests.demo.shop.support import fake_acs

__all__ = ["fake_acs"]
