"""Create the bare reference's table in the bench database and fill it (idempotent)."""

import os
from datetime import UTC, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare.settings")
django.setup()

from django.db import connection  # noqa: E402

from bare.models import Item  # noqa: E402

with connection.schema_editor() as editor:
    if Item._meta.db_table not in connection.introspection.table_names():
        editor.create_model(Item)
Item.objects.all().delete()
base = datetime(2026, 1, 1, tzinfo=UTC)
Item.objects.bulk_create(
    Item(group=i % 4, name=f"Person {i}", email=f"person{i}@bare.local", role="member", created_at=base + timedelta(i))
    for i in range(200)
)
with connection.cursor() as cursor:
    cursor.execute(f"ANALYZE {Item._meta.db_table}")
print("bare items:", Item.objects.count())
