"""Template side of schedkit.display: `{% load schedkit_time %}` then
`{{ dt|when }}`, `{{ dt|when:zone }}`, `{{ dt|when_time:zone }}`, `{{ value|label }}`,
`{{ entry|activity_line:names }}`, `{{ entry|activity_actor }}`."""

from django import template

import schedkit.display as display

register = template.Library()


@register.filter
def when(value, tz=None):
    return display.format_when(value, tz or None)


@register.filter
def when_time(value, tz=None):
    return display.format_when(value, tz or None, "time")


@register.filter
def when_date(value, tz=None):
    return display.format_when(value, tz or None, "date")


@register.filter
def label(value):
    return display.label(value)


@register.filter
def activity_line(entry, names):
    return display.activity_text(entry, names or {})


@register.filter
def activity_actor(entry):
    return display.actor_name(entry)


@register.filter
def person(user):
    return display.person_name(user)
