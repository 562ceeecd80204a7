"""OpenAPI: every operation documents its problem+json errors, and the schema says what
validation accepts (time zones as an enum, SSE frames as what a client parses)."""

import threading
import zoneinfo

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularJSONAPIView, SpectacularYAMLAPIView

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable machine-readable code, e.g. VALIDATION_ERROR"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
    "required": ["type", "title", "status", "code", "detail"],
}

_COMMON = {
    "400": "Invalid input (VALIDATION_ERROR, MALFORMED_REQUEST, ORG_AMBIGUOUS, INVALID_CURSOR)",
    "401": "Not authenticated (NOT_AUTHENTICATED, AUTHENTICATION_FAILED)",
    "403": "Role not allowed (PERMISSION_DENIED)",
    "404": "Not found in this organization (NOT_FOUND, ORG_NOT_FOUND)",
    "429": "Rate limited (RATE_LIMITED); see Retry-After",
}
_POST_ONLY = {
    "409": "Conflict (CONFLICT, IDEMPOTENCY_IN_PROGRESS)",
    "422": "Idempotency key reused with a different payload (IDEMPOTENCY_KEY_REUSED)",
}


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = dict(_COMMON)
            if method == "post":
                codes.update(_POST_ONLY)
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "Replays the first response for 24 h; see IDEMPOTENCY_* codes.",
                    }
                )
            if method == "get":
                codes["503"] = _BUSY
            else:
                codes.update({"413": _TOO_LARGE, "503": _BUSY})
            for status_code, description in codes.items():
                operation["responses"].setdefault(status_code, {"description": description, "content": ref})
            for status_code, response in operation["responses"].items():
                if str(status_code).startswith(("4", "5")):  # declared without a body: it is a problem
                    response.setdefault("content", {}).setdefault(
                        "application/problem+json", ref["application/problem+json"]
                    )
                for media, content in response.get("content", {}).items():
                    if media == "text/event-stream" and content.get("schema", {}).get("type") == "string":
                        content["schema"] = SSE_EVENT_SCHEMA
    _timezones_as_enum(result)
    _closed_request_bodies(result)
    _blank_alternatives_as_any_of(result)
    return result


def _blank_alternatives_as_any_of(node) -> None:
    """drf-spectacular documents a blank-allowed string as oneOf [the string, maxLength 0];
    when the string's own pattern admits "" too, "" matches both and oneOf fails: anyOf says
    the same without the ambiguity."""
    if isinstance(node, dict):
        options = node.get("oneOf")
        if isinstance(options, list) and {"type": "string", "maxLength": 0} in options:
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _blank_alternatives_as_any_of(value)
    elif isinstance(node, list):
        for value in node:
            _blank_alternatives_as_any_of(value)


def _closed_request_bodies(result) -> None:
    """Request bodies are Strict serializers (unknown fields → 400): say so."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object" and "properties" in schema:
            schema.setdefault("additionalProperties", False)


_BUSY = "Busy or a dependency unavailable (SERVICE_BUSY); see Retry-After"
_TOO_LARGE = "Body too large (REQUEST_TOO_LARGE)"
#: One parsed Server-Sent Events frame, as clients (EventSource, schemathesis) see it.
SSE_EVENT_SCHEMA = {
    "type": "object",
    "properties": {"data": {"type": "string"}, "event": {"type": "string"}, "id": {"type": "string"}},
}
TIMEZONE_FIELDS = ("timezone",)


def _timezones_as_enum(result) -> None:
    """Every `timezone` string property is the IANA zone enum (what validate_timezone accepts),
    plus "" where the field may be blank (no minLength)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    zones = sorted(zoneinfo.available_timezones())
    schemas["TimeZone"] = {"type": "string", "enum": zones, "description": "An IANA time zone"}
    schemas["TimeZoneOrBlank"] = {"type": "string", "enum": ["", *zones], "description": "An IANA time zone or empty"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                if parameter.get("name") in TIMEZONE_FIELDS and schema.get("type") == "string" and "enum" not in schema:
                    parameter["schema"] = {"$ref": "#/components/schemas/TimeZone"}
    for schema in list(schemas.values()):
        for name, prop in schema.get("properties", {}).items():
            if name not in TIMEZONE_FIELDS or prop.get("type") != "string" or "enum" in prop:
                continue
            target = "TimeZone" if prop.get("minLength") else "TimeZoneOrBlank"
            replacement = {"allOf": [{"$ref": f"#/components/schemas/{target}"}]}
            for keep in ("readOnly", "writeOnly", "description", "default", "nullable"):
                if keep in prop:
                    replacement[keep] = prop[keep]
            schema["properties"][name] = replacement


class ApiKeyAuthScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_live_…",
            "description": "API key; also accepted as the X-API-Key header.",
        }


_SCHEMA_BUILD = threading.Lock()


class _OneBuildAtATime:
    """drf-spectacular builds the schema with process-wide state (settings patched for the
    request, extensions that swap their target's dotted path for the class on first use): two
    first requests at once in one process raced and one answered 500. Schema requests are rare;
    they take turns."""

    @extend_schema(**SCHEMA_KWARGS)  # documented as drf-spectacular documents its own view
    def get(self, request, *args, **kwargs):
        with _SCHEMA_BUILD:
            return super().get(request, *args, **kwargs)


class SchemaJSONView(_OneBuildAtATime, SpectacularJSONAPIView):
    pass


class SchemaYAMLView(_OneBuildAtATime, SpectacularYAMLAPIView):
    pass
