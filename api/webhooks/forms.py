from typing import Any

from django import forms

from accounts.models import Organisation
from api.webhooks.models import EventType
from cases.kernel.models import PLAIN_TEXT


class SubscriptionForm(forms.Form):
    organisation = forms.TypedChoiceField(
        label="Organisation",
        coerce=int,
        error_messages={"invalid_choice": "Choisissez une organisation dont vous êtes référent."},
    )
    url = forms.CharField(
        label="Adresse de réception",
        max_length=500,
        help_text="Une adresse https:// publique, par exemple https://si.exemple.fr/webhooks.",
    )
    description = forms.CharField(
        label="Description",
        max_length=100,
        required=False,
        validators=PLAIN_TEXT,
        help_text="Pour le reconnaître, par exemple « Système d'information régional ».",
    )
    event_types = forms.MultipleChoiceField(
        label="Événements envoyés",
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choisissez au moins un type d'événement.",
            "invalid_choice": "Choisissez les événements dans la liste.",
        },
    )

    def __init__(self, *args: Any, organisations: list[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(o.pk, o.name) for o in organisations]


class ReplayForm(forms.Form):
    message_id = forms.CharField(
        label="Message ou événement de départ",
        max_length=40,
        help_text=(
            "L'identifiant d'un message du journal (msg_…) ou le numéro d'un événement "
            "(data.case.event.id) : ce message et tous les suivants repartent."
        ),
    )
