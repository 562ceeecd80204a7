"""Delivery: the outbox relay, event dispatch retries, webhooks, and the Mailjet endpoint."""

from .env import env_int, env_list, env_str

# Queued work (an event's dispatch, a webhook try) is left alone by the sweeps this long
# before it counts as lost (broker outage, killed worker) and is enqueued again.
EVENTS_QUEUED_LEASE_SECONDS = env_int("EVENTS_QUEUED_LEASE_SECONDS", 120)
EVENTS_RELAY_SECONDS = env_int("EVENTS_RELAY_SECONDS", 30)  # how often beat runs the outbox relay
# A failing dispatch (a handler raised) is retried after these delays, then the event is dead.
EVENTS_DISPATCH_BACKOFF = [int(s) for s in env_list("EVENTS_DISPATCH_BACKOFF", "10,30,60,120,300,600,1200")]
WEBHOOK_TIMEOUT_SECONDS = float(env_str("WEBHOOK_TIMEOUT_SECONDS", "5"))
# A try in flight is taken over (its worker presumed dead) this long after its timeout.
WEBHOOK_LEASE_MARGIN_SECONDS = env_int("WEBHOOK_LEASE_MARGIN_SECONDS", 30)
# Delays after each failed try (timeouts, 5xx, refused): ~23.6 h in all, then `failed`.
WEBHOOK_BACKOFF = [int(s) for s in env_list("WEBHOOK_BACKOFF", "5,30,120,600,1800,3600,7200,14400,28800,28800")]
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 10)  # how often beat re-enqueues due tries
