from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role, User
from cases.waves import services as waves
from cases.waves.models import Wave

# From the programme's milestones (territories/data/territoires_industrie_jalons.csv, 2019-03-05).
NAME = "1re Assemblée générale des Territoires d'industrie"
HELD_ON = date(2019, 3, 5)
PLACE = "Lyon (salon Global Industrie)"
DESCRIPTION = (
    "Première assemblée générale du programme, où furent signées les conventions avec la "
    "Banque des territoires, Bpifrance, Business France et Pôle emploi "
    "(France Travail depuis 2024)."
)


class Command(BaseCommand):
    help = "Crée la vague de démonstration, prévue, de l'assemblée générale du 5 mars 2019."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "Données de démonstration : refusé en production (DJANGO_ENV=production)."
            )
        if Wave.objects.filter(name=NAME).exists():
            self.stdout.write(f"La vague « {NAME} » existe déjà.")
            return
        minister = (
            User.objects.filter(memberships__role=Role.MINISTRY_AGENT, is_active=True)
            .order_by("pk")
            .first()
        )
        if minister is None:
            raise CommandError("Aucun agent du ministère : lancez d'abord « manage.py seed_demo ».")
        waves.wave_create(
            actor=minister, name=NAME, date=HELD_ON, place=PLACE, description=DESCRIPTION
        )
        self.stdout.write(f"Vague « {NAME} » créée (prévue).")
