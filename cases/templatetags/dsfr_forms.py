"""The DSFR markup of a form field: its classes, its error state, and what describes it."""

from django import template
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from cases.kernel import french

register = template.Library()

WIDGET_CLASSES = {"select": "fr-select", "file": "fr-upload", "checkbox": ""}


def describing_ids(field) -> list[str]:
    """The ids of the hint and the error message the field's template writes, in that order."""
    ids = []
    if field.help_text:
        ids.append(f"{field.auto_id}-desc-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-desc-error")
    return ids


@register.simple_tag
def dsfr_widget(field):
    widget = field.field.widget
    base = WIDGET_CLASSES.get(getattr(widget, "input_type", ""), "fr-input")
    classes = [widget.attrs.get("class", ""), base]
    if field.errors and base in ("fr-input", "fr-select"):
        classes.append(f"{base}--error")
    attrs = {"class": " ".join(c for c in classes if c)}
    described = describing_ids(field)
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs={name: value for name, value in attrs.items() if value})


OPTIONAL = ' <span class="fr-hint-text fr-text--xs">(facultatif)</span>'


@register.simple_tag
def filter_field(field):
    """What includes/field.html writes for a select or an input, written in Python: a list's
    nine filters through that include cost a millisecond of every list page."""
    input_type = getattr(field.field.widget, "input_type", "")
    if input_type == "checkbox":
        return render_to_string("includes/field.html", {"field": field})
    kind = "select" if input_type == "select" else "input"
    auto_id = conditional_escape(field.auto_id)
    errors = field.errors
    optional = "" if field.field.required else OPTIONAL
    hint = (
        f' <span class="fr-hint-text" id="{auto_id}-desc-hint">'
        f"{french.typo(conditional_escape(field.help_text))}</span>"
        if field.help_text
        else ""
    )
    error = (
        f'<p class="fr-error-text" id="{auto_id}-desc-error">'
        f"{french.typo(' '.join(conditional_escape(e) for e in errors))}</p>"
        if errors
        else ""
    )
    return mark_safe(  # noqa: S308 - every part above is escaped
        f'<div class="fr-{kind}-group{f" fr-{kind}-group--error" if errors else ""}">'
        f'<label class="fr-label" for="{auto_id}">{conditional_escape(field.label)}{optional}'
        f"{hint}</label>{dsfr_widget(field)}{error}</div>"
    )


@register.filter
def fields_in_error(form) -> list:
    """None for no form (a page that shows a refused one only when there is one)."""
    if not hasattr(form, "visible_fields"):
        return []
    return [field for field in form.visible_fields() if field.errors]


@register.filter
def hidden_in_error(form) -> bool:
    return any(field.errors for field in form.hidden_fields())


@register.filter
def lines_in_error(formset) -> list[dict]:
    """The fields in error of a formset's lines (a fiche-action's financings), each named by
    its line, for the error summary; none of an unbound formset."""
    if not getattr(formset, "is_bound", False):
        return []
    return [
        {"field": field, "label": f"Financement {number} — {field.label}"}
        for number, line in enumerate(formset, start=1)
        for field in line.visible_fields()
        if field.errors
    ]
