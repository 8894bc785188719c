"""Read-only admin: cases change only through cases.kernel.services, never from here."""

from django.contrib import admin

from cases.contracts.models import TerritoryContract
from cases.derogations.models import CallForProjects, DerogationRequest
from cases.kernel.models import CaseEvent, Comment, Document, Opinion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TerritoryContract)
class TerritoryContractAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "territory", "state", "version", "updated_at"]
    list_filter = ["state", "territory__pilot_region"]
    search_fields = ["reference", "title", "territory__name"]
    actions = None


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["case", "seq", "kind", "name", "actor", "created_at", "from_state", "to_state"]
    list_filter = ["kind"]
    search_fields = ["case__reference"]
    actions = None


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["case", "author", "private", "created_at"]
    actions = None


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["case", "original_name", "content_type", "size", "sha256", "uploaded_at"]
    actions = None


@admin.register(DerogationRequest)
class DerogationRequestAdmin(ReadOnlyAdmin):
    list_display = ["reference", "title", "territory", "rule_reference", "state", "outcome"]
    list_filter = ["state", "outcome", "call", "territory__pilot_region"]
    search_fields = ["reference", "title", "rule_reference", "territory__name"]
    actions = None


@admin.register(Opinion)
class OpinionAdmin(ReadOnlyAdmin):
    list_display = ["case", "organisation", "due_on", "verdict", "answered_at"]
    actions = None


@admin.register(CallForProjects)
class CallForProjectsAdmin(admin.ModelAdmin):
    """Calls are reference data the ministry publishes: staff may add and correct them."""

    list_display = ["name", "opens_at", "closes_at"]

    def has_delete_permission(self, request, obj=None):
        # A call with requests stays: they refer to it.
        return obj is None or not obj.requests.exists()
