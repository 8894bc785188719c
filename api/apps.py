from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # drf-spectacular finds its extensions by their import.
        from api import schema  # noqa: F401
        from api.webhooks.outbox import on_case_event, on_case_events
        from cases.kernel.hooks import register

        # Outbox rows are written in the action's transaction, as the notifications are.
        register(on_case_event, grouped=on_case_events)
