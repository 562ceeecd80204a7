from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Project-wide HTTP API contracts (problem+json, idempotency, pagination, permissions,
    tenancy-aware base views). An app only because idempotency keys need a table; it holds no
    domain."""

    name = "schedkit.api"
    label = "api"
    verbose_name = "API"

    def ready(self):
        from schedkit.api import schema  # noqa: F401 - registers the OpenAPI auth extension
