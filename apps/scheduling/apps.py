from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    """People's time: locations, people, availability, slots, schedule entries with recurrence,
    and the one free/busy query every other app asks."""

    name = "apps.scheduling"
    label = "scheduling"

    def ready(self):
        # Imports here: models and receivers need the app registry (AppConfig.ready).
        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from apps.incidents.models import Incident
        from apps.orgs.models import Membership, Org, TeamMember
        from apps.scheduling import time_version, window_cache
        from apps.scheduling.models import AvailabilityRule, Location, Person, ScheduleEntry, ScheduleOverride

        for model in (ScheduleEntry, ScheduleOverride, Membership, Incident):
            post_save.connect(window_cache.on_org_owned_change, sender=model, dispatch_uid=f"window-{model.__name__}")
            post_delete.connect(window_cache.on_org_owned_change, sender=model, dispatch_uid=f"window-{model.__name__}")
        for through in (ScheduleEntry.assignees.through, ScheduleOverride.assignees.through):
            uid = f"window-{through.__name__}"
            m2m_changed.connect(window_cache.on_assignees_change, sender=through, dispatch_uid=uid)
        for signal in (post_save, post_delete):
            signal.connect(window_cache.on_team_member_change, sender=TeamMember, dispatch_uid="window-teammember")
        post_save.connect(window_cache.on_user_change, sender=get_user_model(), dispatch_uid="window-user")

        # free/busy's time version (apps/scheduling/time_version.py): every row it reads.
        # bookings and calendars watch their own models (their AppConfig.ready).
        for model in (ScheduleEntry, ScheduleOverride, AvailabilityRule):
            time_version.watch(model)
        for through in (ScheduleEntry.assignees.through, ScheduleOverride.assignees.through):
            time_version.watch_m2m(through)
        time_version.watch(Person, fields=("active", "location", "timezone", "membership", "org"))
        time_version.watch(Location, fields=("timezone",))
        time_version.watch(Membership, fields=("active", "org"))
        time_version.watch(Org, fields=("timezone",))
