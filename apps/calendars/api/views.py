from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.calendars import services
from apps.calendars.api.serializers import (
    CalendarConnectionSerializer,
    CalendarConnectionUpdateSerializer,
    SyncAcceptedSerializer,
)
from apps.calendars.models import CalendarConnection
from apps.calendars.tasks import sync_connection
from apps.events.enqueue import enqueue_on_commit
from apps.orgs.roles import ANY_MEMBER
from schedkit.api.views import OrgScopedViewSet

# A calendar connection is its owner's: any member manages their own (the queryset scopes
# to the caller's membership, so someone else's is 404 whatever the role).
OWN = {"list": ANY_MEMBER, "retrieve": ANY_MEMBER, "partial_update": ANY_MEMBER, "destroy": ANY_MEMBER}


class CalendarConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    queryset = CalendarConnection.objects.prefetch_related("calendars")
    serializer_class = CalendarConnectionSerializer
    action_roles = {**OWN, "sync": ANY_MEMBER}
    http_method_names = ["get", "post", "patch", "delete"]

    @extend_schema(request=CalendarConnectionUpdateSerializer, responses=CalendarConnectionSerializer)
    def partial_update(self, request, *args, **kwargs):
        connection = self.get_object()
        serializer = CalendarConnectionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.connection_update(actor=self.actor, connection=connection, **serializer.validated_data)
        return Response(CalendarConnectionSerializer(self.get_queryset().get(pk=connection.pk)).data)

    def destroy(self, request, *args, **kwargs):
        services.connection_disconnect(actor=self.actor, connection=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: SyncAcceptedSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request, *args, **kwargs):
        connection = self.get_object()
        enqueue_on_commit(sync_connection, str(connection.pk))  # refused: the minutely sweep syncs it
        return Response({"status": "queued"}, status=status.HTTP_202_ACCEPTED)
