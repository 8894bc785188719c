from django.apps import AppConfig


class DeadlinesConfig(AppConfig):
    name = "deadlines"
    verbose_name = "Délais"

    def ready(self) -> None:
        from cases.kernel.hooks import register
        from deadlines.calendar import check_subdivisions
        from deadlines.listeners import on_case_event

        register(on_case_event)
        # At start-up, not at the first deadline: a code the package no longer knows would
        # otherwise give the national calendar without a word.
        check_subdivisions()
