"""The API's edge, for every method on every route (SPEC §2: bad input is a 4xx with a
reason, never a 500):

- `OPTIONS` on a plain (non-DRF) view under /v1/ or /admin/v1/ answers 204 with `Allow` (DRF
  views answer it themselves, schedkit.api.views.SchedKitMixin.options);
- a declared body over the size limit is a 413 (schedkit.api.limits; under ASGI the outer
  BodyLimitMiddleware already refused it unread);
- a query string holding NUL is refused (400 problem+json on the API, plain 400 on pages):
  PostgreSQL cannot store or compare NUL, and every filter would otherwise meet it;
- CORS headers for the origins in settings.CORS_ALLOWED_ORIGINS (none by default).

Runs natively in both sync and async stacks (no thread hop under ASGI)."""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpResponse

from schedkit.api.limits import content_length_refusal
from schedkit.api.problems import API_PREFIXES, problem_json

CORS_ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-API-Key, X-Org, X-Request-Id, Last-Event-ID"
CORS_EXPOSE_HEADERS = "Retry-After, X-Request-Id, Idempotent-Replayed, Location, Allow"


def _refuse(request):
    refusal = content_length_refusal(request.META.get("CONTENT_LENGTH"), request.META.get("CONTENT_TYPE", ""))
    if refusal is not None:
        status, body = refusal
        return problem_json(status, body["code"], body["title"], body["detail"])
    return _bad_query(request)


def _bad_query(request):
    query = request.META.get("QUERY_STRING", "")
    if "%00" not in query and "\x00" not in query:
        return None
    if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
        if request.path.startswith(API_PREFIXES):
            return problem_json(400, "MALFORMED_REQUEST", "Malformed request", "The query string holds a NUL.")
        return HttpResponse("The query string holds a NUL character.", status=400, content_type="text/plain")
    return None


def _finish(request, response):
    if not request.path.startswith(API_PREFIXES):
        return response
    if request.method == "OPTIONS" and response.status_code == 405 and response.has_header("Allow"):
        allow = [m.strip() for m in response["Allow"].split(",") if m.strip()]
        response = HttpResponse(status=204)
        response["Allow"] = ", ".join([*allow, "OPTIONS"] if "OPTIONS" not in allow else allow)
    origin = request.headers.get("Origin")
    if origin and origin in getattr(settings, "CORS_ALLOWED_ORIGINS", ()):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
        vary = response.get("Vary")
        response["Vary"] = f"{vary}, Origin" if vary else "Origin"
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response["Access-Control-Allow-Methods"] = response.get("Allow", "")
            response["Access-Control-Allow-Headers"] = CORS_ALLOW_HEADERS
            response["Access-Control-Max-Age"] = "600"
    return response


class ApiEdgeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        refused = _refuse(request)
        if refused is not None:
            return refused
        return _finish(request, self.get_response(request))

    async def __acall__(self, request):
        refused = _refuse(request)
        if refused is not None:
            return refused
        return _finish(request, await self.get_response(request))
