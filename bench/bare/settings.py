"""The bare reference: the least a Django + DRF service can do, on the same PostgreSQL.

No middleware, no authentication, no throttles, no sessions, no logging config; served by
the same server and the same number of processes as SchedKit in the same bench run, so
every SchedKit figure can be read as a ratio to it (bench/README.md).
"""

import os

import dj_database_url

SECRET_KEY = "bench-bare"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "bare.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "rest_framework", "bare"]
MIDDLEWARE: list = []
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The same connection handling as SchedKit's production settings (schedkit/settings/runtime.py).
_db = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0)
if os.environ.get("DB_POOL", "true").lower() not in ("0", "false", "no"):
    _db["OPTIONS"] = {"pool": {"min_size": 1, "max_size": 10, "timeout": 10}}
DATABASES = {"default": _db}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
}
