"""drf-spectacular postprocessing hook: documents GET /v1/signals/stream, the SSE endpoint
that is a plain async Django view (DRF cannot stream asynchronously), so the schema
generator does not see it. Add "apps.signals.openapi.add_signal_stream" to
SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]."""

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": PROBLEM}}}


STREAM_OPERATION = {
    "operationId": "v1_signals_stream",
    "tags": ["v1"],
    "summary": "The org's live events as Server-Sent Events",
    "description": (
        'EventSource compatible. The first frame is `data: {"type":"connected"}`; then one frame per '
        "domain event of the org (signals, beacons, incidents, bookings …): `id: <event id>` and "
        "`data: <envelope JSON>` with the envelope `{id, type, org, ts, data}`. An idle stream gets a "
        "`: ping` comment every 25 s. Send `Last-Event-ID` (header, or `?last_event_id=`) to first replay "
        "the persisted events newer than that id. Session or API key; sessions choose the org with "
        "`X-Org` or `?org=`."
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


def add_signal_stream(result, generator, request, public):
    operation = {**STREAM_OPERATION, "security": [{"apiKey": []}, {"cookieAuth": []}]}
    result.setdefault("paths", {})["/v1/signals/stream"] = {"get": operation}
    return result
