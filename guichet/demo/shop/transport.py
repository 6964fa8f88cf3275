"""How the demo's simulators reach Guichet: JSON over HTTP, nothing else (a test swaps the transport)."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import urlsplit

HTTP_TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024


class PeerUnreachable(Exception):
    """The ACS did not answer over HTTP."""


class Transport(Protocol):
    def post_json(self, url: str, body: bytes) -> tuple[int, bytes]:
        """POST a JSON body; (status, answer body), or raise PeerUnreachable."""


class HttpTransport:
    def post_json(self, url: str, body: bytes) -> tuple[int, bytes]:
        if urlsplit(url).scheme not in ("http", "https"):
            raise PeerUnreachable("not an http(s) URL")
        request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (scheme checked above)
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                return response.status, response.read(MAX_ANSWER_BYTES)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(MAX_ANSWER_BYTES)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PeerUnreachable(type(getattr(exc, "reason", exc)).__name__) from None
