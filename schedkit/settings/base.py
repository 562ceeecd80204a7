import secrets
import time
from pathlib import Path

from .env import env_bool, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("SCHEDKIT_VAR_DIR", str(BASE_DIR / "var")))

DEV_SECRET_KEY = "dev-insecure-schedkit-key-set-SECRET_KEY-in-production"
INSECURE_SECRET_KEYS = frozenset({"", DEV_SECRET_KEY, "change-me"})
DEBUG = env_bool("DEBUG", False)
# The production topology (a database or Redis URL) with DEBUG off refuses to start without a
# real SECRET_KEY; the embedded default generates one and keeps it in var/secret_key.
PRODUCTION_TOPOLOGY = bool(env_str("DATABASE_URL") or env_str("REDIS_URL"))


def _local_secret_key(var_dir: Path) -> str:
    """The embedded default's key: generated once per var/ folder, shared by every process
    using it. A var/ that predates this file keeps the old development key (its encrypted
    data and sessions stay readable)."""
    path = var_dir / "secret_key"
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
        legacy = (var_dir / "schedkit.sqlite3").exists() and not path.exists()
        with open(path, "x") as file:  # exclusive create: concurrent first starts agree
            file.write(DEV_SECRET_KEY if legacy else secrets.token_urlsafe(50))
    except FileExistsError:
        pass
    except OSError:
        return DEV_SECRET_KEY  # read-only var/ (e.g. an image build step): nothing to protect
    for _ in range(50):  # another process may be between create and write
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    return DEV_SECRET_KEY


SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY in INSECURE_SECRET_KEYS:
    if PRODUCTION_TOPOLOGY and not DEBUG:
        raise SystemExit(
            "SchedKit refuses to start: SECRET_KEY is "
            + (f"the development key {SECRET_KEY!r}" if SECRET_KEY else "not set")
            + " while DATABASE_URL/REDIS_URL are set and DEBUG is off. Set SECRET_KEY to a long random value, "
            "e.g. the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    SECRET_KEY = _local_secret_key(VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# seed_demo's explicit opt-in outside the embedded default (it makes a staff owner + an API key).
SEED_DEMO = env_bool("SEED_DEMO", False)
CSRF_FAILURE_VIEW = "schedkit.api.problems.csrf_failure"  # problem+json on API paths
# Browser origins allowed to call the API cross-origin (CORS); none by default.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", "")
# Absolute base for links in emails (magic links, invites).
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "schedkit.admin_config.SchedKitAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "channels",
    "anymail",
    "schedkit.api",
    "apps.accounts",
    "apps.orgs",
    "apps.events",
    "apps.signals",
    "apps.incidents",
    "apps.scheduling",
    "apps.bookings",
    "apps.dispatch",
    "apps.planning",
    "apps.calendars",
    "apps.demo",
]

MIDDLEWARE = [
    "schedkit.ops.middleware.RequestContextMiddleware",
    "schedkit.api.middleware.ApiEdgeMiddleware",  # OPTIONS/CORS on the API, NUL in queries
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "schedkit.urls"
ASGI_APPLICATION = "schedkit.asgi.application"
WSGI_APPLICATION = "schedkit.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# No passwords for people: the magic link + code flow is the only way in.
AUTH_PASSWORD_VALIDATORS: list = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from static/ when collectstatic has not run

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None

# Login codes (SPEC §2): 15-minute expiry, 5 wrong tries.
LOGIN_CODE_TTL_SECONDS = 15 * 60
LOGIN_CODE_MAX_ATTEMPTS = 5
