"""Booking funnel metrics, exported at /metrics with the rest (default prometheus registry)."""

from prometheus_client import Counter, Histogram

from schedkit.ops.multiproc import ensure_multiprocess_dir

ensure_multiprocess_dir()  # before the first metric: its file goes into that folder

EXPOSED_SLOTS = Histogram(
    "exposed_slots_count", "Slots exposed per /v1/slots answer", ["scope"], buckets=(0, 1, 2, 3, 4, 5, 10, 50)
)
HOLD_TO_CONFIRM = Histogram(
    "hold_to_confirm_ms",
    "Milliseconds from hold to confirm",
    buckets=(1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000),
)
BOOKING_CONFLICTS = Counter("booking_conflicts_total", "Booking attempts refused by a conflict", ["code"])
