from datetime import timedelta

from django.utils import timezone

from apps.calendars.models import CalendarConnection, ConnectedCalendar
from tests import tenancy
from tests.factories import MembershipFactory


def make_connection(membership, *, google=None, status=CalendarConnection.Status.ACTIVE, calendars=True):
    """A connection as a finished consent leaves it; with `google`, its tokens are live grants
    of the fake."""
    connection = CalendarConnection(org=membership.org, membership=membership, status=status, scopes=[])
    if google is not None:
        refresh = f"1//r-{membership.pk.hex}"
        google.refresh.add(refresh)
        connection.refresh_token = refresh
        connection.access_token = google._issue(refresh)
        connection.token_expires_at = timezone.now() + timedelta(hours=1)
    connection.save()
    if calendars:
        ConnectedCalendar.objects.create(
            org=membership.org,
            connection=connection,
            calendar_id="primary@example.test",
            summary="Me",
            primary=True,
            check_conflicts=True,
            write_target=True,
        )
    return connection


@tenancy.register(CalendarConnection)
def _connection(org):
    # no tokens and not active: the harness never reaches Google
    return make_connection(MembershipFactory(org=org), status=CalendarConnection.Status.NEEDS_RECONSENT)
