"""SchedKit settings: every value comes from an environment variable (README lists them).

With no variables at all this is the *embedded default* (SQLite, in-memory channel layer,
local-memory cache, Celery on an in-process broker with an in-process worker and beat).
Setting DATABASE_URL and REDIS_URL switches to the production topology; no code path differs.
"""

from .api import *  # noqa: F401,F403
from .base import *  # noqa: F401,F403
from .bookings import *  # noqa: F401,F403
from .calendars import *  # noqa: F401,F403
from .celery import *  # noqa: F401,F403
from .delivery import *  # noqa: F401,F403
from .email import *  # noqa: F401,F403
from .logging import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from .runtime import *  # noqa: F401,F403
from .signals import *  # noqa: F401,F403
