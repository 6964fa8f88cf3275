"""`POST /3ds/areq` served on the worker's event loop (guichet.server.app sends it here).

The DS's AReq is the ACS's hot path (the target: 1,000 a second on two cores). Through Django each
one costs the handler, ten middleware and a thread; here the endpoint reads the body, answers with
`areq_async` (whose database steps are grouped across concurrent AReqs) and sends the JSON with the
headers Django's middleware gives this answer: they are computed once at start-up by running the
middleware that acts on it around a JSON response (a test compares them with the full stack's,
request by request).

A request this endpoint would not answer exactly as Django does goes to Django instead: a Host
outside ALLOWED_HOSTS (Django's 400), a cookie (it could choose the Content-Language), settings that
make the middleware redirect (SECURE_SSL_REDIRECT on plain HTTP, PREPEND_WWW) or refuse user agents.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import split_domain_port, validate_host
from django.utils.module_loading import import_string

from guichet.core.asgi import Receive, Scope, Send
from guichet.issuer.acs.fastpath.areq import AreqDatabase, acs_areq_answer_async
from guichet.issuer.acs.messages.validation import MAX_AREQ_BYTES

AREQ_PATH = "/3ds/areq"
# The middleware (in settings.MIDDLEWARE order) that set headers on this JSON answer. The others do
# nothing for it: static files, sessions, CSRF (the view is exempt), users, messages; CommonMiddleware
# only checks the Host (done per request here) and adds Content-Length (done here).
HEADER_MIDDLEWARE = (
    "guichet.core.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "guichet.core.middleware.LanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)


def _middleware_headers(secure: bool) -> list[tuple[bytes, bytes]] | None:
    """The headers the middleware add to a JSON answer of this path; None if one answers otherwise."""
    sentinel = JsonResponse({})

    def view(request: HttpRequest) -> HttpResponse:  # noqa: ARG001 (a Django view)
        return sentinel

    chain: Callable[[HttpRequest], HttpResponse] = view
    for path in reversed(HEADER_MIDDLEWARE):
        chain = import_string(path)(chain)
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": AREQ_PATH, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "443" if secure else "80", "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "https" if secure else "http",
    }  # fmt: skip
    if secure and settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        environ[header] = value
    response = chain(WSGIRequest(environ))
    if response is not sentinel:  # e.g. SECURE_SSL_REDIRECT on plain HTTP
        return None
    skip = {"content-type", "content-length"}
    return [(k.lower().encode(), v.encode("latin-1")) for k, v in response.items() if k.lower() not in skip]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class AreqEndpoint:
    """The ASGI endpoint; `takes(scope)` says whether a request is one it answers."""

    def __init__(self, *, db: AreqDatabase) -> None:
        self.db = db
        self._usable = not settings.PREPEND_WWW and not settings.DISALLOWED_USER_AGENTS

    @functools.cached_property
    def _headers(self) -> dict[bool, list[tuple[bytes, bytes]] | None]:
        return {secure: _middleware_headers(secure) for secure in (False, True)}

    def _secure(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        proxy = settings.SECURE_PROXY_SSL_HEADER
        if not proxy:
            return False
        name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        sent = _header(scope, name)
        return sent is not None and sent.decode("latin-1").split(",")[0].strip() == proxy[1]

    def _host_allowed(self, scope: Scope) -> bool:
        if settings.USE_X_FORWARDED_HOST:
            return False  # Django's rules for that header: let Django apply them
        host = _header(scope, b"host")
        if host is None:
            return False
        domain, _ = split_domain_port(host.decode("latin-1"))
        allowed = settings.ALLOWED_HOSTS
        if settings.DEBUG and not allowed:
            allowed = [".localhost", "127.0.0.1", "[::1]"]  # as HttpRequest.get_host does
        return bool(domain) and validate_host(domain, allowed)

    def takes(self, scope: Scope) -> bool:
        return (
            self._usable
            and scope["path"] == AREQ_PATH
            and scope["method"] == "POST"
            and _header(scope, b"cookie") is None
            and self._host_allowed(scope)
            and self._headers[self._secure(scope)] is not None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw, whole = await _body(receive, MAX_AREQ_BYTES + 1)
        client = scope.get("client")
        ip = str(client[0])[:45] if client else ""
        answer = await acs_areq_answer_async(raw=raw, ip=ip, db=self.db)
        body = json.dumps(answer, cls=DjangoJSONEncoder).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += self._headers[self._secure(scope)] or []
        if not whole:  # the rest of an oversized body is not read: the connection cannot be reused
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the request body, and whether that is the whole body."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            return b"".join(chunks)[:limit], size == limit and not message.get("more_body", False)
        if not message.get("more_body", False):
            return b"".join(chunks), True
