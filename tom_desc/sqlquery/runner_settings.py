"""Settings for `long_query_runner` processes: the site's settings with only the apps a runner uses.

A runner reads users, groups and long queries and nothing else; the TOM Toolkit's apps
import astropy and friends (about 100 MB of memory). Start runners with
DJANGO_SETTINGS_MODULE=sqlquery.runner_settings (docs/sqlquery.md); with the full
settings they work the same, only bigger.
"""

from tom_desc.settings import *  # noqa: F403
from tom_desc.settings import LOGGING  # noqa: F401

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "sqlquery",
]
MIDDLEWARE = []
