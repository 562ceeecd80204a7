"""The API's JSON renderer: DRF's JSONRenderer output, encoded by orjson.

A 7,000-instance month view is 4 MB of JSON; the stdlib encoder spends tens of
milliseconds on it, orjson a few. Anything orjson does not encode the way DRF does
(datetimes: DRF writes `Z` for UTC; Decimal, lazy strings, querysets, timedeltas …) goes
through DRF's own encoder, so the bytes are DRF's. A client asking for `; indent=N` gets
DRF's renderer unchanged. One difference: a float NaN/Infinity becomes null where DRF's
strict mode would raise (no SchedKit field holds one)."""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder


class EncodedJSON:
    """A value that is already encoded JSON (bytes), embedded as it is: e.g. a cached window
    of thousands of rows, encoded once."""

    __slots__ = ("json",)

    def __init__(self, json: bytes):
        self.json = json


class _Encoder(JSONEncoder):
    """DRF's encoder, plus EncodedJSON (for the indent path, which DRF's renderer serves)."""

    def default(self, obj):
        if isinstance(obj, EncodedJSON):
            return orjson.loads(obj.json)
        return super().default(obj)


def _default(obj):
    if isinstance(obj, EncodedJSON):
        return orjson.Fragment(obj.json)
    return _drf.default(obj)


_drf = _Encoder()
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class ORJSONRenderer(JSONRenderer):
    encoder_class = _Encoder

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=_default, option=_OPTIONS)
        except orjson.JSONEncodeError:  # ints beyond 64 bits …: DRF decides (and raises as DRF would)
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80\xa8" in out or b"\xe2\x80\xa9" in out:  # as DRF: safe inside <script>
            out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
        return out
