from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Dossiers"

    def ready(self) -> None:
        # Each case kind adds itself to the kernel's registries when imported (which cases a
        # user sees, where a guard's problem is fixed, which page shows a case, the waves in
        # the contracts' lists): the kernel names no kind, so the app imports them all here.
        from cases.contracts import selectors, services, views  # noqa: F401
        from cases.derogations import services as derogation_services  # noqa: F401
        from cases.derogations import views as derogation_views  # noqa: F401
        from cases.waves import lists  # noqa: F401
