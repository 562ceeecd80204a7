"""Schedule reads that cross the tenant line, in a constant number of queries: the masters
that may reach the window, their overrides near it and all assignees are fetched with
prefetches, and the series are expanded in Python."""

from datetime import datetime
from types import SimpleNamespace

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from apps.orgs.models import Membership, TeamMember
from apps.scheduling import recurrence
from apps.scheduling.models import MAX_DURATION, ScheduleEntry, ScheduleOverride

_ASSIGNEE_ROWS = Membership.objects.select_related("user").only(
    "id", "org_id", "role", "user__id", "user__email", "user__name", "user__username"
)


def _overrides_near(start: datetime, end: datetime):
    near = Q(original_start__gte=start - MAX_DURATION, original_start__lt=end) | Q(
        cancelled=False, start__lt=end, end__gt=start
    )
    return Prefetch("overrides", queryset=ScheduleOverride.objects.filter(near), to_attr="near_overrides")


_PERSON_COLUMNS = ("membership_id", "membership__role", "membership__user_id", "membership__user__email")
_PERSON_COLUMNS += ("membership__user__name", "membership__user__username")


def _attach_assignee_rows(owners: list, through, owner_column: str) -> None:
    """`assignee_list` of each entry or override from plain rows, in one query: a month of
    1,000 series has thousands of assignee links, and Membership + User instances for them
    were a fifth of the window's time (bench/README.md). Each person is an object with
    .pk/.id/.role and .user.id/.email/.name/.username, shared by every row naming them."""
    by_owner = {owner.pk: [] for owner in owners}
    people: dict = {}
    rows = through.objects.filter(**{f"{owner_column}__in": list(by_owner)}).order_by("-membership_id")
    for owner_id, membership_id, role, user_id, email, name, username in rows.values_list(
        owner_column, *_PERSON_COLUMNS
    ):
        person = people.get(membership_id)
        if person is None:
            user = SimpleNamespace(id=user_id, pk=user_id, email=email, name=name, username=username)
            person = people[membership_id] = SimpleNamespace(id=membership_id, pk=membership_id, role=role, user=user)
        by_owner[owner_id].append(person)
    for owner in owners:
        owner.assignee_list = by_owner[owner.pk]


def _window_queryset(queryset: QuerySet, start: datetime, end: datetime, assignee_ids=None, team=None) -> QuerySet:
    """The masters that may reach the window, narrowed to those naming one of the people
    (on the master or on one of its overrides)."""
    queryset = queryset.overlapping(start, end)
    people = None
    if assignee_ids is not None:
        people = [str(p) for p in assignee_ids]
    if team is not None:
        team_people = TeamMember.objects.filter(team=team).values("membership_id")
        people_q = Q(membership_id__in=team_people)
    elif people is not None:
        people_q = Q(membership_id__in=people)
    else:
        people_q = None
    if people_q is not None:
        through = ScheduleEntry.assignees.through.objects.filter(people_q, scheduleentry_id=OuterRef("pk"))
        override_through = ScheduleOverride.assignees.through.objects.filter(
            people_q, scheduleoverride__master_id=OuterRef("pk")
        )
        queryset = queryset.filter(Exists(through) | Exists(override_through))
    return queryset


def _masters(queryset: QuerySet, start: datetime, end: datetime, assignee_ids=None, team=None) -> list:
    queryset = _window_queryset(queryset, start, end, assignee_ids, team)
    masters = list(queryset.select_related("org").prefetch_related(_overrides_near(start, end)))
    _attach_assignee_rows(masters, ScheduleEntry.assignees.through, "scheduleentry_id")
    overrides = [override for master in masters for override in master.near_overrides]
    _attach_assignee_rows(overrides, ScheduleOverride.assignees.through, "scheduleoverride_id")
    return masters


def _expand_all(masters, start, end, people=None) -> list[recurrence.Instance]:
    instances = []
    for master in masters:
        found = recurrence.expand(master, master.near_overrides, start, end, assignees=master.assignee_list)
        if people is not None:
            found = [i for i in found if {str(a.pk) for a in i.assignees} & people]
        instances.extend(found)
    instances.sort(key=lambda i: (i.start, i.id))
    return instances


def _window_people(assignee, team) -> set[str] | None:
    """The membership ids (text) an ?assignee=/?team= window keeps instances of; None = all."""
    people = None
    if team is not None:
        people = {str(m) for m in TeamMember.objects.filter(team=team).values_list("membership_id", flat=True)}
    if assignee is not None:
        people = {str(assignee)} if people is None else people & {str(assignee)}
    return people


def schedule_instances(
    *, fetched_by, start: datetime, end: datetime, assignee=None, team=None
) -> list[recurrence.Instance]:
    """Concrete and virtual instances visible to the actor in [start, end)."""
    queryset = ScheduleEntry.objects.for_actor(fetched_by, "list")
    people = _window_people(assignee, team)
    masters = _masters(queryset, start, end, assignee_ids=[assignee] if assignee is not None else None, team=team)
    return _expand_all(masters, start, end, people)


_MASTER_COLUMNS = ("id", "title", "notes", "start", "end", "status", "kind", "timezone", "rrule", "series_end")
_MASTER_COLUMNS += ("incident_id", "work_item_ref", "private")
_OVERRIDE_COLUMNS = ("id", "master_id", "original_start", "cancelled", "title", "notes", "start", "end", "status")


def window_masters(
    *, fetched_by, start: datetime, end: datetime, assignee=None, team=None
) -> tuple[list[SimpleNamespace], set[str] | None]:
    """The month view's masters as light rows, in 4 queries like schedule_instances (masters,
    overrides near the window, both assignee sets): (masters, people), `people` being what
    an ?assignee=/?team= window keeps (None = every instance). Each master is an object with
    the columns of _MASTER_COLUMNS (.pk too), `.row` (those values as a tuple: what its
    rendering depends on), `.near_overrides` (objects with _OVERRIDE_COLUMNS and `.row`) and
    `.assignee_list` — what recurrence.spans() and the renderers read, without 1,000 model
    instances (bench/README.md, schedule)."""
    people = _window_people(assignee, team)
    queryset = ScheduleEntry.objects.for_actor(fetched_by, "list")
    queryset = _window_queryset(queryset, start, end, [assignee] if assignee is not None else None, team)
    masters = []
    for row in queryset.order_by().values_list(*_MASTER_COLUMNS):
        master = SimpleNamespace(**dict(zip(_MASTER_COLUMNS, row, strict=True)), row=row, near_overrides=[])
        master.pk = master.id
        masters.append(master)
    by_id = {master.pk: master for master in masters}
    near = Q(original_start__gte=start - MAX_DURATION, original_start__lt=end) | Q(
        cancelled=False, start__lt=end, end__gt=start
    )
    overrides = []
    found = ScheduleOverride.objects.filter(near, master_id__in=list(by_id)).order_by("original_start")
    for row in found.values_list(*_OVERRIDE_COLUMNS):
        override = SimpleNamespace(**dict(zip(_OVERRIDE_COLUMNS, row, strict=True)), row=row)
        override.pk = override.id
        by_id[override.master_id].near_overrides.append(override)
        overrides.append(override)
    _attach_assignee_rows(masters, ScheduleEntry.assignees.through, "scheduleentry_id")
    _attach_assignee_rows(overrides, ScheduleOverride.assignees.through, "scheduleoverride_id")
    return masters, people


def org_instances(*, org, start: datetime, end: datetime, assignee_ids=None) -> list[recurrence.Instance]:
    """Every instance of the org in the window (no visibility filter: conflicts are about
    people, whoever may read the entry)."""
    people = {str(p) for p in assignee_ids} if assignee_ids is not None else None
    masters = _masters(ScheduleEntry.objects.filter(org=org), start, end, assignee_ids=assignee_ids)
    return _expand_all(masters, start, end, people)


def access_entry(actor, entry_id, action: str = "retrieve") -> ScheduleEntry:
    return ScheduleEntry.objects.select_related("org").access(actor, entry_id, action)


def visible_entries(*, fetched_by) -> QuerySet[ScheduleEntry]:
    return (
        ScheduleEntry.objects.for_actor(fetched_by, "list")
        .select_related("org")
        .prefetch_related(Prefetch("assignees", queryset=_ASSIGNEE_ROWS, to_attr="assignee_list"))
    )
