"""DRF, throttling and OpenAPI."""

from .env import env_str

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
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "schedkit.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
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
    "booking": env_str("THROTTLE_BOOKING", "10/min"),  # booking POSTs per client address
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
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "apps.orgs.models.Role"},
}
