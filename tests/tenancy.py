"""The org-isolation harness's tools: org A's rows as one fingerprint, and the factories
registry.

`OrgSnapshot(org)` fingerprints every row that belongs to an org — each table with an `org`
column, the many-to-many and child tables hanging off them, the org row and its members'
user rows — in one SQL query (one md5 per table), so tests/test_tenancy.py can prove after
every foreign call that nothing of org A changed, and name the table that did.

The registry: every org-owned model that an API endpoint serves registers a factory
(`@tenancy.register(Team, url_kwargs=lambda t: {"team_slug": t.slug})` in
tests/<app>/factories.py); tests/test_tenancy.py fails for a served model without one."""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, models

from apps.orgs.models import Org


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


# --- org A's rows, fingerprinted ------------------------------------------------------------


def _org_owned(model) -> bool:
    return any(f.name == "org" and f.is_relation and f.related_model is Org for f in model._meta.concrete_fields)


def _scopes() -> dict[str, str]:
    """table → SQL condition (with %(org)s) selecting the rows of one org."""
    q = connection.ops.quote_name
    scopes = {q(Org._meta.db_table): f"{q(Org._meta.pk.column)} = %(org)s"}
    owned = [m for m in apps.get_models(include_auto_created=True) if _org_owned(m)]
    owned_tables = {m: m._meta.db_table for m in owned}
    for model in owned:
        scopes[q(model._meta.db_table)] = f"{q('org_id')} = %(org)s"
    membership = apps.get_model("orgs", "Membership")
    user = apps.get_model(*membership._meta.get_field("user").related_model._meta.label.split("."))
    scopes[q(user._meta.db_table)] = (
        f"{q(user._meta.pk.column)} IN (SELECT user_id FROM {q(membership._meta.db_table)} WHERE org_id = %(org)s)"
    )
    for model in apps.get_models(include_auto_created=True):
        table = q(model._meta.db_table)
        if table in scopes:
            continue
        parents = [
            f
            for f in model._meta.concrete_fields
            if f.is_relation and f.many_to_one and f.related_model in owned_tables and not f.null
        ]
        if parents:  # child rows (m2m links, overrides, attempts …) of org-owned rows
            f = parents[0]
            scopes[table] = (
                f"{q(f.column)} IN (SELECT {q(f.related_model._meta.pk.column)} "
                f"FROM {q(owned_tables[f.related_model])} WHERE org_id = %(org)s)"
            )
    return scopes


class OrgSnapshot:
    """md5 of every table's rows of one org, in one query; `diff(other)` names what changed."""

    def __init__(self, org):
        self.org_id = org.pk if hasattr(org, "pk") else org
        scopes = _scopes()
        selects = ", ".join(
            f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t WHERE {cond})"
            for table, cond in scopes.items()
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {selects}", {"org": self.org_id})  # noqa: S608 - table names from the models
            self.hashes = dict(zip(scopes, cursor.fetchone(), strict=True))

    def changed_since(self, before: "OrgSnapshot") -> list[str]:
        return sorted(t.strip('"') for t, h in self.hashes.items() if before.hashes.get(t) != h)


def org_ids(org) -> set[str]:
    """Every primary key of the org's rows, as strings: none may appear in another org's answers."""
    found = set()
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if _org_owned(model):
                cursor.execute(
                    f"SELECT {connection.ops.quote_name(model._meta.pk.column)}::text "  # noqa: S608
                    f"FROM {connection.ops.quote_name(model._meta.db_table)} WHERE org_id = %s",
                    [org.pk],
                )
                found.update(row[0] for row in cursor.fetchall())
    return found
