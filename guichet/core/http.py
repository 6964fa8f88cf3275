from __future__ import annotations

from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The peer address; a deployment behind a proxy must make the proxy set REMOTE_ADDR."""
    return str(request.META.get("REMOTE_ADDR", ""))[:45]
