"""Per-action permission declarations. Every API view declares, for each of its actions, who
may call it: PUBLIC, AUTHENTICATED, or a set of org roles. An undeclared action is refused
loudly (ImproperlyConfigured) and tests/test_permissions_declared.py walks every route so
such a view never ships. OPTIONS (DRF's implicit `metadata` action) is metadata about the
route, not an action on data: it is allowed to everyone and answers 204 with `Allow`."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission

from apps.orgs.roles import AUTHENTICATED, PUBLIC


def view_action(view, request) -> str:
    method = request.method.lower()
    return getattr(view, "action", None) or ("get" if method == "head" else method)


def declared_roles(view, action: str):
    declarations = getattr(view, "action_roles", None)
    if declarations is None or action not in declarations:
        raise ImproperlyConfigured(f"{type(view).__name__} does not declare who may call action {action!r}")
    return declarations[action]


def handles_method(view, request) -> bool:
    if hasattr(view, "action_map"):  # a viewset: only routed methods have an action
        return getattr(view, "action", None) is not None
    return request.method.lower() in view.http_method_names and hasattr(view, request.method.lower())


IMPLICIT_ACTIONS = frozenset({"options", "metadata"})


class DeclaredRolePermission(BasePermission):
    def has_permission(self, request, view):
        if request.method == "OPTIONS" or view_action(view, request) in IMPLICIT_ACTIONS:
            return True
        if not handles_method(view, request):
            return True  # dispatch answers 405 METHOD_NOT_ALLOWED
        roles = declared_roles(view, view_action(view, request))
        if roles == PUBLIC:
            return True
        if not request.user or not request.user.is_authenticated:
            raise NotAuthenticated()
        if roles == AUTHENTICATED:
            return True
        actor = getattr(request, "actor", None)
        if actor is None or actor.role not in roles:
            allowed = ", ".join(sorted(roles))
            raise PermissionDenied(f"This action requires one of the roles: {allowed}.")
        return True
