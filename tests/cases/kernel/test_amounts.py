"""Amounts are read as people type them: spaces between thousands, a comma or a point."""

from decimal import Decimal

import pytest
from django.urls import reverse

from cases.contracts import forms as contract_forms
from cases.derogations import forms as derogation_forms
from cases.kernel import forms
from cases.models import ActionSheet, DerogationRequest
from tests import factories

ERROR = "Saisissez un montant en euros, par exemple 12\u00a0000,50."


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12 000", Decimal("12000")),
        ("12 000,50", Decimal("12000.50")),
        ("12\u00a0000,50", Decimal("12000.50")),
        ("12\u202f000,50", Decimal("12000.50")),
        ("12000.50", Decimal("12000.50")),
        ("12000,50", Decimal("12000.50")),
        ("  1 300 000  ", Decimal("1300000")),
        ("12 000,5 €", Decimal("12000.5")),
        ("0", Decimal("0")),
    ],
)
def test_amount_field_reads_what_people_type(typed, expected):
    assert forms.AmountField().clean(typed) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("douze mille", ERROR),
        ("12,000.50", ERROR),
        ("12.000,50", ERROR),
        ("1,2,3", ERROR),
        ("12 000,", ERROR),
        ("€", ERROR),
        ("-5", "Le montant ne peut pas être négatif."),
        ("12 000,505", "2 chiffres"),
        ("1" * 15, "14 chiffres"),
    ],
)
def test_amount_field_refuses_garbage_in_french(typed, message):
    with pytest.raises(forms.forms.ValidationError) as error:
        forms.AmountField().clean(typed)
    assert message in " ".join(error.value.messages)


def test_every_amount_field_is_an_amount_field():
    assert isinstance(contract_forms.ActionForm.base_fields["total_cost"], forms.AmountField)
    assert isinstance(contract_forms.FinancingForm.base_fields["amount"], forms.AmountField)
    assert isinstance(
        derogation_forms.DerogationForm.base_fields["expected_investment"], forms.AmountField
    )
    widget = contract_forms.FinancingForm().fields["amount"].widget
    assert widget.input_type == "text" and widget.attrs["inputmode"] == "decimal"


def test_amount_shown_back_as_french_people_write_it():
    form = contract_forms.FinancingForm(initial={"amount": Decimal("1300000.5")})
    assert 'value="1 300 000,50"' in str(form["amount"])
    assert 'type="number"' not in str(form["amount"])


@pytest.mark.django_db
def test_action_form_saves_amounts_typed_with_spaces(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    url = reverse("action-create", args=[contract.reference])
    page = client.get(url).content.decode()
    assert 'inputmode="decimal"' in page and 'type="number"' not in page
    response = client.post(
        url,
        {
            "version": factories.contract_version(contract),
            "title": "Usine",
            "axis": "innover",
            "project_owner": "Porteur",
            "total_cost": "1\u202f300\u202f000,50",
            "status": "idea",
            "fin-TOTAL_FORMS": "2",
            "fin-INITIAL_FORMS": "0",
            "fin-0-funder": "region",
            "fin-0-amount": "12 000",
            "fin-1-funder": "bpifrance",
            "fin-1-amount": "12000.50",
        },
    )
    assert response.status_code == 302
    action = ActionSheet.objects.get(contract=contract)
    assert action.total_cost == Decimal("1300000.50")
    assert sorted(line.amount for line in action.financings.all()) == [
        Decimal("12000"),
        Decimal("12000.50"),
    ]


@pytest.mark.django_db
def test_action_form_refuses_a_garbage_amount_and_saves_nothing(client):
    contract = factories.contract_in_state("draft", actions=0)
    client.force_login(contract.created_by)
    response = client.post(
        reverse("action-create", args=[contract.reference]),
        {
            "version": factories.contract_version(contract),
            "title": "Usine",
            "axis": "innover",
            "project_owner": "Porteur",
            "total_cost": "beaucoup",
            "status": "idea",
            "fin-TOTAL_FORMS": "0",
            "fin-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 400
    assert "Saisissez un montant en euros" in response.content.decode()
    assert not ActionSheet.objects.filter(contract=contract).exists()


@pytest.mark.django_db
def test_derogation_investment_typed_with_spaces(client):
    request = factories.derogation_in_state("draft")
    client.force_login(request.created_by)
    form = derogation_forms.DerogationForm(instance=request)
    data = {
        name: form.initial.get(name) if form.initial.get(name) is not None else ""
        for name in derogation_forms.DerogationForm.Meta.fields
    }
    data.update(version=request.version, expected_investment="1 500 000")
    response = client.post(reverse("derogation-edit", args=[request.reference]), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert DerogationRequest.objects.get(pk=request.pk).expected_investment == Decimal("1500000")
