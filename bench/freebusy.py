"""The free/busy query (run it through `bench/run freebusy`).

In-process on the production database engine (PostgreSQL, its own database
schedkit_bench_freebusy, recreated each run): 50 people, each with weekly availability,
20 recurring schedule masters (daily / weekdays / weekly, some with moved or cancelled
occurrences) and 100 bookings around the measured week. Measures `free_busy()` for all 50
people over one week: p50/p99 over BENCH_FREEBUSY_ROUNDS calls, the query count (for 1, 10
and 50 people: it must not grow), and beside it the bare reference of the same process — one
indexed primary-key query — so the figure reads as "N bare queries' worth".

Three figures (the stable part is kept per process under the org's time version,
apps/scheduling/time_version.py): warm — the token unchanged since the last call, the
repeated read; cold — the token bumped before each call, the first read after a write (the
bump is outside the timed span); fresh — `fresh=True`, the checks under a person-time lock.
Queries: per warm call (plus one cache GET of the token) and per fresh call.

Goal (issue 11): p99 ≤ 30 ms for 50 people over a week; queries independent of people.
Last measured (bench/README.md, Free/busy, session 4; load average ~2.5 on 2 cores): warm
p50 4.89 / p99 7.34 ms (1 query + 1 cache GET), cold p50 26.41 / p99 30.63 ms, fresh p50 25.78
/ p99 29.14 ms (4 queries for 1, 10 and 50 people); before the time version p50 30.72 / p99
47.97 ms at load ~0.3–1.2.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = os.environ.get("BENCH_DB_PREFIX", "schedkit_bench") + "_freebusy"
os.environ.update(
    DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL")
    or f"{os.environ.get('BENCH_REDIS', 'redis://127.0.0.1:6379')}/{os.environ.get('BENCH_REDIS_DB', '9')}",
    REDIS_KEY_PREFIX="bench-freebusy",
    SECRET_KEY="bench-secret-key",
    LOG_LEVEL="WARNING",
    DB_POOL="false",
    DJANGO_SETTINGS_MODULE="schedkit.settings",
)
ROUNDS = int(os.environ.get("BENCH_FREEBUSY_ROUNDS", "50"))
PEOPLE, MASTERS, BOOKINGS = 50, 20, 100


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _seed():
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from apps.accounts.models import User
    from apps.bookings.models import Booking
    from apps.orgs.models import Membership, Org
    from apps.scheduling import services
    from apps.scheduling.models import AvailabilityRule, Location, Person, ScheduleOverride

    berlin = ZoneInfo("Europe/Berlin")
    org = Org.objects.create(slug="bench", name="Bench", timezone="Europe/Berlin")
    location = Location.objects.create(org=org, name="Base", timezone="Europe/Berlin")
    monday = datetime.now(berlin).date() + timedelta(days=7 - datetime.now(berlin).weekday())
    week_start = datetime.combine(monday, time.min, tzinfo=berlin)
    rules = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=DAILY;INTERVAL=2"]
    people = []
    for n in range(PEOPLE):
        user = User.objects.create(email=f"p{n}@bench.test", username=f"p{n}")
        membership = Membership.objects.create(org=org, user=user, role="member")
        person = Person.objects.create(org=org, membership=membership, location=location, name=f"P{n}")
        AvailabilityRule.objects.create(
            org=org,
            location=location,
            person=person,
            rule_kind="WEEKLY",
            days_of_week=[1, 2, 3, 4, 5],
            start_time=time(8),
            end_time=time(18),
        )
        for m in range(MASTERS):
            first = week_start - timedelta(days=60 - m) + timedelta(hours=6 + (m % 12), minutes=30 * (m % 2))
            entry = services.schedule_entry_create(
                actor=None,
                org=org,
                title=f"m{m}",
                start=first,
                end=first + timedelta(minutes=30),
                timezone="Europe/Berlin",
                rrule=rules[m % len(rules)],
                assignees=[membership],
                force=True,
            )
            if m % 5 == 0:  # one moved occurrence in the measured week
                original = datetime.combine(monday + timedelta(days=2), first.astimezone(berlin).time(), tzinfo=berlin)
                override = ScheduleOverride.objects.create(
                    org=org,
                    master=entry,
                    original_start=original,
                    start=original + timedelta(hours=1),
                    end=original + timedelta(hours=1, minutes=30),
                )
                override.assignees.set([membership])
        rows = []
        cursor = week_start - timedelta(days=3)
        for b in range(BOOKINGS):
            cursor += timedelta(minutes=100)
            rows.append(
                Booking(
                    org=org,
                    person=person,
                    start_at=cursor,
                    end_at=cursor + timedelta(minutes=45),
                    seat_group=f"b:{n}:{b}",
                    status="confirmed",
                    attendee_name="Bench",
                )
            )
        Booking.objects.bulk_create(rows)
        people.append(person)
    return org, week_start, people


def main() -> None:
    _recreate_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.orgs.models import Org
    from apps.scheduling.freebusy import free_busy
    from apps.scheduling.models import Person

    call_command("migrate", verbosity=0)
    org, week_start, _ = _seed()
    with connection.cursor() as cursor:  # the statistics autovacuum gives a live database
        cursor.execute("ANALYZE")
    end = week_start + __import__("datetime").timedelta(days=7)
    org = Org.objects.get(pk=org.pk)
    people = list(Person.objects.filter(org=org).select_related("location", "org", "membership"))

    from apps.scheduling import time_version

    def bump():  # what every write does after its commit (the bump runs at once in autocommit)
        time_version.bump(org.pk)

    def full(**kwargs):
        result = free_busy(org=org, start=week_start, end=end, people=people, **kwargs)
        return [len(t.free) for t in result.values()]

    queries, fresh_queries = {}, {}
    for n in (1, 10, 50):
        with CaptureQueriesContext(connection) as ctx:
            result = free_busy(org=org, start=week_start, end=end, people=people[:n], fresh=True)
            _ = [len(t.free) for t in result.values()]
        fresh_queries[n] = len(ctx)
    for n in (1, 10, 50):
        free_busy(org=org, start=week_start, end=end, people=people[:n])  # warm the cache
        with CaptureQueriesContext(connection) as ctx:
            result = free_busy(org=org, start=week_start, end=end, people=people[:n])
            _ = [len(t.free) for t in result.values()]
        queries[n] = len(ctx)

    def timed(fn, rounds, before=None):
        fn()
        samples = []
        for _ in range(rounds):
            if before is not None:
                before()  # outside the timed span
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]

    def bare():
        Person.objects.filter(pk=people[0].pk).values_list("pk", flat=True).first()

    bare_p50, bare_p99 = timed(bare, ROUNDS)
    # warm: the token unchanged since the last call (repeated reads with no write between)
    p50, p99 = timed(full, ROUNDS)
    # cold: the token bumped before each call (the first read after a write): the full query
    # through the cache path (one token GET and `add`, a miss, the put)
    cold_p50, cold_p99 = timed(full, ROUNDS, before=bump)
    # fresh: what the checks under a person-time lock pay (no cache at all)
    fresh_p50, fresh_p99 = timed(lambda: full(fresh=True), ROUNDS)
    busy = sum(len(t.busy) for t in free_busy(org=org, start=week_start, end=end, people=people).values())
    print("\n== free/busy: 50 people × 1 week (20 recurring masters and 100 bookings each)")
    print(f"   busy intervals returned     {busy}")
    print(f"   warm (token unchanged)      p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   (goal p99 ≤ 30 ms)")
    print(f"   cold (token bumped: a write) p50 {cold_p50:6.2f} ms   p99 {cold_p99:7.2f} ms")
    print(f"   fresh=True (under a lock)   p50 {fresh_p50:7.2f} ms   p99 {fresh_p99:7.2f} ms")
    print(f"   bare one-query reference    p50 {bare_p50:7.2f} ms   p99 {bare_p99:7.2f} ms")
    print(f"   ratio to the bare query     warm p50 ×{p50 / bare_p50:.1f} p99 ×{p99 / bare_p99:.1f}   "
          f"cold p50 ×{cold_p50 / bare_p50:.1f} p99 ×{cold_p99 / bare_p99:.1f}")  # fmt: skip
    print(f"   queries for 1 / 10 / 50 people: warm {queries[1]} / {queries[10]} / {queries[50]} (+1 cache GET)   "
          f"fresh {fresh_queries[1]} / {fresh_queries[10]} / {fresh_queries[50]}")  # fmt: skip
    connection.close()


if __name__ == "__main__":
    main()
