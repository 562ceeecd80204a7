"""The incidents app's notion of "now": one settable function, so SLA time can be travelled
in tests without patching Django (tests set `clock.now = lambda: …` and restore it)."""

from django.utils import timezone

now = timezone.now
