"""What every case kind's forms share: amounts as people type them, the version a form was
shown at, the lists' filter fields, the decision, comment and document forms.
"""

import hashlib
import html
import json
import re
from decimal import Decimal
from typing import cast

from django import forms
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils.safestring import SafeData, mark_safe

from cases.kernel.documents import SIZE_HINT
from cases.kernel.models import DUE_SOON_DAYS, PLAIN_TEXT, State
from cases.kernel.validators import validate_plain_text

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
AMOUNT_ERROR = "Saisissez un montant en euros, par exemple 12\u00a0000,50."
# The spaces people type between thousands: plain, no-break, narrow no-break, thin.
_AMOUNT_SPACES = re.compile(r"[ \u00a0\u202f\u2009\u2007]")
_AMOUNT = re.compile(r"-?\d+(?:[.,]\d+)?")


class AmountField(forms.DecimalField):
    """An amount in euros as people type it: « 12 000,50 », « 12000.50 », « 12 000 € »."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", Decimal("0"))
        kwargs.pop("localize", None)
        kwargs["widget"] = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", AMOUNT_ERROR)
        kwargs["error_messages"].setdefault("min_value", "Le montant ne peut pas être négatif.")
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        text = _AMOUNT_SPACES.sub("", str(value).strip()).removesuffix("€").removesuffix("EUR")
        if not _AMOUNT.fullmatch(text):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return Decimal(text.replace(",", "."))

    def prepare_value(self, value):
        # Shown back as French people write it, which to_python reads again.
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            whole, _, cents = f"{Decimal(value):.2f}".partition(".")
            return f"{int(whole):,}".replace(",", " ") + f",{cents}"
        return value

    def widget_attrs(self, widget):
        # Not the number input's min/step: the text input takes « 12 000,50 ».
        return {}


def plain_text_formfield(db_field, **kwargs):
    """The model's validator on the form field too, before Django's own NUL check stops
    the field short of the model's cleaning: one message for every invisible character."""
    field = db_field.formfield(**kwargs)
    if isinstance(field, forms.CharField) and validate_plain_text not in field.validators:
        field.validators.insert(0, validate_plain_text)
    return field


class VersionedForm(forms.Form):
    """Carries the version of the case the user was looking at, to refuse stale edits."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def digest(value: object) -> str:
    if isinstance(value, Decimal):
        value = value.normalize()  # 250000 typed, 250000.00 stored: the same amount
    return hashlib.sha256(str("" if value is None else value).encode()).hexdigest()[:16]


class MergeableForm(forms.ModelForm):
    """An edit form that carries, beside the version it was shown at, a digest of each field
    as it was then (``base``): when a colleague saves the case meanwhile, what each of them
    changed can be told apart (``merged_after_stale``)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    base = forms.CharField(widget=forms.HiddenInput, required=False, validators=PLAIN_TEXT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "base" not in self.initial:
            self.initial["base"] = self.base_of(self.instance)

    def base_of(self, instance) -> str:
        return json.dumps(self.digests_of(instance))

    def digests_of(self, instance) -> dict[str, str]:
        return {name: digest(getattr(instance, name)) for name in self._meta.fields or []}

    def mergeable(self, current) -> bool:
        """Whether what the form does not show either (a fiche's lines) is still as it was."""
        return True

    def base_digests(self) -> dict[str, str]:
        try:
            digests = json.loads(self.cleaned_data.get("base") or "{}")
        except ValueError:
            return {}
        return digests if isinstance(digests, dict) else {}


def merged_after_stale(
    form: MergeableForm, current, version: int
) -> tuple[MergeableForm, dict[str, object]]:
    """``form`` (valid) against ``current``, what it edits as a colleague saved it meanwhile
    (None for a new one): what only the colleague changed comes into the form, what only this
    user changed stays, and a field both changed keeps this user's input. Returns the form
    bound to that, on the case's ``version`` now, and the fields both changed with the
    colleague's value of each (``current`` itself takes the form's values, as a model form's
    instance does)."""
    base = form.base_digests()
    names = list(form._meta.fields or []) if current is not None else []
    data = cast(QueryDict, form.data).copy()
    both = {}
    for name in names:
        typed, now = form.cleaned_data.get(name), getattr(current, name)
        if typed == now or digest(now) == base.get(name):
            continue
        if digest(typed) == base.get(name):
            data[name] = "" if now is None else str(form.fields[name].prepare_value(now))
        else:
            both[name] = now
    data["version"] = str(version)
    if current is not None:
        data["base"] = form.base_of(current)
    merged = type(form)(data, instance=current)
    merged.is_valid()
    return merged, both


def posted_initial(form_class, data) -> dict:
    """What the user typed, as the initial values of an unbound form: shown back, not checked."""
    return {name: data.get(name) for name in form_class.base_fields if name in data}


DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
BAD_DATE = "Saisissez une date valide, par exemple 2019-03-05 ou 05/03/2019."


def date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=QuickDateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=DATE_INPUT_FORMATS,
        error_messages={"invalid": BAD_DATE},
    )


class QuickSelect(forms.Select):
    """A select written in Python: a list's filters offer the 148 territories, and rendering
    each option through its own template cost more than all the page's queries. Each option
    is one f-string of escaped text: ``format_html`` per option still cost 5 ms a page, and
    ``html.escape`` is what Django's ``escape`` runs."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{html.escape(code)}"{" selected" if code in chosen else ""}>'
            f"{label if isinstance(label, SafeData) else html.escape(str(label))}</option>"
            for code, label in ((str(code), label) for code, label in self.choices)
        )
        return mark_safe(f"<select{flatatt(final)}>{options}</select>")  # noqa: S308 - escaped


class QuickInputMixin:
    """Django's input.html and attrs.html, written in Python (the same markup): the list
    filters' text and date fields are rendered on every list page."""

    def render(self, name, value, attrs=None, renderer=None):
        final = self.build_attrs(self.attrs, attrs)  # type: ignore[attr-defined]
        shown = self.format_value(value)  # type: ignore[attr-defined]
        value_attr = "" if shown is None else f' value="{html.escape(str(shown))}"'
        return mark_safe(  # noqa: S308 - escaped, flatatt escapes the attributes
            f'<input type="{html.escape(self.input_type)}" name="{html.escape(name)}"'  # type: ignore[attr-defined]
            f"{value_attr}{flatatt(final)}>"
        )


class QuickTextInput(QuickInputMixin, forms.TextInput):
    pass


class QuickDateInput(QuickInputMixin, forms.DateInput):
    pass


def pk_choice(label: str, empty: str, unknown: str) -> forms.TypedChoiceField:
    """A choice of rows listed by the view (one query, in the user's scope), cleaned to a pk:
    a value outside that list is refused like any other bad input."""
    return forms.TypedChoiceField(
        label=label,
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", empty)],
        widget=QuickSelect,
        error_messages={"invalid_choice": unknown},
    )


def code_choice(label: str, empty: str, choices, unknown: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[("", empty), *choices],
        widget=QuickSelect,
        error_messages={"invalid_choice": unknown},
    )


class ListFilterForm(forms.Form):
    """The filters of a list, read from the query string. ``since`` and ``until`` bound the
    date of submission (both days included)."""

    since = date_field("Déposé depuis le")
    until = date_field("Déposé jusqu'au")

    def set_choices(self, name: str, choices) -> None:
        field = cast(forms.ChoiceField, self.fields[name])
        empty = next(iter(cast(list, field.choices)))
        field.choices = [empty, *choices]

    def clean(self):
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "La date de fin doit suivre la date de début (ou l'égaler).")
        return data


STATE_CHOICES = [(s.value, s.label) for s in State if s != State.DECIDED]
UNKNOWN_REGION = "Cette Région n'est pas dans la liste : choisissez-en une de votre périmètre."


DUE_CHOICES = [
    ("late", "En retard"),
    ("soon", f"Bientôt dû (sous {DUE_SOON_DAYS} jours)"),
]
SORT_CHOICES = [("due", "Échéance la plus proche")]


class DueFilterForm(forms.Form):
    """The « En retard » and « Bientôt dû » filter of the lists of cases and of the inbox."""

    due = code_choice("Échéance", "Toutes", DUE_CHOICES, "Choisissez une échéance de la liste.")


def sort_choice(default: str) -> forms.ChoiceField:
    """The order of a list: ``default`` (its own), or the soonest due date first."""
    return code_choice("Trier par", default, SORT_CHOICES, "Choisissez un ordre de la liste.")


class CaseFilterForm(DueFilterForm, ListFilterForm):
    """The filters of a list of cases: those of any list, and the case's due date."""

    sort = sort_choice("Dernière mise à jour")


class TransitionForm(VersionedForm):
    transition = forms.CharField(widget=forms.HiddenInput, validators=PLAIN_TEXT)
    comment = forms.CharField(
        label="Commentaire",
        required=False,
        max_length=10_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Votre message",
        max_length=10_000,
        validators=PLAIN_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    private = forms.BooleanField(
        label="Note interne (visible par la Région et le ministère seulement)", required=False
    )


class DocumentForm(forms.Form):
    file = forms.FileField(
        label="Document",
        help_text=SIZE_HINT,
        error_messages={"required": "Choisissez un fichier à envoyer."},
    )
