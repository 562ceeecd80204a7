"""Django's ASGI handler with one thread hop per request for sync views.

Under Django's stock ASGIHandler every request of a sync view pays a thread hop per
`MiddlewareMixin` middleware (each `process_request`/`process_response` runs through
`sync_to_async`), one for the view, one for `request_started`/`request_finished` receivers and
one for `response.close()` — and all of them queue on the process's single thread-sensitive
thread. Profiled under load (bench/README.md) that is most of the cost of /healthz on uvicorn.

This handler resolves the path first: async views (the SSE stream) keep Django's async path;
everything else runs the *sync* middleware chain, the view and the response's close in one
call on a small worker pool — what a WSGI thread does — and only the sending stays on the
event loop. Database connections are opened, reused and returned by the usual
`request_started`/`request_finished` signals, in the worker thread that used them.
"""

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse
from django.urls import Resolver404, get_resolver, set_script_prefix


class _SyncChain(BaseHandler):
    def __init__(self):
        super().__init__()
        self.load_middleware(is_async=False)


class SchedKitASGIHandler(ASGIHandler):
    def __init__(self, threads: int):
        super().__init__()
        self._sync = _SyncChain()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http-sync")

    @functools.lru_cache(maxsize=4096)  # noqa: B019 — one handler per process, paths are few shapes
    def _is_async_view(self, path: str) -> bool:
        try:
            match = get_resolver().resolve(path)
        except Resolver404:
            return False
        return iscoroutinefunction(match.func)

    async def handle(self, scope, receive, send):
        if self._is_async_view(scope["path"]):
            return await super().handle(scope, receive, send)
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        loop = asyncio.get_running_loop()
        try:
            if request is None:
                response = error_response
            else:
                # A fresh context, as in a WSGI thread: copying the loop's would hand asgiref's
                # thread-sensitive state to this thread (async_to_sync in a view then deadlocks).
                response = await loop.run_in_executor(self._executor, self._respond, request)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:  # client went away while we were sending
                pass
            if response.streaming or request is None:
                await loop.run_in_executor(self._executor, response.close)
        finally:
            body_file.close()

    def _respond(self, request):
        """In a worker thread: what Django's WSGIHandler does for one request."""
        set_script_prefix(request.META.get("SCRIPT_NAME") or "/")
        signals.request_started.send(sender=self.__class__, environ=request.META)
        response = self._sync.get_response(request)
        response._handler_class = self.__class__
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            response.close()  # request_finished: this thread's connections go back
        return response


def sync_threads() -> int:
    """Worker threads per process: 1 on SQLite (one writer at a time anyway), else 2."""
    default = 1 if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2
    return getattr(settings, "ASGI_SYNC_THREADS", None) or default
