from django.contrib import admin

from deadlines.models import DeadlineRule


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "call", "silence", "period", "unit", "on_changes", "reminders"]
    list_filter = ["kind", "silence"]
