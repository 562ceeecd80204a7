"""The one JSON parser for every request body (DRF's parser and the views that read JSON
themselves): strict UTF-8, a nesting limit checked *before* the recursive parse, no NaN or
Infinity, and no NUL or lone surrogate in any key or string (PostgreSQL cannot store them,
and a lone surrogate cannot even be encoded back into the response). Each refusal is a
`MalformedJSON` (a ValueError), which DRF views answer as 400 MALFORMED_REQUEST."""

import codecs
import json
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

DEFAULT_MAX_DEPTH = 32
_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKETS = re.compile(r"[^\[\]{}]+")
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class MalformedJSON(ValueError):
    pass


class JSONObject(dict):
    """A JSON object from a request body: typed values (schedkit.api.serializers checks them
    against the fields, which it cannot do for query strings or form data)."""


def max_depth() -> int:
    return getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def _check_depth(text: str, limit: int) -> None:
    if text.count("[") + text.count("{") <= limit:
        return  # fast path: too few brackets to nest that deep
    depth = 0
    for char in _BRACKETS.sub("", _STRINGS.sub("", text)):
        if char in "[{":
            depth += 1
            if depth > limit:
                raise MalformedJSON(f"JSON nested deeper than {limit} levels.")
        else:
            depth -= 1


def _check_strings(value) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _BAD_CHARS.search(item):
                raise MalformedJSON("JSON strings must not hold NUL characters or lone surrogates.")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _reject_constant(name):
    raise MalformedJSON(f"{name} is not JSON.")


def loads(data: bytes | str):
    """Parse a request body; raises MalformedJSON for anything SchedKit will not store."""
    if isinstance(data, bytes | bytearray):
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedJSON("The body is not valid UTF-8.") from None
    _check_depth(data, max_depth())
    try:
        value = json.loads(data, parse_constant=_reject_constant, object_pairs_hook=JSONObject)
    except RecursionError:  # belt and braces: the depth check should have refused it
        raise MalformedJSON("JSON nested too deeply.") from None
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"JSON parse error: {exc}") from None
    _check_strings(value)
    return value


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return loads(stream.read() if stream is not None else b"")
        except MalformedJSON as exc:
            raise ParseError(str(exc)) from None
