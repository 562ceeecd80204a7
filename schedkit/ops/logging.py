"""Structured logs: one JSON object per line, the request id on every line, and emails and
phone numbers masked before anything is written."""

import json
import logging
import re
from datetime import UTC, datetime

from schedkit.ops.context import request_id_var

EMAIL_RE = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# International or local phone numbers: 7+ digits with optional separators / leading +.
PHONE_RE = re.compile(r"(?<![\w-])\+?\d[\d\s().-]{5,}\d(?![\w-])")


def mask_pii(text: str) -> str:
    text = EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return PHONE_RE.sub(lambda m: _mask_phone(m.group(0)), text)


ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _mask_phone(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 7 or ISO_DATE_RE.match(raw):  # short numbers and dates are not phone numbers
        return raw
    return f"***{digits[-2:]}"


class RequestContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get() or "-"
        return True


class MaskPIIFilter(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        masked = mask_pii(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record):
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if record.exc_info:
            payload["exc"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)
