from django.core.management.base import BaseCommand

from cases.derogations.calls import REAL_CALLS, load_real_calls


class Command(BaseCommand):
    help = "Charge les appels à projets France Expérimentation réels (idempotent)."

    def handle(self, *args, **options):
        changed = load_real_calls()
        if changed:
            self.stdout.write(f"{changed} appel(s) à projets créé(s) ou mis à jour.")
        else:
            self.stdout.write(f"Appels à projets déjà à jour ({len(REAL_CALLS)}).")
