from django.conf import settings
from django.contrib.auth import login, logout
from django.middleware.csrf import get_token
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from apps.accounts import services
from apps.accounts.api.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    LoginAcceptedSerializer,
    LoginSerializer,
    MeSerializer,
    VerifySerializer,
)
from apps.accounts.models import ApiKey
from apps.orgs.roles import ANY_MEMBER, AUTHENTICATED, PUBLIC
from schedkit.api.throttling import EmailRateThrottle, IPRateThrottle
from schedkit.api.views import OrgScopedViewSet, SchedKitAPIView


class LoginIPThrottle(IPRateThrottle):
    scope = "login_ip"


class LoginEmailThrottle(EmailRateThrottle):
    scope = "login_email"


class VerifyIPThrottle(IPRateThrottle):
    scope = "verify_ip"


class LoginView(SchedKitAPIView):
    """Email a 6-digit code and a magic link. The answer is the same whether or not the
    address has an account (no enumeration); a new address gets an account on first sign-in."""

    action_roles = {"post": PUBLIC}
    authentication_classes: list = []
    throttle_classes = [LoginIPThrottle, LoginEmailThrottle]

    @extend_schema(request=LoginSerializer, responses={202: LoginAcceptedSerializer}, auth=[])
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.login_start(
            email=serializer.validated_data["email"],
            ip=request.META.get("REMOTE_ADDR"),
            next_url=serializer.validated_data.get("next", ""),
        )
        return Response(
            {
                "detail": "A sign-in code and link were sent to this address.",
                "expires_in": settings.LOGIN_CODE_TTL_SECONDS,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class VerifyView(SchedKitAPIView):
    """Exchange email + code for a session (cookie). Five wrong codes kill the code."""

    action_roles = {"post": PUBLIC}
    authentication_classes: list = []
    throttle_classes = [VerifyIPThrottle]

    @extend_schema(request=VerifySerializer, responses=MeSerializer, auth=[])
    def post(self, request):
        serializer = VerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.login_verify_code(**serializer.validated_data)
        login(request._request, user, backend="django.contrib.auth.backends.ModelBackend")
        get_token(request._request)  # a CSRF cookie for the session's unsafe requests
        return Response(MeSerializer(user).data)


class LogoutView(SchedKitAPIView):
    action_roles = {"post": AUTHENTICATED}

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(SchedKitAPIView):
    action_roles = {"get": AUTHENTICATED}

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """API keys of the request's org: admins see all, everyone else their own."""

    queryset = ApiKey.objects.select_related("user")
    serializer_class = ApiKeySerializer
    action_roles = {"list": ANY_MEMBER, "retrieve": ANY_MEMBER, "create": ANY_MEMBER, "destroy": ANY_MEMBER}
    http_method_names = ["get", "post", "delete"]

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = services.api_key_create(actor=self.actor, **serializer.validated_data)
        body = ApiKeySerializer(key).data
        body["key"] = raw
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        services.api_key_revoke(actor=self.actor, api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
