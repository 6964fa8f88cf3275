"""The server's application: `guichet serve` and `guichet demo` run it in uvicorn workers.

The routing: one method and path, the DS's `POST /3ds/areq`, is answered on the worker's event loop
(guichet.issuer.acs.fastpath.endpoint); everything else goes to Django in a pool of threads
(threads.py). Each request gets one access-log line (accesslog.py).

Under another ASGI server: `uvicorn guichet.server.app:application` (8 Django threads; outgoing
messages then need `guichet worker`, as `guichet serve` with GUICHET_DELIVERY=worker does).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

from guichet.config.bootstrap import django_setup

if not apps.ready:  # under another ASGI server, this module is the first of Guichet's to be imported
    django_setup()

from guichet.core.asgi import Receive, Scope, Send
from guichet.issuer.acs.fastpath.areq import AreqDatabase
from guichet.issuer.acs.fastpath.endpoint import AreqEndpoint
from guichet.issuer.acs.fastpath.stores import areq_store_for
from guichet.server.accesslog import logged
from guichet.server.threads import DjangoThreads


class Application:
    """The ASGI application; `threads` is how many requests a worker runs through Django at once."""

    def __init__(self, *, threads: int = 8) -> None:
        self.threads = threads
        self.django = DjangoThreads(threads=threads)
        # The DS's AReq on the event loop: as many asynchronous connections as Django has threads
        # on PostgreSQL; on SQLite its database steps run in Django's threads.
        offload = self.django.offload
        self.areq_db = AreqDatabase(backend=areq_store_for(size=threads, offload=offload), offload=offload)
        self.areq = AreqEndpoint(db=self.areq_db)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await logged(self._route, scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.areq.takes(scope):
            await self.areq(scope, receive, send)
        else:
            await self.django.app(scope, receive, send)  # type: ignore[arg-type]

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.areq_db.close()
                await self.django.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


_application: Application | None = None


def __getattr__(name: str) -> Any:
    # `application` is built on first use, not at import: `guichet serve` builds its own with
    # `--threads`, and a second one would hold a second pool of threads.
    global _application
    if name == "application":
        if _application is None:
            _application = Application()
        return _application
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
