"""PostgreSQL only: a person is never double-booked. Overlapping active bookings of one
person must share a seat_group (the same slot or event-type time with several seats).
SQLite (the embedded default) skips this; the booking services check under a transaction."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE bookings_booking ADD CONSTRAINT booking_person_no_overlap EXCLUDE USING gist (
    person_id WITH =,
    tstzrange(start_at, end_at, '[)') WITH &&,
    seat_group WITH <>
) WHERE (person_id IS NOT NULL AND status IN ('held', 'pending', 'confirmed'));
"""
DROP = "ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS booking_person_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("bookings", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
