from django.http import JsonResponse
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bare.models import Item


def json_view(request):
    """The counterpart of SchedKit's /healthz."""
    return JsonResponse({"status": "ok"})


class ItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = ["id", "group", "name", "email", "role", "created_at"]


class ItemsView(APIView):
    """The counterpart of an org-scoped list: one indexed query, 50 rows, DRF serializer."""

    def get(self, request):
        rows = Item.objects.filter(group=1).order_by("id")[:50]
        return Response({"next": None, "previous": None, "results": ItemSerializer(rows, many=True).data})
