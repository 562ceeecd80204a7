"""The org-isolation harness's registry.

Every org-owned model that an API endpoint serves registers a factory here (see
tests/factories.py): `@tenancy.register(Team, url_kwargs=lambda t: {"team_slug": t.slug})`.
tests/test_tenancy.py then walks *every* routed API endpoint and proves that a member of
another org gets 404 for each object and never sees it in a list. An endpoint whose model
is not registered fails that test, so a new app cannot forget to join."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models


@dataclass
class Registration:
    factory: Callable  # (org) -> instance of org
    url_kwargs: Callable  # (instance) -> extra URL kwargs (parent slugs) for nested routes


REGISTRY: dict[type[models.Model], Registration] = {}


def register(model, url_kwargs: Callable | None = None):
    def decorator(factory):
        REGISTRY[model] = Registration(factory=factory, url_kwargs=url_kwargs or (lambda obj: {}))
        return factory

    return decorator
