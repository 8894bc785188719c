from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from cases.kernel.hooks import register
        from notifications.writer import on_case_event, on_case_events

        register(on_case_event, grouped=on_case_events)
