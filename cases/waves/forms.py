"""The forms of contractualisation waves."""

from typing import cast

from django import forms

from cases.kernel.forms import DATE_WIDGET, VersionedForm
from cases.kernel.models import PLAIN_TEXT


class WaveForm(forms.Form):
    name = forms.CharField(label="Nom", max_length=200, validators=PLAIN_TEXT)
    date = forms.DateField(label="Date", widget=DATE_WIDGET)
    place = forms.CharField(label="Lieu", max_length=200, validators=PLAIN_TEXT)
    description = forms.CharField(
        label="Description",
        required=False,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ContractChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.reference} — {obj.territory} — {obj.title or 'sans intitulé'}"


class WaveAddForm(VersionedForm):
    contract = ContractChoiceField(
        queryset=None, label="Contrat à ajouter", empty_label="Choisissez un contrat validé"
    )

    def __init__(self, *args, contracts, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["contract"]).queryset = contracts
