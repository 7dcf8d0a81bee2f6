"""The WSGI entry point (gunicorn cpor.wsgi). Without DJANGO_SETTINGS_MODULE it runs the
production settings, which refuse to start without a secret key and host names: a server
started by mistake never runs with DEBUG on and the public development key. `manage.py`
and `make run` choose the development settings explicitly."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings.production")

application = get_wsgi_application()
