"""The base every SchedKit table inherits: a UUIDv7 primary key and UTC timestamps; and the
way a long set of ids is bound in a query."""

from django.db import connection, models
from django.db.models.expressions import RawSQL

from schedkit.ids import uuid7


class BaseModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def id_set(ids):
    """A set of ids for `field__in=`: on PostgreSQL bound as one array parameter (`IN (SELECT
    unnest(%s::uuid[]))`) instead of one parameter per id, which the ORM prepares and the
    client-side cursor quotes one by one (a ranking of 500 people binds thousands); elsewhere
    the plain list."""
    ids = [str(i) for i in ids]
    if connection.vendor != "postgresql":
        return ids
    return RawSQL("SELECT unnest(%s::uuid[])", ["{" + ",".join(ids) + "}"])
