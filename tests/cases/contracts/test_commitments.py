"""Operators (and the other funders) commit their financing: who may answer which line,
what an answer writes (the line, the audit event, the notifications), what it refuses, how
the fiche-action form keeps the answers, and what the contract page shows."""

import html
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.contracts import commitments
from cases.contracts import services as contract_services
from cases.kernel import services
from cases.models import CaseEvent, FinancingLine
from notifications import delivery
from notifications.models import Notification
from tests import factories
from tests.cases.page import Page, error_of

pytestmark = pytest.mark.django_db

# The territory 8414 (Vallée de l'Arve), piloted by Auvergne-Rhône-Alpes (84), and one of
# its EPCI; another EPCI and another Region elsewhere.
EPCI_HERE, EPCI_ELSEWHERE = "200000172", "200065597"
REGION_HERE, REGION_ELSEWHERE = "84", "28"
LINES = [
    ("bpifrance", Decimal("40000")),
    ("france_travail", Decimal("15000")),
    ("region", Decimal("10000")),
    ("state", Decimal("20000")),
    ("epci", Decimal("5000")),
    ("other", Decimal("2500")),
]


@pytest.fixture
def people():
    return {
        "epci": factories.epci_agent(EPCI_HERE),
        "epci_elsewhere": factories.epci_agent(EPCI_ELSEWHERE),
        "region": factories.region_reviewer(REGION_HERE),
        "region_elsewhere": factories.region_reviewer(REGION_ELSEWHERE),
        "ministry": factories.ministry_agent(),
        "steering": factories.steering_member(),
        "bpifrance": factories.operator_agent("Bpifrance"),
        "france_travail": factories.operator_agent("France Travail"),
        "business_france": factories.operator_agent("Business France"),
    }


def funded_contract(author, *, state: str = "regional_review", lines=LINES):
    """A contract whose one fiche-action asks every kind of funder, brought to ``state``."""
    contract = factories.contract_in_state("draft", author=author, actions=0)
    contract_services.action_save(
        case=contract,
        actor=author,
        expected_version=factories.contract_version(contract),
        fields={
            "title": "Plateforme de décolletage 4.0",
            "axis": "innover",
            "project_owner": "Syndicat national du décolletage",
            "total_cost": Decimal("500000"),
        },
        financings=[{"funder": funder, "amount": amount} for funder, amount in lines],
    )
    if state != "draft":
        services.case_submit(case=contract, actor=author)
    if state == "ministerial_review":
        services.case_approve(case=contract, actor=factories.region_reviewer(REGION_HERE))
    contract.refresh_from_db()
    return contract


def text(response) -> str:
    return html.unescape(response.content.decode())


def line_of(contract, funder: str) -> FinancingLine:
    return FinancingLine.objects.get(action__contract=contract, funder=funder)


def version(contract) -> int:
    return factories.contract_version(contract)


def snapshot(contract):
    """Everything an answer may change: the lines, the case's version, its events, the
    notifications."""
    lines = list(
        FinancingLine.objects.filter(action__contract=contract)
        .order_by("pk")
        .values_list("pk", "status", "committed_amount", "committed_on", "note", "answered_by")
    )
    return (
        lines,
        version(contract),
        CaseEvent.objects.filter(case=contract).count(),
        Notification.objects.filter(case=contract).count(),
    )


def commit(contract, funder, actor, **overrides):
    values = {
        "amount": Decimal("30000"),
        "committed_on": date(2019, 6, 1),
        "note": "Prêt d'amorçage.",
        "expected_version": version(contract),
    }
    return commitments.financing_commit(
        line=line_of(contract, funder), actor=actor, **{**values, **overrides}
    )


def decline(contract, funder, actor, **overrides):
    values = {"note": "Hors de nos critères.", "expected_version": version(contract)}
    return commitments.financing_decline(
        line=line_of(contract, funder), actor=actor, **{**values, **overrides}
    )


ANSWERS = {"commit": commit, "decline": decline}
ROLES = [
    "epci",
    "epci_elsewhere",
    "region",
    "region_elsewhere",
    "ministry",
    "steering",
    "bpifrance",
    "france_travail",
    "business_france",
]
# The one role that answers each kind of line; "other" lines, nobody.
ANSWERER = {
    "bpifrance": "bpifrance",
    "region": "region",
    "state": "ministry",
    "epci": "epci",
    "other": None,
}


@pytest.mark.parametrize("answer", ["commit", "decline"])
@pytest.mark.parametrize("funder", list(ANSWERER))
@pytest.mark.parametrize("role", ROLES)
def test_permission_table(people, role, funder, answer):
    contract = funded_contract(people["epci"])
    before = snapshot(contract)
    if ANSWERER[funder] == role:
        ANSWERS[answer](contract, funder, people[role])
        expected = "committed" if answer == "commit" else "declined"
        assert line_of(contract, funder).status == expected
        assert version(contract) == before[1] + 1
        return
    with pytest.raises(services.ActionForbidden) as refused:
        ANSWERS[answer](contract, funder, people[role])
    assert refused.value.status == 403
    assert "engagent ou déclinent" in refused.value.message or "Autre" in refused.value.message
    assert snapshot(contract) == before


def test_who_may_answer_is_said_in_french(people):
    contract = funded_contract(people["epci"])
    with pytest.raises(services.ActionForbidden) as refused:
        commit(contract, "bpifrance", people["epci"])
    assert (
        refused.value.message
        == "Seuls les agents de Bpifrance engagent ou déclinent ce financement."
    )


@pytest.mark.parametrize(
    ("state", "allowed"),
    [
        ("draft", False),
        ("regional_review", True),
        ("ministerial_review", True),
        ("signed_off", True),
        ("contractualised", False),
        ("rejected", False),
        ("withdrawn", False),
    ],
)
def test_answers_are_given_once_submitted_and_while_the_case_lives(people, state, allowed):
    contract = factories.contract_in_state(state, author=people["epci"])
    before = snapshot(contract)
    if allowed:
        commit(contract, "bpifrance", people["bpifrance"])
        assert line_of(contract, "bpifrance").status == "committed"
        return
    with pytest.raises(services.ActionNotPossible) as refused:
        commit(contract, "bpifrance", people["bpifrance"])
    assert refused.value.status == 409
    assert "financements" in refused.value.message
    assert snapshot(contract) == before


def test_a_commitment_writes_the_line_and_an_audit_event(people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"], amount="12000.50")
    line = line_of(contract, "bpifrance")
    assert (line.status, line.committed_amount, line.committed_on, line.note) == (
        "committed",
        Decimal("12000.50"),
        date(2019, 6, 1),
        "Prêt d'amorçage.",
    )
    assert line.answered_by == people["bpifrance"] and line.answered_at is not None
    event = CaseEvent.objects.filter(case=contract).order_by("-seq").first()
    assert (event.kind, event.name, event.actor) == (
        "edit",
        "financing_commit",
        people["bpifrance"],
    )
    assert event.label == "Engagement d'un financement"
    assert event.payload == {
        "action": "commit",
        "line": line.pk,
        "fiche": line.action_id,
        "fiche_title": "Plateforme de décolletage 4.0",
        "funder": "bpifrance",
        "requested": "40000.00",
        "committed": "12000.50",
        "committed_on": "2019-06-01",
        "note": "Prêt d'amorçage.",
        "previous": {
            "line": line.pk,
            "funder": "bpifrance",
            "amount": "40000.00",
            "status": "requested",
            "committed_amount": None,
            "committed_on": None,
            "note": "",
        },
    }


def test_committing_again_adjusts_and_declining_withdraws(people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    commit(contract, "bpifrance", people["bpifrance"], amount=Decimal("35000"))
    adjusted = CaseEvent.objects.filter(case=contract).order_by("-seq").first()
    assert adjusted.payload["action"] == "adjust"
    assert adjusted.payload["previous"]["committed_amount"] == "30000.00"
    assert line_of(contract, "bpifrance").committed_amount == Decimal("35000")
    decline(contract, "bpifrance", people["bpifrance"])
    line = line_of(contract, "bpifrance")
    assert (line.status, line.committed_amount, line.committed_on) == ("declined", None, None)
    declined = CaseEvent.objects.filter(case=contract).order_by("-seq").first()
    assert (declined.name, declined.label) == ("financing_decline", "Financement décliné")
    assert declined.payload["action"] == "decline"
    assert declined.payload["previous"]["status"] == "committed"


def test_the_same_answer_twice_changes_nothing(people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    before = snapshot(contract)
    commit(contract, "bpifrance", people["bpifrance"])
    assert snapshot(contract) == before


@pytest.mark.django_db(transaction=True)
def test_an_answer_tells_the_territorys_epci_and_region_once_committed(
    reference_data, people, monkeypatch
):
    contract = funded_contract(people["epci"])
    colleague = factories.epci_agent(EPCI_HERE)
    pushed = []
    monkeypatch.setattr(delivery, "push", lambda messages, case_id, **kw: pushed.append(messages))
    with transaction.atomic():
        commit(contract, "bpifrance", people["bpifrance"])
        assert not pushed, "nothing leaves before the commit"
    assert len(pushed) == 1 and len(pushed[0]) == 3
    event = CaseEvent.objects.get(case=contract, name="financing_commit")
    told = set(Notification.objects.filter(event=event).values_list("recipient", flat=True))
    assert told == {people["epci"].pk, colleague.pk, people["region"].pk}
    text = Notification.objects.filter(event=event).first().text
    assert text.startswith(f"{contract.reference}\u00a0: engagement d'un financement")
    assert "Bpifrance, 30\u202f000,00\xa0€" in text
    decline(contract, "france_travail", people["france_travail"])
    event = CaseEvent.objects.get(case=contract, name="financing_decline")
    assert Notification.objects.filter(event=event).count() == 3


@pytest.mark.django_db(transaction=True)
def test_a_refused_answer_writes_no_notification(reference_data, people):
    contract = funded_contract(people["epci"])
    before = Notification.objects.count()
    with pytest.raises(services.InvalidInput):
        commit(contract, "bpifrance", people["bpifrance"], amount=Decimal("-1"))
    with pytest.raises(services.StaleCase):
        commit(contract, "bpifrance", people["bpifrance"], expected_version=1)
    assert Notification.objects.count() == before


def test_a_stale_form_is_refused(people):
    contract = funded_contract(people["epci"])
    seen = version(contract)
    commit(contract, "france_travail", people["france_travail"])
    before = snapshot(contract)
    with pytest.raises(services.StaleCase) as refused:
        commit(contract, "bpifrance", people["bpifrance"], expected_version=seen)
    assert refused.value.status == 409
    assert "vient d'être modifié" in refused.value.message
    assert snapshot(contract) == before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"amount": Decimal("-1")}, "amount", "Le montant ne peut pas être négatif."),
        ({"amount": "douze"}, "amount", "Saisissez un montant en euros"),
        ({"amount": None}, "amount", "Indiquez le montant engagé."),
        ({"amount": Decimal("1.005")}, "amount", "deux décimales"),
        ({"committed_on": None}, "committed_on", "Indiquez la date de l'engagement."),
        ({"committed_on": date(2999, 1, 1)}, "committed_on", "dans le futur"),
        ({"note": "Prêt\x00"}, "note", "caractère invisible ou de contrôle (U+0000)"),
        ({"note": "x" * 5001}, "note", "La note dépasse 5"),
    ],
)
def test_bad_input_is_refused_in_french_and_changes_nothing(people, overrides, field, message):
    contract = funded_contract(people["epci"])
    before = snapshot(contract)
    with pytest.raises(services.InvalidInput) as refused:
        commit(contract, "bpifrance", people["bpifrance"], **overrides)
    assert message in " ".join(refused.value.field_errors[field])
    assert snapshot(contract) == before


def test_a_decline_note_goes_through_the_text_validator(people):
    contract = funded_contract(people["epci"])
    before = snapshot(contract)
    with pytest.raises(services.InvalidInput):
        decline(contract, "bpifrance", people["bpifrance"], note="Non\u202e")
    assert snapshot(contract) == before


# The fiche-action form: the EPCI requests, never answers.


def back_to_draft(contract, people):
    services.case_request_changes(case=contract, actor=people["region"], comment="Précisez.")
    contract.refresh_from_db()


def edit_rows(contract, **changes):
    """The fiche-action's rows as its form posts them, with ``changes`` by funder."""
    rows = []
    for line in FinancingLine.objects.filter(action__contract=contract).order_by("pk"):
        row = {"line": line.pk, "funder": line.funder, "amount": line.amount}
        rows.append({**row, **changes.get(line.funder, {})})
    return rows


def save_action(contract, actor, rows):
    action = contract.actions.get()
    return contract_services.action_save(
        case=contract,
        actor=actor,
        expected_version=version(contract),
        fields={
            "title": action.title,
            "axis": action.axis,
            "project_owner": action.project_owner,
            "total_cost": action.total_cost,
        },
        financings=rows,
        action_id=action.pk,
    )


def test_editing_keeps_an_unchanged_answer_and_resets_a_changed_one(people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    decline(contract, "france_travail", people["france_travail"])
    commit(contract, "region", people["region"], amount=Decimal("10000"))
    back_to_draft(contract, people)
    kept_pk = line_of(contract, "bpifrance").pk
    save_action(contract, people["epci"], edit_rows(contract, region={"amount": Decimal("12000")}))
    kept = line_of(contract, "bpifrance")
    assert (kept.pk, kept.status, kept.committed_amount) == (kept_pk, "committed", Decimal("30000"))
    assert line_of(contract, "france_travail").status == "declined"
    reset = line_of(contract, "region")
    assert (reset.status, reset.committed_amount, reset.amount, reset.answered_by) == (
        "requested",
        None,
        Decimal("12000"),
        None,
    )
    event = CaseEvent.objects.filter(case=contract).order_by("-seq").first()
    assert event.name == "action_update"
    assert [
        (r["funder"], r["status"], r["committed_amount"]) for r in event.payload["answers_reset"]
    ] == [("region", "committed", "10000.00")]
    assert "financings_removed" not in event.payload


def test_changing_the_funder_of_an_answered_line_resets_it(people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    back_to_draft(contract, people)
    save_action(
        contract, people["epci"], edit_rows(contract, bpifrance={"funder": "business_france"})
    )
    line = line_of(contract, "business_france")
    assert (line.status, line.committed_amount) == ("requested", None)
    assert not FinancingLine.objects.filter(action__contract=contract, funder="bpifrance").exists()


def test_removing_an_answered_line_stays_in_the_audit(people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    back_to_draft(contract, people)
    rows = [row for row in edit_rows(contract) if row["funder"] != "bpifrance"]
    save_action(contract, people["epci"], rows)
    assert not FinancingLine.objects.filter(action__contract=contract, funder="bpifrance").exists()
    event = CaseEvent.objects.filter(case=contract).order_by("-seq").first()
    [removed] = event.payload["financings_removed"]
    assert (removed["funder"], removed["status"], removed["committed_amount"]) == (
        "bpifrance",
        "committed",
        "30000.00",
    )


def test_the_fiche_action_service_never_sets_a_status(people):
    contract = funded_contract(people["epci"], state="draft")
    before = snapshot(contract)
    rows = edit_rows(contract, bpifrance={"status": "committed"})
    with pytest.raises(services.ActionForbidden) as refused:
        save_action(contract, people["epci"], rows)
    assert "Seul le financeur" in refused.value.message
    assert snapshot(contract) == before


def test_a_line_of_another_fiche_action_is_refused(people):
    contract = funded_contract(people["epci"], state="draft")
    other = funded_contract(factories.epci_agent(EPCI_HERE), state="draft")
    before = snapshot(contract)
    rows = edit_rows(contract)
    rows[0]["line"] = line_of(other, "bpifrance").pk
    with pytest.raises(services.InvalidInput):
        save_action(contract, people["epci"], rows)
    assert snapshot(contract) == before


def action_post(contract, **lines) -> dict:
    """The fiche-action form as posted, each existing line with its hidden id."""
    action = contract.actions.get()
    data = {
        "version": version(contract),
        "title": action.title,
        "axis": action.axis,
        "project_owner": action.project_owner,
        "total_cost": str(action.total_cost),
        "status": action.status,
    }
    rows = FinancingLine.objects.filter(action=action).order_by("pk")
    data["fin-TOTAL_FORMS"] = str(rows.count())
    data["fin-INITIAL_FORMS"] = data["fin-TOTAL_FORMS"]
    for index, line in enumerate(rows):
        data[f"fin-{index}-line"] = str(line.pk)
        data[f"fin-{index}-funder"] = line.funder
        data[f"fin-{index}-amount"] = str(line.amount)
        for key, value in lines.get(line.funder, {}).items():
            data[f"fin-{index}-{key}"] = value
    return data


def test_the_epci_cannot_commit_through_the_fiche_action_form(client, people):
    contract = funded_contract(people["epci"], state="draft")
    client.force_login(people["epci"])
    action = contract.actions.get()
    crafted = {
        "status": "committed",
        "committed_amount": "40000",
        "committed_on": "2019-06-01",
        "answered_by": str(people["epci"].pk),
    }
    response = client.post(
        reverse("action-edit", args=[contract.reference, action.pk]),
        action_post(contract, bpifrance=crafted),
    )
    assert response.status_code == 302
    line = line_of(contract, "bpifrance")
    assert (line.status, line.committed_amount, line.answered_by) == ("requested", None, None)


def test_the_epci_cannot_answer_an_operators_line_over_http(client, people):
    contract = funded_contract(people["epci"])
    before = snapshot(contract)
    client.force_login(people["epci"])
    url = reverse("financing-answer", args=[contract.reference, line_of(contract, "bpifrance").pk])
    assert 'name="decision"' not in client.get(url).content.decode()
    for decision in ("commit", "decline"):
        response = client.post(
            url,
            {
                "version": version(contract),
                "decision": decision,
                "amount": "40000",
                "committed_on": "2019-06-01",
                "confirm": "1",
            },
        )
        assert response.status_code == 403
        assert "Seuls les agents de Bpifrance" in text(response)
    assert snapshot(contract) == before


def test_the_fiche_action_form_warns_and_keeps_answers_over_http(client, people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    commit(contract, "region", people["region"], amount=Decimal("10000"))
    back_to_draft(contract, people)
    client.force_login(people["epci"])
    action = contract.actions.get()
    url = reverse("action-edit", args=[contract.reference, action.pk])
    page = client.get(url).content.decode()
    assert 'name="fin-0-status"' not in page
    assert f'name="fin-0-line" value="{line_of(contract, "bpifrance").pk}"' in page
    assert "Bpifrance a répondu" in page and "efface cette réponse" in page
    response = client.post(url, action_post(contract, region={"amount": "12 000"}), follow=True)
    assert response.status_code == 200
    assert "remise à «\xa0Demandé\xa0» (Région)" in text(response)
    assert line_of(contract, "bpifrance").status == "committed"
    assert line_of(contract, "region").status == "requested"


# The contract page and the answer page.


def test_the_contract_page_shows_requested_and_committed_apart(client, people):
    lines = [
        ("bpifrance", Decimal("40000")),
        ("region", Decimal("10000")),
        ("state", Decimal("5000")),
    ]
    contract = funded_contract(people["epci"], lines=lines)
    commit(contract, "bpifrance", people["bpifrance"], amount=Decimal("30000"))
    decline(contract, "state", people["ministry"])
    client.force_login(people["region"])
    page = Page(client.get(reverse("contract-detail", args=[contract.reference])).content.decode())
    assert page.by_id("total-requested").text == "55\u202f000,00\xa0€"
    assert page.by_id("total-committed").text == "30\u202f000,00\xa0€"
    assert page.by_id("total-declined").text == "5\u202f000,00\xa0€"
    headers = [th.text for th in page.by_id("totals-funder").find_all("th")]
    assert headers[:4] == ["Financeur", "Demandé", "Engagé", "Décliné"]
    bpifrance = page.by_id(f"ligne-{line_of(contract, 'bpifrance').pk}").text
    assert (
        "Engagé" in bpifrance
        and "30\u202f000,00\xa0€" in bpifrance
        and "1er\xa0juin 2019" in bpifrance
    )
    assert "Prêt d'amorçage." in bpifrance
    # The Region answers its own line, not the operator's.
    region_line = page.by_id(f"ligne-{line_of(contract, 'region').pk}")
    assert next(a.text for a in region_line.find_all("a")).startswith("Répondre")
    assert not page.by_id(f"ligne-{line_of(contract, 'bpifrance').pk}").find_all("a")


def test_an_operator_sees_the_submitted_contracts_it_funds_only(client, people):
    funded = funded_contract(people["epci"])
    draft = funded_contract(factories.epci_agent(EPCI_HERE), state="draft")
    elsewhere = funded_contract(
        factories.epci_agent(EPCI_HERE), lines=[("region", Decimal("1000"))]
    )
    client.force_login(people["bpifrance"])
    assert client.get(reverse("contract-detail", args=[funded.reference])).status_code == 200
    assert client.get(reverse("contract-detail", args=[draft.reference])).status_code == 404
    assert client.get(reverse("contract-detail", args=[elsewhere.reference])).status_code == 404
    hidden = line_of(draft, "bpifrance").pk
    answer = reverse("financing-answer", args=[draft.reference, hidden])
    assert client.get(answer).status_code == 404
    assert client.post(answer, {"decision": "commit"}).status_code == 404
    client.force_login(people["business_france"])
    assert client.get(reverse("contract-detail", args=[funded.reference])).status_code == 404


def test_an_operator_reads_the_rest_of_the_case_only(client, people):
    contract = funded_contract(people["epci"])
    client.force_login(people["bpifrance"])
    detail = reverse("contract-detail", args=[contract.reference])
    page = Page(client.get(detail).content.decode())
    forms = [form.attrs.get("action", "") for form in page.find_all("form")]
    assert not [action for action in forms if contract.reference in action], forms
    assert not page.find_all("button", name="transition")
    links = {a.attrs.get("href") for a in page.find_all("a")}
    assert reverse("contract-edit", args=[contract.reference]) not in links
    own = reverse("financing-answer", args=[contract.reference, line_of(contract, "bpifrance").pk])
    theirs = reverse("financing-answer", args=[contract.reference, line_of(contract, "region").pk])
    assert own in links and theirs not in links
    awaiting = page.by_id("awaiting-answer")
    assert "1\xa0financement attend votre réponse" in awaiting.text
    assert [a.attrs["href"] for a in awaiting.find_all("a")] == [own]
    before = snapshot(contract)
    refused = [
        client.post(
            reverse("contract-transition", args=[contract.reference]),
            {"version": version(contract), "transition": "approve"},
        ),
        client.post(reverse("comment-create", args=[contract.reference]), {"body": "Bonjour"}),
        client.post(
            reverse("action-edit", args=[contract.reference, contract.actions.get().pk]),
            action_post(contract),
        ),
        client.post(
            theirs,
            {
                "version": version(contract),
                "decision": "commit",
                "amount": "1",
                "committed_on": "2019-06-01",
            },
        ),
    ]
    # Each refused where it was posted, none sent elsewhere by a redirect.
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert snapshot(contract) == before
    assert not contract.comments.exists()


def test_the_answer_form_is_prefilled_and_commits(client, people):
    contract = funded_contract(people["epci"])
    line = line_of(contract, "bpifrance")
    client.force_login(people["bpifrance"])
    url = reverse("financing-answer", args=[contract.reference, line.pk])
    page = Page(client.get(url).content.decode())
    assert page.by_id("id_amount").attrs["value"] == "40 000,00"
    assert page.by_id("id_committed_on").attrs["value"] == timezone.localdate().isoformat()
    buttons = {b.attrs.get("value"): b.text for b in page.find_all("button", name="decision")}
    assert buttons == {"commit": "Engager", "decline": "Décliner"}
    response = client.post(
        url,
        {
            "version": version(contract),
            "decision": "commit",
            "amount": "12 000,50",
            "committed_on": "2019-06-01",
            "note": "Sous réserve du comité.",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("contract-detail", args=[contract.reference]))
    line.refresh_from_db()
    assert (line.status, line.committed_amount, line.committed_on, line.note) == (
        "committed",
        Decimal("12000.50"),
        date(2019, 6, 1),
        "Sous réserve du comité.",
    )
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    assert "Engagé" in page and "12\u202f000,50\xa0€" in page
    # Adjusting starts from the answer given.
    page = Page(client.get(url).content.decode())
    assert page.by_id("id_amount").attrs["value"] == "12 000,50"
    assert page.by_id("id_committed_on").attrs["value"] == "2019-06-01"


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"amount": "douze"}, "id_amount", "Saisissez un montant en euros"),
        ({"amount": "-5"}, "id_amount", "Le montant ne peut pas être négatif."),
        ({"amount": ""}, "id_amount", "Indiquez le montant engagé."),
        ({"committed_on": ""}, "id_committed_on", "Indiquez la date de l'engagement."),
        ({"committed_on": "32/13/2019"}, "id_committed_on", "Saisissez une date valide"),
        ({"note": "Prêt\x00 relais"}, "id_note", "caractère invisible"),
    ],
)
def test_a_refused_answer_comes_back_with_what_was_typed(client, people, typed, field, message):
    contract = funded_contract(people["epci"])
    before = snapshot(contract)
    client.force_login(people["bpifrance"])
    url = reverse("financing-answer", args=[contract.reference, line_of(contract, "bpifrance").pk])
    data = {
        "version": version(contract),
        "decision": "commit",
        "amount": "12 000,50",
        "committed_on": "2019-06-01",
        "note": "Ma note",
        **typed,
    }
    response = client.post(url, data)
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert message in error_of(page, field)
    assert page.by_id("id_amount").attrs.get("value", "") == data["amount"]
    assert page.by_id("id_committed_on").attrs.get("value", "") == data["committed_on"]
    if "\x00" not in data["note"]:
        assert page.by_id("id_note").value == data["note"]
    assert snapshot(contract) == before


def test_a_stale_answer_form_comes_back_409(client, people):
    contract = funded_contract(people["epci"])
    seen = version(contract)
    commit(contract, "region", people["region"])
    before = snapshot(contract)
    client.force_login(people["bpifrance"])
    url = reverse("financing-answer", args=[contract.reference, line_of(contract, "bpifrance").pk])
    response = client.post(
        url,
        {
            "version": seen,
            "decision": "commit",
            "amount": "12 000,50",
            "committed_on": "2019-06-01",
        },
    )
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert "vient d'être modifié" in text(response)
    assert page.by_id("id_amount").attrs["value"] == "12 000,50"
    assert snapshot(contract) == before


def test_declining_asks_first(client, people):
    contract = funded_contract(people["epci"])
    commit(contract, "bpifrance", people["bpifrance"])
    before = snapshot(contract)
    client.force_login(people["bpifrance"])
    url = reverse("financing-answer", args=[contract.reference, line_of(contract, "bpifrance").pk])
    data = {"version": version(contract), "decision": "decline", "note": "Projet hors critères."}
    asked = client.post(url, data)
    assert asked.status_code == 200
    page = Page(asked.content.decode())
    assert "Décliner le financement de Bpifrance" in page.find_all("h1")[0].text
    assert "sera retiré" in text(asked)
    hidden = {i.attrs["name"]: i.attrs["value"] for i in page.find_all("input", type="hidden")}
    assert hidden["decision"] == "decline" and hidden["confirm"] == "1"
    assert hidden["note"] == "Projet hors critères."
    assert snapshot(contract) == before
    done = client.post(url, hidden)
    assert done.status_code == 302
    line = line_of(contract, "bpifrance")
    assert (line.status, line.note, line.committed_amount) == (
        "declined",
        "Projet hors critères.",
        None,
    )


def test_json_callers_get_the_refusal_and_the_confirmation_request(client, people):
    contract = funded_contract(people["epci"])
    client.force_login(people["bpifrance"])
    url = reverse("financing-answer", args=[contract.reference, line_of(contract, "bpifrance").pk])
    json = {"HTTP_ACCEPT": "application/json"}
    bad = client.post(
        url,
        {
            "version": version(contract),
            "decision": "commit",
            "amount": "-1",
            "committed_on": "2019-06-01",
        },
        **json,
    )
    assert bad.status_code == 400 and "négatif" in " ".join(bad.json()["fields"]["amount"])
    ask = client.post(url, {"version": version(contract), "decision": "decline"}, **json)
    assert ask.status_code == 400 and ask.json()["confirm_required"] is True
    done = client.post(
        url, {"version": version(contract), "decision": "decline", "confirm": "1"}, **json
    )
    assert done.status_code == 200 and done.json()["status"] == "declined"


def page_queries(client, contract) -> int:
    detail = reverse("contract-detail", args=[contract.reference])
    client.get(detail)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail).status_code == 200
    return len(queries.captured_queries)


def test_the_contract_page_queries_do_not_grow_with_lines(client, people):
    client.force_login(people["bpifrance"])
    few = page_queries(client, funded_contract(people["epci"], lines=LINES[:2]))
    many = page_queries(client, funded_contract(factories.epci_agent(EPCI_HERE), lines=LINES * 3))
    assert few == many


def test_an_answer_made_stale_by_another_funder_can_be_sent_again_as_is(client, people):
    """Bpifrance has its form open; France Travail answers its own line meanwhile. Bpifrance's
    answer is refused as stale, comes back as typed beside its line's state now, and the
    same answer, sent again, is taken: no reload, nothing retyped."""
    contract = funded_contract(people["epci"])
    line = line_of(contract, "bpifrance")
    url = reverse("financing-answer", args=[contract.reference, line.pk])
    client.force_login(people["bpifrance"])
    opened = Page(client.get(url).content.decode())
    seen = opened.find_all("input", name="version")[0].attrs["value"]
    commit(contract, "france_travail", people["france_travail"])
    answer = {
        "version": seen,
        "decision": "commit",
        "amount": "38 000,50",
        "committed_on": "2019-06-01",
        "note": "Sous réserve du comité du 12 mars.",
    }
    refused = client.post(url, answer)
    assert refused.status_code == 409
    page = Page(refused.content.decode())
    summary = page.by_id("erreurs").text
    assert "vient d'être modifié" in summary and "envoyez-la à nouveau" in summary
    assert "rechargez" not in summary
    assert page.by_id("id_amount").attrs["value"] == "38 000,50"
    assert page.by_id("id_note").value == "Sous réserve du comité du 12 mars."
    again = {**answer, "version": page.find_all("input", name="version")[0].attrs["value"]}
    assert again["version"] == str(version(contract))
    assert client.post(url, again).status_code == 302
    line.refresh_from_db()
    assert (line.status, line.committed_amount) == ("committed", Decimal("38000.50"))
