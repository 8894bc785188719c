from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from api.webhooks.delivery import enqueue_due
from deadlines.reminders import ensure_planned
from notifications.emails import enqueue_unsent, schedule_next_digest, send_digests
from programme.dashboard.figures import queue_warm_up


class Command(BaseCommand):
    help = (
        "Lance le travailleur de tâches de fond (courriels, webhooks, rappels d'échéance), "
        "après avoir planifié le prochain récapitulatif quotidien et le prochain passage des "
        "rappels s'ils ne le sont pas."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0)
        parser.add_argument("--batch", action="store_true")

    def handle(self, *args, interval, batch, **options):
        planned = DBTaskResult.objects.filter(
            task_path=send_digests.module_path, status=TaskResultStatus.READY
        )
        if not planned.exists():
            schedule_next_digest()
        # The first pass at once: what fell due while no worker ran is caught up now.
        ensure_planned()
        queue_warm_up()
        # Webhooks queued by an action just before the last stop, and the mails a stopped
        # worker left half sent.
        enqueue_due()
        enqueue_unsent()
        call_command(
            "db_worker",
            interval=interval,
            batch=batch,
            reload=False,
            startup_delay=False,
        )
