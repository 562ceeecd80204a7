"""OpenAPI: every operation documents its problem+json errors."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

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
            for status_code, description in codes.items():
                operation["responses"].setdefault(status_code, {"description": description, "content": ref})
    return result


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
