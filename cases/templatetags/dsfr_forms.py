"""The DSFR markup of a form field: its classes, its error state, and what describes it."""

from django import template

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


@register.filter
def fields_in_error(form) -> list:
    return [field for field in form.visible_fields() if field.errors]


@register.filter
def hidden_in_error(form) -> bool:
    return any(field.errors for field in form.hidden_fields())
