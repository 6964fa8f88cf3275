"""Server-to-server endpoints of the ACS: the DS's AReq and the issuer's verification."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from guichet.core import crypto
from guichet.core.http import client_ip
from guichet.core.text import json_bad_path
from guichet.issuer.acs.answering import acs_areq_answer
from guichet.issuer.acs.messages.validation import MAX_AREQ_BYTES
from guichet.issuer.acs.services import acs_av_verify

MAX_VERIFY_BYTES = 4096


@csrf_exempt
@require_POST
def areq(request: HttpRequest) -> JsonResponse:
    # Read at most one byte past the cap: a larger body is refused (Erro 101) without being read whole.
    raw = request.read(MAX_AREQ_BYTES + 1)
    return JsonResponse(acs_areq_answer(raw=raw, ip=client_ip(request)))


class VerifyRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    acctNumber: Annotated[str, StringConstraints(pattern=r"^[0-9]{13,19}$")]
    authenticationValue: Annotated[str, StringConstraints(max_length=64)]
    eci: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{2}$")]
    purchaseAmount: Annotated[str, StringConstraints(pattern=r"^[0-9]{0,48}$")] = ""
    purchaseCurrency: Annotated[str, StringConstraints(pattern=r"^([0-9]{3})?$")] = ""
    scheme: Literal["visa", "mastercard", ""] = ""


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@csrf_exempt
@require_POST
def verify(request: HttpRequest) -> JsonResponse:
    """`POST /3ds/verify` for the issuer's authorisation system (bearer GUICHET_ACS_VERIFY_TOKEN)."""
    expected = settings.GUICHET.acs.verify_token
    if not expected:
        return JsonResponse(
            {"error": "verification is disabled: GUICHET_ACS_VERIFY_TOKEN is not set"}, status=403
        )
    if not crypto.equals(_bearer(request), expected):
        response = JsonResponse({"error": "missing or wrong bearer token"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="guichet-3ds-verify"'
        return response
    raw = request.read(MAX_VERIFY_BYTES + 1)
    try:
        if len(raw) > MAX_VERIFY_BYTES:
            raise ValueError("body too large")
        data = json.loads(raw)
        bad = json_bad_path(data)
        if bad is not None:  # U+0000, a lone surrogate, a non-character: no field allows one
            return JsonResponse({"error": "invalid request", "fields": [bad.split(".")[0]]}, status=400)
        body = VerifyRequest.model_validate(data)
    except (ValueError, ValidationError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        fields = (
            sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
            if isinstance(exc, ValidationError)
            else []
        )
        return JsonResponse({"error": "invalid request", "fields": fields}, status=400)
    decoded = acs_av_verify(
        pan=body.acctNumber,
        value=body.authenticationValue,
        eci=body.eci,
        amount=body.purchaseAmount,
        currency=body.purchaseCurrency,
        scheme=body.scheme,
        ip=client_ip(request),
    )
    if decoded is None:
        return JsonResponse({"valid": False})
    return JsonResponse(
        {
            "valid": True,
            "scheme": decoded.scheme,
            "transStatus": decoded.trans_status,
            "method": decoded.method,
            "keyIndicator": decoded.key_indicator,
        }
    )
