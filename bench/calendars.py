"""Host slots with Google Calendar connections (run it through `bench/run calendars`).

In-process on PostgreSQL (its own database schedkit_bench_calendars, recreated each run): a
team of 10 people with weekday availability and a round-robin team event type. Measures
GET /v1/slots/{org}/{team}/{event}?date=… (Django test client, whole stack) p50/p99 over
BENCH_CALENDARS_ROUNDS interleaved pairs of calls: every member connected to the local fake
Google (tests/calendars/fake_google.py) holding 500 busy events each over the month, synced
once (the cache warm), against the same people with their connections switched off. Prints
the p99 ratio and how many requests the fake received during the slot requests (goal: p99
within 20 %, zero calls to Google).
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "schedkit_bench_calendars"
os.environ.update(
    DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL")
    or f"{os.environ.get('BENCH_REDIS', 'redis://127.0.0.1:6379')}/{os.environ.get('BENCH_REDIS_DB', '9')}",
    REDIS_KEY_PREFIX="bench-calendars",
    SECRET_KEY="bench-secret-key",
    LOG_LEVEL="WARNING",
    DB_POOL="false",
    DJANGO_SETTINGS_MODULE="schedkit.settings",
    OAUTHLIB_INSECURE_TRANSPORT="1",
    THROTTLE_ANON="100000000/min",
)
ROUNDS = int(os.environ.get("BENCH_CALENDARS_ROUNDS", "200"))
TEAM, EVENTS = 10, 500


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def main() -> None:
    _recreate_database()
    from tests.calendars.fake_google import CLIENT_ID, CLIENT_SECRET, FakeGoogle

    fake = FakeGoogle()
    os.environ.update(
        GOOGLE_OAUTH_CLIENT_ID=CLIENT_ID,
        GOOGLE_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
        GOOGLE_OAUTH_TOKEN_URI=f"{fake.base}/token",
        GOOGLE_OAUTH_REVOKE_URI=f"{fake.base}/revoke",
        GOOGLE_CALENDAR_API_ENDPOINT=f"{fake.base}/calendar/v3/",
        GOOGLE_BUSY_HORIZON_DAYS="40",
    )
    import django

    django.setup()
    from datetime import datetime, timedelta
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from apps.accounts.models import User
    from apps.bookings.models import EventType
    from apps.calendars import services
    from apps.calendars.models import CalendarConnection, ConnectedCalendar
    from apps.orgs.models import Membership, Org, Team, TeamMember
    from apps.scheduling.models import AvailabilityRule, Location, Person

    call_command("migrate", verbosity=0)
    berlin = ZoneInfo("Europe/Berlin")
    org = Org.objects.create(slug="bench", name="Bench", timezone="Europe/Berlin")
    location = Location.objects.create(org=org, name="Base", timezone="Europe/Berlin")
    team = Team.objects.create(org=org, slug="crew", name="Crew")
    people = []
    for n in range(TEAM):
        user = User.objects.create(email=f"c{n}@bench.test", username=f"c{n}")
        membership = Membership.objects.create(org=org, user=user, role="member")
        person = Person.objects.create(org=org, membership=membership, location=location, name=f"C{n}")
        AvailabilityRule.objects.create(
            org=org,
            location=location,
            person=person,
            rule_kind="WEEKLY",
            days_of_week=[1, 2, 3, 4, 5, 6, 7],
            start_time=dtime(8),
            end_time=dtime(18),
        )
        TeamMember.objects.create(org=org, team=team, membership=membership)
        people.append(person)
    EventType.objects.create(org=org, team=team, slug="visit", title="Visit", duration_minutes=30)
    day = (datetime.now(berlin) + timedelta(days=3)).date()
    path = f"/v1/slots/bench/crew/visit?date={day.isoformat()}"
    client = Client()

    def one() -> float:
        t0 = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, response.content
        return elapsed

    def stats(samples):
        samples = sorted(samples)
        return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]

    rng = random.Random(15)
    month_start = datetime.combine(day - timedelta(days=3), dtime(0), tzinfo=berlin)
    for person in people:
        calendar_id = f"{person.membership_id}@example.test"
        fake.busy[calendar_id] = sorted(
            (s, s + timedelta(minutes=30))
            for s in (month_start + timedelta(minutes=30 * rng.randrange(30 * 48)) for _ in range(EVENTS))
        )
        refresh = f"1//r-{person.membership_id.hex}"
        fake.refresh.add(refresh)
        conn = CalendarConnection(org=org, membership=person.membership, status="active")
        conn.refresh_token, conn.access_token = refresh, fake._issue(refresh)
        conn.token_expires_at = datetime.now(berlin) + timedelta(hours=1)
        conn.save()
        fake.calendars = [{"id": calendar_id, "summary": "Me", "primary": True, "accessRole": "owner"}]
        ConnectedCalendar.objects.create(
            org=org, connection=conn, calendar_id=calendar_id, primary=True, check_conflicts=True
        )
        assert services.connection_sync(connection_id=conn.pk) == "active"
    from apps.calendars.models import BusyBlock

    cached = BusyBlock.objects.count()
    # Planner statistics, as autovacuum keeps them on a live table: measured without, the
    # freshly bulk-loaded table is planned as empty (a bitmap AND of the org and membership
    # FK indexes, 5,000 rows rechecked: ~11 ms) instead of a range on (membership, start).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    # Interleaved A/B rounds (the machine is shared: noise hits both sides alike). "Without"
    # is the same people with their connections switched off (their busy time not read).
    connections = CalendarConnection.objects.filter(org=org)
    without, with_, calls = [], [], 0
    client.get(path)
    for _ in range(ROUNDS):
        connections.update(status="needs_reconsent")
        without.append(one())
        connections.update(status="active")
        before = len(fake.requests)
        with_.append(one())
        calls += len(fake.requests) - before
    slots_with = len(client.get(path).json()["slots"])
    connections.update(status="needs_reconsent")
    slots_without = len(client.get(path).json()["slots"])
    base_p50, base_p99 = stats(without)
    p50, p99 = stats(with_)
    fake.stop()
    print(f"\n== team host slots: {TEAM} people, one day ({ROUNDS} rounds, in-process test client)")
    print(f"   without connections         p50 {base_p50:7.2f} ms   p99 {base_p99:7.2f} ms   slots {slots_without}")
    print(f"   with {EVENTS} Google busy/month  p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   slots {slots_with}")
    print(f"   p99 ratio                   ×{p99 / base_p99:.2f}   (goal ≤ ×1.20)")
    print(f"   busy blocks cached          {cached}")
    print(f"   calls to Google during the {ROUNDS} connected slot requests: {calls}   (goal 0)")
    connection.close()


if __name__ == "__main__":
    main()
