from datetime import UTC

from rest_framework import serializers

from apps.orgs.models import Invite, Membership, Org, Role, Team, TeamMember
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer

ORG_SETTINGS = {"auto_dispatch": bool, "auto_dispatch_priority": str, "ntfy_topic": str, "sla_minutes": dict}


class OrgSerializer(StrictModelSerializer):
    class Meta:
        model = Org
        fields = ["id", "slug", "name", "timezone", "settings", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_settings(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError('An object, e.g. {"auto_dispatch": true}.')
        errors = [
            f"{key}: unknown setting" if key not in ORG_SETTINGS else f"{key}: must be {ORG_SETTINGS[key].__name__}"
            for key, item in value.items()
            if key not in ORG_SETTINGS or not isinstance(item, ORG_SETTINGS[key])
        ]
        if errors:
            raise serializers.ValidationError(errors)
        return {**(self.instance.settings if self.instance else {}), **value}


class OrgUpdateSerializer(OrgSerializer):
    class Meta(OrgSerializer.Meta):
        read_only_fields = ["id", "slug", "created_at"]


class UserSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    email = serializers.EmailField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


_DATETIME = serializers.DateTimeField()


def _utc_iso(value) -> str:
    """What DateTimeField renders with TIME_ZONE = UTC, without its per-value machinery."""
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class MembershipSerializer(StrictModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "skills", "active", "created_at"]
        read_only_fields = ["id", "user", "created_at"]

    def to_representation(self, membership):
        # Hand-written: a members page renders 50 of these on every poll, and DRF's generic
        # field walk is most of the endpoint's time. tests/test_orgs.py proves it renders
        # exactly what the declared fields would.
        user = membership.user
        return {
            "id": str(membership.id),
            "user": {"id": str(user.id), "email": user.email, "username": user.username, "name": user.name},
            "role": membership.role,
            "skills": membership.skills,
            "active": membership.active,
            "created_at": _DATETIME.to_representation(membership.created_at),
        }

    #: The columns render_row() needs, for list pages read with .values() (no model instances).
    ROW_COLUMNS = (
        "id",
        "role",
        "skills",
        "active",
        "created_at",
        "user__id",
        "user__email",
        "user__username",
        "user__name",
    )

    @staticmethod
    def render_row(row: dict) -> dict:
        """to_representation() of a .values(*ROW_COLUMNS) row: building 51 memberships and
        51 users per page was half of the members list's time (bench/README.md)."""
        return {
            "id": str(row["id"]),
            "user": {
                "id": str(row["user__id"]),
                "email": row["user__email"],
                "username": row["user__username"],
                "name": row["user__name"],
            },
            "role": row["role"],
            "skills": row["skills"],
            "active": row["active"],
            "created_at": _utc_iso(row["created_at"]),
        }

    def validate_skills(self, value):
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            raise serializers.ValidationError("A list of non-empty strings.")
        return [s.strip() for s in value]


class TeamSerializer(StrictModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "slug", "name", "routing_strategy", "created_at"]
        read_only_fields = ["id", "created_at"]


class TeamUpdateSerializer(TeamSerializer):
    class Meta(TeamSerializer.Meta):
        read_only_fields = ["id", "slug", "created_at"]


class TeamMemberSerializer(StrictModelSerializer):
    membership_id = serializers.UUIDField()
    user = UserSummarySerializer(source="membership.user", read_only=True)

    class Meta:
        model = TeamMember
        fields = ["id", "membership_id", "user", "active", "last_assigned_at", "created_at"]
        read_only_fields = ["id", "user", "last_assigned_at", "created_at"]


class TeamMemberUpdateSerializer(StrictSerializer):
    active = serializers.BooleanField()


class InviteSerializer(StrictModelSerializer):
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER)

    class Meta:
        model = Invite
        fields = ["id", "email", "role", "expires_at", "accepted_at", "revoked_at", "created_at"]
        read_only_fields = ["id", "expires_at", "accepted_at", "revoked_at", "created_at"]


class InviteAcceptSerializer(StrictSerializer):
    token = serializers.CharField(max_length=200)
