from rest_framework import serializers

from apps.accounts.models import ApiKey, User
from schedkit.api.serializers import StrictModelSerializer, StrictSerializer


class LoginSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    next = serializers.CharField(max_length=500, required=False, allow_blank=True)


class VerifySerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    code = serializers.RegexField(r"^\d{6}$", error_messages={"invalid": "The code is 6 digits."})


class LoginAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    expires_in = serializers.IntegerField()


class MembershipBriefSerializer(serializers.Serializer):
    org = serializers.CharField(source="org.slug")
    org_name = serializers.CharField(source="org.name")
    role = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    memberships = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "username", "name", "timezone", "is_staff", "memberships"]

    def get_memberships(self, user) -> list[dict]:
        active = user.memberships.filter(active=True).select_related("org")
        return MembershipBriefSerializer(active, many=True).data


class ApiKeySerializer(StrictModelSerializer):
    user = serializers.EmailField(source="user.email", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "user", "created_at", "last_used_at", "expires_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "user", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret: shown only in this response")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
