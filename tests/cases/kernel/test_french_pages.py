"""Every main page, as each role sees it, puts a no-break space before « : ; ? ! »: a plain
space lets the sign wrap alone at the start of a line."""

from html import unescape

import pytest
from django.urls import reverse

from tests import factories
from tests.cases.kernel.test_french import plain_spaces_before_punctuation

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases():
    contract = factories.contract_in_state("regional_review")
    derogation = factories.derogation_in_state("ministerial_review")
    wave, minister = factories.wave_of(2)
    return {"contract": contract, "derogation": derogation, "wave": wave, "minister": minister}


def pages(cases) -> list[str]:
    contract, derogation, wave = cases["contract"], cases["derogation"], cases["wave"]
    return [
        reverse("home"),
        reverse("contract-list"),
        reverse("contract-detail", args=[contract.reference]),
        reverse("derogation-list"),
        reverse("derogation-detail", args=[derogation.reference]),
        reverse("call-list"),
        reverse("call-detail", args=[derogation.call_id]),
        reverse("wave-list"),
        reverse("wave-detail", args=[wave.pk]),
        reverse("task-list"),
        reverse("notification-list"),
        reverse("accessibility"),
        reverse("legal-notice"),
        reverse("personal-data"),
        # A GET on a POST-only address: the French 405 page.
        reverse("contract-transition", args=[contract.reference]),
    ]


@pytest.mark.parametrize("role", ["epci", "region", "ministry", "steering"])
def test_no_plain_space_before_high_punctuation_on_any_main_page(client, cases, role):
    users = {
        "epci": cases["contract"].created_by,
        "region": factories.region_reviewer("84"),
        "ministry": cases["minister"],
        "steering": factories.steering_member(),
    }
    client.force_login(users[role])
    found = {}
    for url in pages(cases):
        # The steering committee's home is its dashboard: follow there.
        response = client.get(url, follow=True)
        if response.status_code == 404:
            continue  # out of this role's scope
        spaces = plain_spaces_before_punctuation(unescape(response.content.decode()))
        if spaces:
            found[url] = spaces
    assert found == {}


def test_refused_forms_and_confirmations_use_no_break_spaces(client, cases):
    derogation = cases["derogation"]
    client.force_login(cases["minister"])
    refused = client.post(
        reverse("derogation-decide", args=[derogation.reference]),
        {"version": derogation.version, "outcome": "granted", "motivation": "", "legal_basis": ""},
    )
    assert refused.status_code == 400
    assert plain_spaces_before_punctuation(unescape(refused.content.decode())) == []
    contract = cases["contract"]
    client.force_login(contract.created_by)
    confirm = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "withdraw", "comment": "Projet abandonné"},
    )
    assert confirm.status_code == 200
    assert plain_spaces_before_punctuation(unescape(confirm.content.decode())) == []
