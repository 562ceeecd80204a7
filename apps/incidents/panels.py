"""Panels a higher app adds to the war room (the live map, from apps.signals): a registry, so
incidents never imports up. A panel is `fn(request, actor) -> dict | None` (None: not for this
actor) with "template" and "context", and the static "styles"/"scripts" it needs (loaded once
per page, after the page's own); the higher app registers it in its AppConfig.ready()."""

from collections.abc import Callable

from django.template.loader import render_to_string

Panel = Callable[..., dict | None]
_war_room_panels: list[Panel] = []


def register_war_room_panel(fn: Panel) -> Panel:
    if fn not in _war_room_panels:
        _war_room_panels.append(fn)
    return fn


def war_room_panels(request, actor) -> list[dict]:
    """The registered panels for this actor: {"html", "styles", "scripts"}, in registration order."""
    rendered = []
    for fn in _war_room_panels:
        panel = fn(request, actor)
        if panel:
            rendered.append(
                {
                    "html": render_to_string(panel["template"], panel["context"], request=request),
                    "styles": list(panel.get("styles", ())),
                    "scripts": list(panel.get("scripts", ())),
                }
            )
    return rendered


def assets(*lists) -> list[str]:
    """Static paths in first-seen order, each once (a page and its panels share Leaflet)."""
    seen: dict[str, None] = {}
    for paths in lists:
        for path in paths:
            seen.setdefault(path, None)
    return list(seen)
