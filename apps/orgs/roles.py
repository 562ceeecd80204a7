"""Role sets used by every view's permission declarations (SPEC §2)."""

from apps.orgs.models import Role

PUBLIC = "public"  # no authentication at all
AUTHENTICATED = "authenticated"  # any signed-in user, no org needed

OWNER = frozenset({Role.OWNER})
ADMINS = frozenset({Role.OWNER, Role.ADMIN})
MANAGERS = ADMINS | {Role.MANAGER}
SCHEDULERS = MANAGERS | {Role.SCHEDULER}
FRONTDESK = MANAGERS | {Role.SCHEDULER, Role.FRONTDESK}
# The admin API (/admin/v1/...) requires admin, manager or frontdesk (owner implied).
ADMIN_API = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER, Role.FRONTDESK})
ANY_MEMBER = frozenset(Role.values)
