"""drf-spectacular postprocessing hook: documents GET /v1/events/stream and its documented
alias /v1/signals/stream, the SSE endpoint (apps/events/stream.py), a plain async Django view
(DRF cannot stream asynchronously) that the schema generator does not see. Listed in
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] as "apps.events.openapi.add_event_stream"."""

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


STREAM_OPERATION = {
    "tags": ["v1"],
    "summary": "The org's live events as Server-Sent Events",
    "description": (
        'EventSource compatible. The first frame is `retry: 3000` with `data: {"type":"connected"}`; then '
        "one frame per domain event of the org (signals, beacons, incidents, bookings …): `id: <event id>` "
        "and `data: <envelope JSON>` with the envelope `{id, type, org, ts, data}`. An idle stream gets a "
        "`: ping` comment every 25 s. Send `Last-Event-ID` (header, or `?last_event_id=`) to first replay "
        "the persisted events newer than that id. An `access.revoked` event naming the caller's API key "
        "or membership ends the stream. Session or API key; sessions choose the org with `X-Org` or `?org=`."
    ),
    "parameters": [
        {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string", "format": "uuid"}},
        {"name": "last_event_id", "in": "query", "required": False, "schema": {"type": "string", "format": "uuid"}},
        {"name": "org", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "X-Org", "in": "header", "required": False, "schema": {"type": "string"}},
    ],
    "responses": {
        "200": {
            "description": "An endless text/event-stream",
            "headers": {
                "Cache-Control": {"schema": {"type": "string", "enum": ["no-cache"]}},
                "X-Accel-Buffering": {"schema": {"type": "string", "enum": ["no"]}},
            },
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        "400": _problem("INVALID_LAST_EVENT_ID, ORG_REQUIRED or ORG_AMBIGUOUS"),
        "401": _problem("NOT_AUTHENTICATED or AUTHENTICATION_FAILED"),
        "404": _problem("ORG_NOT_FOUND"),
    },
}


STREAM_PATHS = {"/v1/events/stream": "v1_events_stream", "/v1/signals/stream": "v1_signals_stream"}


def add_event_stream(result, generator, request, public):
    paths = result.setdefault("paths", {})
    for path, operation_id in STREAM_PATHS.items():
        operation = {**STREAM_OPERATION, "operationId": operation_id, "security": [{"apiKey": []}, {"cookieAuth": []}]}
        paths[path] = {"get": operation}
    return result
