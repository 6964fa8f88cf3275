"""The gunicorn worker of `guichet serve`: uvicorn's, set for Guichet."""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "auto",  # uvloop where installed
        "http": "auto",  # httptools where installed
        "lifespan": "on",  # guichet.asgi opens and closes its database pool there
        "access_log": False,  # guichet.asgi writes its own, without query strings
        "server_header": False,  # do not announce the server and its version
        # REMOTE_ADDR is the peer, as before: a proxy in front must be the one to set it. HTTPS
        # behind a proxy is Django's SECURE_PROXY_SSL_HEADER.
        "proxy_headers": False,
    }
