"""Base classes every SchedKit API view derives from.

`SchedKitAPIView`/`SchedKitViewSet`: problem+json errors, declared permissions, idempotency.
`OrgScopedViewSet`: additionally resolves the request's org and scopes every query through
the model's `for_actor()` — the only way an org-owned row reaches an API response."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.orgs.tenancy import resolve_actor
from schedkit.api.idempotency import IdempotencyMixin


class SchedKitMixin(IdempotencyMixin):
    metadata_class = None  # OPTIONS → 204 + Allow: our contract is the OpenAPI document
    #: {action: PUBLIC | AUTHENTICATED | frozenset(roles)} — every action must appear
    action_roles: dict = {}
    #: resolve the request's org (400/404 when it cannot be determined)
    org_scoped = False
    #: the URL kwarg holding the org slug, for /v1/orgs/{slug}/... routes
    org_url_kwarg: str | None = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # HEAD wherever GET is served and OPTIONS everywhere, whatever a view restricts.
        names = [*self.http_method_names]
        names += [m for m in ("head", "options") if m not in names and (m == "options" or "get" in names)]
        self.http_method_names = names

    def options(self, request, *args, **kwargs):
        """204 with `Allow` (set by finalize_response); no body: the schema is /openapi.json."""
        return Response(status=status.HTTP_204_NO_CONTENT)

    def perform_authentication(self, request):
        request.actor = None
        if request.method == "OPTIONS":
            return  # metadata about the route: no credentials needed (CORS preflights send none)
        super().perform_authentication(request)
        if request.user and request.user.is_authenticated:
            url_slug = self.kwargs.get(self.org_url_kwarg) if self.org_url_kwarg else None
            request.actor = resolve_actor(request, url_slug=url_slug, require_org=self.org_scoped)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "OPTIONS":
            return
        self.load_parents()
        self.idempotency_begin(request)

    def load_parents(self):
        """Resolve parent objects named in the URL (e.g. the team of /teams/{slug}/members)
        before anything reads the body, so a foreign parent is a 404 whatever the payload."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        self.idempotency_finish(response)
        return response

    @property
    def actor(self):
        return self.request.actor


class SchedKitAPIView(SchedKitMixin, APIView):
    pass


class SchedKitViewSet(SchedKitMixin, viewsets.GenericViewSet):
    pass


class OrgScopedViewSet(SchedKitViewSet):
    org_scoped = True

    def get_queryset(self):
        queryset = super().get_queryset()
        if not hasattr(queryset, "for_actor"):
            raise ImproperlyConfigured(f"{type(self).__name__}.queryset must be an OrgScopedQuerySet")
        return queryset.for_actor(self.request.actor, self.action)
