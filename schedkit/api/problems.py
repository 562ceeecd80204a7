"""RFC 9457 problem details for every API error, with a stable machine `code`."""

import logging
import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from schedkit.cache import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
API_PREFIXES = ("/v1/", "/admin/v1/")
TYPE_BASE = "https://schedkit.dev/problems/"


class Problem(exceptions.APIException):
    """Raise from services or views: Problem(409, "SLOT_FULL", "Slot is full", detail=...)."""

    def __init__(self, status_code: int, code: str, title: str, detail: str | None = None, **extra):
        self.status_code = status_code
        self.code = code
        self.title = title
        self.extra = extra
        super().__init__(detail=detail or title, code=code)


class IdempotentReplay(Exception):
    """Carries a stored response back out through the exception handler."""

    def __init__(self, record):
        self.record = record


#: Faults of a shared resource (a pool with no free connection after its bounded wait, Redis
#: or PostgreSQL unreachable): the request is refused with 503 + Retry-After, to be retried.
BUSY_ERRORS = (*REDIS_UNAVAILABLE, OperationalError)
BUSY_RETRY_AFTER = 2


def is_busy_error(exc) -> bool:
    return isinstance(exc, BUSY_ERRORS)


_BUSY_ARGS = ("SERVICE_BUSY", "Service busy", "The service is busy or a dependency is unavailable; retry shortly.")


_DEFAULT_CODES = {
    exceptions.ParseError: ("MALFORMED_REQUEST", "Malformed request body"),
    exceptions.UnsupportedMediaType: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
    exceptions.NotAuthenticated: ("NOT_AUTHENTICATED", "Authentication required"),
    exceptions.AuthenticationFailed: ("AUTHENTICATION_FAILED", "Authentication failed"),
    exceptions.PermissionDenied: ("PERMISSION_DENIED", "Permission denied"),
    exceptions.NotFound: ("NOT_FOUND", "Not found"),
    exceptions.MethodNotAllowed: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    exceptions.NotAcceptable: ("NOT_ACCEPTABLE", "Not acceptable"),
    exceptions.Throttled: ("RATE_LIMITED", "Too many requests"),
}


def problem_response(status_code: int, code: str, title: str, detail=None, headers=None, **extra) -> Response:
    body = {
        "type": TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status_code,
        "code": code,
        "detail": detail if detail is not None else title,
        **extra,
    }
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def flatten_errors(detail, prefix: str = "") -> list[dict]:
    """DRF's nested error dict → [{"field": "a.b", "message": ..., "code": ...}]."""
    errors: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = key if key != "non_field_errors" else ""
            errors += flatten_errors(value, f"{prefix}.{field}".strip(".") if field else prefix)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                errors += flatten_errors(value, f"{prefix}.{index}" if prefix else str(index))
            else:
                errors += flatten_errors(value, prefix)
    else:
        errors.append({"field": prefix or None, "message": str(detail), "code": getattr(detail, "code", "invalid")})
    return errors


def problem_exception_handler(exc, context):
    if isinstance(exc, IdempotentReplay):
        record = exc.record
        response = Response(record.response_body, status=record.response_status)
        if isinstance(record.response_body, dict) and "code" in record.response_body and record.response_status >= 400:
            response.content_type = PROBLEM_CONTENT_TYPE
        response["Idempotent-Replayed"] = "true"
        return response
    if isinstance(exc, Problem):
        return problem_response(exc.status_code, exc.code, exc.title, exc.detail, **exc.extra)
    if isinstance(exc, Http404):
        return problem_response(404, "NOT_FOUND", "Not found", "No such object in this organization.")
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
        return problem_response(400, "VALIDATION_ERROR", "Invalid input", detail, errors=errors)
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "REQUEST_TOO_LARGE", "Request too large", "The body exceeds the size allowed.")
    if isinstance(exc, TooManyFieldsSent):
        return problem_response(400, "MALFORMED_REQUEST", "Malformed request body", "Too many fields.")
    if isinstance(exc, DataError | OverflowError):
        # A value the database (or date arithmetic) cannot represent — a time zone offset
        # beyond ±15:59, a year past 9999, a number out of range: the input's fault, and the
        # statement (or its transaction) was rolled back, so nothing was written.
        logger.warning("unrepresentable input answered as 400: %s", exc)
        return problem_response(
            400, "VALUE_OUT_OF_RANGE", "Value out of range", "A value in the request is outside the range accepted."
        )
    if is_busy_error(exc):
        logger.warning("answered 503 (busy or unavailable): %s: %s", type(exc).__name__, exc)
        return problem_response(503, *_BUSY_ARGS, headers={"Retry-After": str(BUSY_RETRY_AFTER)})
    if isinstance(exc, IntegrityError):
        # A uniqueness race lost to a concurrent request: a conflict, not a server error.
        logger.warning("integrity error answered as 409: %s", exc)
        return problem_response(409, "CONFLICT", "Conflict", "The change conflicts with existing data.")
    if isinstance(exc, exceptions.APIException):
        code, title = _DEFAULT_CODES.get(type(exc), (None, None))
        if code is None:
            for cls, pair in _DEFAULT_CODES.items():
                if isinstance(exc, cls):
                    code, title = pair
                    break
        code = code or str(getattr(exc, "default_code", "error")).upper()
        title = title or str(exc.default_detail)
        headers = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem_response(exc.status_code, code, title, detail, headers=headers)
    return None  # unexpected: let Django log it and answer 500 (as problem+json, see handler500)


def problem_json(status_code, code, title, detail=None, headers=None, **extra) -> JsonResponse:
    """A problem+json answer outside DRF (middleware, plain views, error handlers)."""
    body = {
        "type": TYPE_BASE + code.lower().replace("_", "-"),
        "title": title,
        "status": status_code,
        "code": code,
        "detail": detail if detail is not None else title,
        **extra,
    }
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE, headers=headers)


@csrf_exempt  # an answer, not an action: a cookie-carrying DELETE must get the 404 too
def api_not_found(request, *args, **kwargs):
    """The last route under /v1/ and /admin/v1/: an unknown API path is a problem+json 404
    (never the Django admin's login page, nor a page's HTML 404)."""
    return problem_json(404, "NOT_FOUND", "Not found", f"No endpoint at {request.path}.")


def handler404(request, exception=None):
    if request.path.startswith(API_PREFIXES):
        return problem_json(404, "NOT_FOUND", "Not found", f"No endpoint at {request.path}.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: problem+json on the API (plain views such as /v1/auth/link),
    Django's page elsewhere."""
    if request.path.startswith(API_PREFIXES):
        return problem_json(403, "CSRF_FAILED", "CSRF check failed", f"CSRF verification failed: {reason}")
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)


def handler500(request):
    # Django calls this inside its `except`: a pool or dependency fault anywhere (a middleware,
    # a plain view, a page) is a 503 to retry, not an internal error.
    if is_busy_error(sys.exc_info()[1]):
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        if request.path.startswith(API_PREFIXES):
            return problem_json(503, *_BUSY_ARGS, headers=headers)
        return HttpResponse(_BUSY_ARGS[2], status=503, content_type="text/plain", headers=headers)
    if request.path.startswith(API_PREFIXES):
        return problem_json(
            500,
            "INTERNAL_ERROR",
            "Internal error",
            "The error was logged; quote the X-Request-Id when reporting it.",
        )
    from django.views.defaults import server_error

    return server_error(request)


__all__ = ["Problem", "IdempotentReplay", "problem_exception_handler", "problem_response", "status"]
