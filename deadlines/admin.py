from django.contrib import admin, messages

from deadlines.models import DeadlineRule
from deadlines.recompute import after_rule_change

RECOMPUTING = "Les délais des dossiers concernés sont en cours de recalcul."


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "call", "silence", "period", "unit", "on_changes", "reminders"]
    list_filter = ["kind", "silence"]

    def save_model(self, request, obj, form, change):
        # A rule moved to another kind leaves its former kind's cases to recompute too.
        before = DeadlineRule.objects.filter(pk=obj.pk).values_list("kind", flat=True).first()
        super().save_model(request, obj, form, change)
        after_rule_change(obj.kind, *([before] if before else []))
        messages.info(request, RECOMPUTING)

    def delete_model(self, request, obj):
        kind = obj.kind
        super().delete_model(request, obj)
        after_rule_change(kind)

    def delete_queryset(self, request, queryset):
        kinds = list(queryset.values_list("kind", flat=True))
        super().delete_queryset(request, queryset)
        after_rule_change(*kinds)
