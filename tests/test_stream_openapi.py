"""The SSE endpoint is documented through a postprocessing hook (it is not a DRF view)."""

from django.conf import settings
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.validation import validate_schema

from apps.events.openapi import add_event_stream


def test_stream_is_documented_and_the_schema_stays_valid():
    hooks = [h for h in settings.SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] if not h.endswith("add_event_stream")]
    with patched_settings({"POSTPROCESSING_HOOKS": [*hooks, "apps.events.openapi.add_event_stream"]}):
        schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/v1/signals/stream", "/v1/events/stream"):
        stream = schema["paths"][path]["get"]
        assert "text/event-stream" in stream["responses"]["200"]["content"]
        assert {"400", "401", "404"} <= set(stream["responses"])
    validate_schema(schema)
    assert add_event_stream({"paths": {}}, None, None, True)["paths"]["/v1/signals/stream"]
