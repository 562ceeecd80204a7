"""Dates and times SchedKit accepts from outside, in one place (SPEC §2: bad input is a 4xx).

A date in 1970–2999 and a UTC offset within ±15:59 (PostgreSQL's own limit): the arithmetic
around a value (the day before, a zone shift, a slot's end) can then never overflow into a
500, nor a query meet a timestamp the database refuses. Used by the DRF fields below, the
model serializers' default mapping (schedkit.api.serializers), the public pages' forms and the
query parsers of the schedule and slot views."""

from datetime import date, datetime, timedelta

from django import forms
from rest_framework import serializers

MIN_YEAR, MAX_YEAR = 1970, 2999
MAX_OFFSET = timedelta(hours=15, minutes=59)
RANGE_MESSAGE = f"A date between {MIN_YEAR} and {MAX_YEAR}."
OFFSET_MESSAGE = "A UTC offset within ±15:59."


def moment_problem(value: date | datetime) -> str | None:
    """Why a parsed date or date-time is refused, or None when it is fine."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        return RANGE_MESSAGE
    if isinstance(value, datetime) and value.tzinfo is not None:
        offset = value.utcoffset()
        if offset is not None and abs(offset) > MAX_OFFSET:
            return OFFSET_MESSAGE
    return None


def parse_day(value: str | None) -> date | None:
    """A `YYYY-MM-DD` in range, or None (absent, malformed or out of range)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return None
    return None if moment_problem(day) else day


class BoundedDateField(serializers.DateField):
    default_error_messages = {"range": RANGE_MESSAGE}

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        if moment_problem(value):
            self.fail("range")
        return value


class BoundedDateTimeField(serializers.DateTimeField):
    default_error_messages = {"range": RANGE_MESSAGE, "offset": OFFSET_MESSAGE}

    def to_internal_value(self, value):
        value = super().to_internal_value(value)
        problem = moment_problem(value)
        if problem:
            self.fail("range" if problem == RANGE_MESSAGE else "offset")
        return value

    def enforce_timezone(self, value):
        if isinstance(value, datetime) and value.tzinfo is not None and moment_problem(value) == OFFSET_MESSAGE:
            self.fail("offset")
        return super().enforce_timezone(value)


class BoundedFormDateTimeField(forms.DateTimeField):
    """The same bounds for Django forms (the public booking pages)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None:
            problem = moment_problem(value)
            if problem:
                raise forms.ValidationError(problem, code="range")
        return value
