"""Thin Celery tasks: the SLA breach scan (beat, every minute). Its emails are tasks of
`apps.incidents.emails`, which the scan's service enqueues (one way: tasks → services → emails)."""

from celery import shared_task

from apps.incidents import services


@shared_task(name="incidents.sla_scan")
def sla_scan() -> int:
    return len(services.sla_scan())
