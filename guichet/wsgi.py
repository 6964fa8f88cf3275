import os
from collections.abc import Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guichet.settings")
django_application = get_wsgi_application()

from guichet.acs.handler import AREQ_PATH, AreqHandler  # noqa: E402 (needs the apps set up)

# The DS's AReq skips the middleware that does nothing for it (see guichet.acs.handler).
areq_application = AreqHandler()


def application(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == AREQ_PATH and environ.get("REQUEST_METHOD") == "POST":
        return areq_application(environ, start_response)
    return django_application(environ, start_response)
