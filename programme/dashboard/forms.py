from datetime import date

from django import forms
from django.utils import timezone

from cases.kernel import french
from cases.models import Axis, Funder
from programme.dashboard.stats import NO_FILTERS, Filters


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class DashboardFilterForm(forms.Form):
    """The dashboard's filters, as a GET form. The Regions and waves offered are those of the
    user's scope: another value is refused on its field, and the figures stay unfiltered."""

    region = forms.TypedChoiceField(label="Région", required=False, coerce=int, empty_value=None)
    wave = forms.TypedChoiceField(
        label="Vague de contractualisation", required=False, coerce=int, empty_value=None
    )
    axis = forms.ChoiceField(label="Axe", required=False, choices=[("", "Tous"), *Axis.choices])
    funder = forms.ChoiceField(
        label="Financeur", required=False, choices=[("", "Tous"), *Funder.choices]
    )
    since = forms.DateField(
        label="Déposés depuis le",
        required=False,
        widget=DateInput(),
        help_text="date de dépôt du dossier, incluse",
    )
    until = forms.DateField(
        label="Déposés jusqu'au",
        required=False,
        widget=DateInput(),
        help_text="date de dépôt du dossier, incluse",
    )

    def __init__(self, *args, choices: dict, **kwargs):
        super().__init__(*args, **kwargs)
        region = self.fields["region"]
        assert isinstance(region, forms.TypedChoiceField)
        region.choices = [
            ("", "Toutes"),
            *[(str(r["id"]), f"{r['name']} ({r['code']})") for r in choices["regions"]],
        ]
        wave = self.fields["wave"]
        assert isinstance(wave, forms.TypedChoiceField)
        wave.choices = [
            ("", "Toutes"),
            *[
                (str(w["id"]), f"{w['name']} — {french.date_fr(w['date'])}")
                for w in choices["waves"]
            ],
        ]

    def clean(self):
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if isinstance(since, date) and isinstance(until, date) and until < since:
            self.add_error("until", "La fin de la période doit suivre son début.")
        return data

    def filters(self) -> Filters:
        """The valid filters, or none at all: a refused input never half-filters the page."""
        if not self.is_bound or not self.is_valid():
            return NO_FILTERS
        data = self.cleaned_data
        return Filters(
            region=data["region"],
            wave=data["wave"],
            axis=data["axis"],
            funder=data["funder"],
            since=data["since"],
            until=data["until"],
        )


class ReportForm(forms.Form):
    since = forms.DateField(
        label="Depuis la séance du",
        required=True,
        widget=DateInput(),
        help_text="ce qui a changé depuis cette date, incluse",
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if since > timezone.localdate():
            raise forms.ValidationError("La date de la séance précédente ne peut être à venir.")
        return since
