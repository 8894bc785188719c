from django import forms

from api.tokens import LIFETIMES
from cases.kernel.models import PLAIN_TEXT


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Nom du jeton",
        max_length=100,
        validators=PLAIN_TEXT,
        help_text="Pour le reconnaître, par exemple « Tableur du comité de pilotage ».",
    )
    lifetime = forms.TypedChoiceField(
        label="Durée de validité",
        choices=list(LIFETIMES.items()),
        coerce=int,
        initial=90,
        error_messages={"invalid_choice": "Choisissez une durée de validité de la liste."},
    )
    read_only = forms.BooleanField(
        label="Lecture seule",
        required=False,
        initial=True,
        help_text="Décochez pour que le jeton puisse aussi agir sur les dossiers en votre nom.",
    )
