"""Every routed API endpoint, discovered from the URLconf (used by the permission and
tenancy checks, so new endpoints are covered the moment they are routed)."""

from dataclasses import dataclass

from django.urls import URLResolver, get_resolver
from rest_framework.views import APIView

API_PREFIXES = ("v1/", "admin/v1/")


@dataclass
class Route:
    route: str
    name: str
    cls: type
    actions: dict | None  # viewsets: {"get": "list", ...}; plain APIViews: None
    kwarg_names: tuple[str, ...]

    @property
    def methods_and_actions(self) -> list[tuple[str, str]]:
        if self.actions is not None:
            return [(m, a) for m, a in self.actions.items() if m not in ("head", "options")]
        return [(m, m) for m in self.cls.http_method_names if m not in ("head", "options") and hasattr(self.cls, m)]

    def __str__(self):
        return self.route


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def api_routes() -> list[Route]:
    routes = []
    for route, pattern in _walk(get_resolver().url_patterns):
        route = route.replace("^", "").replace("$", "")
        cls = getattr(pattern.callback, "cls", None)
        if cls is None or not issubclass(cls, APIView) or not route.startswith(API_PREFIXES):
            continue
        routes.append(
            Route(
                route=route,
                name=pattern.name,
                cls=cls,
                actions=getattr(pattern.callback, "actions", None),
                kwarg_names=tuple(pattern.pattern.regex.groupindex),
            )
        )
    return routes
