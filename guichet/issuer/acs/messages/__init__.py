"""Typed EMV 3DS protocol messages (wire names kept) and AReq validation."""

from guichet.issuer.acs.messages.areq import AReq
from guichet.issuer.acs.messages.ares import ARes
from guichet.issuer.acs.messages.erro import ERROR_DESCRIPTIONS, Erro
from guichet.issuer.acs.messages.validation import areq_erro, parse_areq

__all__ = ["ERROR_DESCRIPTIONS", "AReq", "ARes", "Erro", "areq_erro", "parse_areq"]
