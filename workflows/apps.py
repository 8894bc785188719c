from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Circuits de validation"

    def ready(self):
        from cases.kernel.hooks import register
        from workflows.engine import on_case_event

        register(on_case_event)
