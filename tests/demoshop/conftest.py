from tests.demoshop.support import fake_acs

__all__ = ["fake_acs"]
