from rest_framework.pagination import CursorPagination


class UpdatedCursor(CursorPagination):
    """The most recently updated first; a cursor stays right while rows are added or moved."""

    ordering = ("-updated_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = "Curseur invalide : reprenez la liste depuis le début."
