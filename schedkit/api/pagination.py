from rest_framework import pagination
from rest_framework.exceptions import NotFound

from schedkit.api.problems import Problem


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors over UUIDv7 ids: stable under concurrent inserts, O(1) per page."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """A page_size that is not an integer in 1..max_page_size is a 400, not ignored."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise Problem(
                400,
                "VALIDATION_ERROR",
                "Invalid input",
                f"page_size must be an integer from 1 to {self.max_page_size}.",
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise Problem(400, "INVALID_CURSOR", "Invalid cursor", "The cursor is malformed or stale.") from None
