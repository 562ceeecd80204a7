from rest_framework import pagination
from rest_framework.exceptions import NotFound

from schedkit.api.problems import Problem


class CursorPagination(pagination.CursorPagination):
    """Opaque cursors over UUIDv7 ids: stable under concurrent inserts, O(1) per page."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise Problem(400, "INVALID_CURSOR", "Invalid cursor", "The cursor is malformed or stale.") from None
