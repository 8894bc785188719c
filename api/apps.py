from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # drf-spectacular finds its extensions by their import.
        from api import schema  # noqa: F401
