from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import MissingReferenceData, seed_demo


class Command(BaseCommand):
    help = "Crée les comptes de démonstration (un par rôle). Sans effet s'ils existent déjà."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "Les comptes de démonstration ont des mots de passe publics : "
                "refusé en production (DJANGO_ENV=production)."
            )
        try:
            results = seed_demo()
        except MissingReferenceData as error:
            raise CommandError(str(error)) from error
        created = sum(1 for _, new in results if new)
        self.stdout.write("Comptes de démonstration (adresse / mot de passe — rôle) :")
        for account, new in results:
            marker = "nouveau" if new else "existant"
            self.stdout.write(
                f"  {account.email:<28} {account.password:<28} {account.description} [{marker}]"
            )
        if created:
            self.stdout.write(self.style.SUCCESS(f"{created} compte(s) créé(s)."))
        else:
            self.stdout.write(self.style.SUCCESS("Aucun changement : les comptes existaient déjà."))
