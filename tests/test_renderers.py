"""The API's orjson renderer writes what DRF's JSONRenderer writes."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from schedkit.renderers import EncodedJSON, ORJSONRenderer

DATA = {
    "id": uuid.UUID("01900000-0000-7000-8000-000000000001"),
    "at": datetime(2026, 3, 1, 9, 30, 0, 123000, tzinfo=UTC),
    "local": datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=2))),
    "amount": Decimal("12.50"),
    "label": gettext_lazy("Permission denied"),
    "text": "naïve — \u2028 line separator",
    "nested": [{"n": 1, "f": 0.5, "none": None, "flag": True}],
    7: "int key",
}


def test_same_json_as_drf():
    ours = ORJSONRenderer().render(DATA, "application/json")
    drf = JSONRenderer().render(DATA, "application/json")
    assert orjson.loads(ours) == orjson.loads(drf)
    assert b"\\u2028" in ours and "\u2028".encode() not in ours  # safe inside <script>, as DRF


def test_indent_and_encoded_json():
    data = {"count": 1, "results": EncodedJSON(b'[{"a":1}]')}
    assert orjson.loads(ORJSONRenderer().render(data, "application/json")) == {"count": 1, "results": [{"a": 1}]}
    indented = ORJSONRenderer().render(data, "application/json; indent=2", {"indent": 2})
    assert indented.startswith(b"{\n  ") and orjson.loads(indented)["results"] == [{"a": 1}]
    assert ORJSONRenderer().render(None) == b""
