"""The Django WSGI application. `guichet serve` runs guichet.server.app, which serves it in threads and
answers the DS's AReq itself; this module is for running Guichet under another WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guichet.config.settings")
application = get_wsgi_application()
