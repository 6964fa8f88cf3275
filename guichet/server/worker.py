"""The gunicorn worker of `guichet serve`: uvicorn's, set for Guichet."""

from __future__ import annotations

import gc
from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker


class Worker(UvicornWorker):  # type: ignore[misc]  # uvicorn-worker ships no type hints
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {
        "loop": "auto",  # uvloop where installed
        "http": "auto",  # httptools where installed
        "lifespan": "on",  # guichet.server.app opens and closes its database pool there
        "access_log": False,  # guichet.server.app writes its own, without query strings
        "server_header": False,  # do not announce the server and its version
        # REMOTE_ADDR is the peer, as before: a proxy in front must be the one to set it. HTTPS
        # behind a proxy is Django's SECURE_PROXY_SSL_HEADER.
        "proxy_headers": False,
    }


def worker_ready(*, deliver: bool) -> None:
    """What a worker does once the application is loaded, before it takes requests.

    What is loaded by then lives as long as the worker. Frozen, it is out of the garbage collector's
    reach: a full collection no longer walks Django's hundreds of thousands of objects, 60 to 90 ms
    during which that worker answers nobody (measured under the AReq bench: the p99's largest part).
    `deliver`: also start the in-process delivery thread (GUICHET_DELIVERY=inprocess).
    """
    gc.collect()
    gc.freeze()
    if deliver:
        from guichet.delivery.worker import DeliveryThread

        DeliveryThread().start()
