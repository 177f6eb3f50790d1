"""WSGI entry point for gunicorn (see docker/gunicorn.conf.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tom_desc.settings")
application = get_wsgi_application()
