"""Typed EMV 3DS protocol messages (wire names kept) and AReq validation."""

from guichet.acs.messages.areq import AReq
from guichet.acs.messages.ares import ARes
from guichet.acs.messages.erro import ERROR_DESCRIPTIONS, Erro
from guichet.acs.messages.validation import areq_erro, parse_areq

__all__ = ["ERROR_DESCRIPTIONS", "AReq", "ARes", "Erro", "areq_erro", "parse_areq"]
