"""X-Request-Id and request metrics in one middleware that runs natively in both sync and
async stacks (no thread hop per request under ASGI)."""

import re
import time
import uuid

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

from schedkit.ops import metrics
from schedkit.ops.context import request_id_var

_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _incoming_id(request) -> str:
    supplied = request.headers.get("X-Request-Id", "")
    return supplied if _VALID_ID.match(supplied) else uuid.uuid4().hex


class RequestContextMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def _start(self, request):
        request.request_id = _incoming_id(request)
        return request_id_var.set(request.request_id), time.perf_counter()

    def _finish(self, request, response, token, started):
        response["X-Request-Id"] = request.request_id
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "<unmatched>"
        metrics.observe_request(request.method, route, response.status_code, time.perf_counter() - started)
        request_id_var.reset(token)
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        token, started = self._start(request)
        return self._finish(request, self.get_response(request), token, started)

    async def __acall__(self, request):
        token, started = self._start(request)
        response = await self.get_response(request)
        return self._finish(request, response, token, started)
