"""What higher apps want to hear about access changes in an org, without orgs importing
them: they register in their AppConfig.ready() (accounts forgets cached API keys)."""

from collections.abc import Callable

AccessHook = Callable[..., None]
_hooks: list[AccessHook] = []


def on_access_changed(fn: AccessHook) -> AccessHook:
    """Register fn(*, org_id, user_id=None): a member's role or membership changed, or the org."""
    if fn not in _hooks:
        _hooks.append(fn)
    return fn


def access_changed(*, org_id, user_id=None) -> None:
    for fn in _hooks:
        fn(org_id=org_id, user_id=user_id)
