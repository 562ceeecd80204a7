"""DRF, throttling and OpenAPI."""

from .env import env_int, env_str
from .signals import SIGNALS_CAPTURE_MAX_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["schedkit.api.permissions.DeclaredRolePermission"],
    "DEFAULT_THROTTLE_CLASSES": [
        "schedkit.api.throttling.AnonRateThrottle",
        "schedkit.api.throttling.UserRateThrottle",
    ],
    # DRF's JSON, encoded by orjson (schedkit/renderers.py); one strict JSON parser (schedkit/api/parsers.py)
    "DEFAULT_RENDERER_CLASSES": ["schedkit.renderers.ORJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["schedkit.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "schedkit.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["schedkit.api.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "schedkit.api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "PAGE_SIZE": 50,
}

# Rates are read at request time (schedkit.api.throttling), so they follow settings overrides.
THROTTLE_RATES = {
    "anon": env_str("THROTTLE_ANON", "60/min"),
    "user": env_str("THROTTLE_USER", "1200/min"),
    "login_email": env_str("THROTTLE_LOGIN_EMAIL", "5/15min"),
    "login_ip": env_str("THROTTLE_LOGIN_IP", "20/15min"),
    "verify_ip": env_str("THROTTLE_VERIFY_IP", "30/15min"),
    "booking": env_str("THROTTLE_BOOKING", "10/min"),  # booking POSTs (API and pages) per client address
    # per intake token (an endpoint may set its own); unknown tokens count against the anon IP limit
    "intake": env_str("THROTTLE_INTAKE", "600/min"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SchedKit API",
    "DESCRIPTION": (
        "Signal in, assignment out. Every error is application/problem+json (RFC 9457) with a "
        "stable `code`. Authenticate with `Authorization: Bearer sk_live_…` (or `X-API-Key`) or a "
        "session from the magic-link login. Session requests choose their org with `X-Org` or "
        "`?org=`. Every POST accepts an `Idempotency-Key` header."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.events.openapi.add_event_stream",
        "schedkit.api.schema.add_problem_responses",  # last: covers operations added by hooks too
    ],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "apps.orgs.models.Role",
        "ResponderStatusEnum": "apps.dispatch.models.ResponderStatus",
        "IncidentStatusEnum": "apps.incidents.models.Status",
    },
}

# Body limits, enforced in the app before the body is read (schedkit/api/limits.py): ordinary
# bodies (JSON, forms) and uploads (multipart captures, .ics files). Over → 413 problem+json.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 2_621_440)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", SIGNALS_CAPTURE_MAX_BYTES + 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES  # Django's own check agrees with ours
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 32)  # nesting limit of request JSON
