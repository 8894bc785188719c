"""A refused form comes back with what was typed and each error on its field (DSFR error
state, aria-describedby, an error summary linking to the fields), with the error's status;
JSON callers get JSON."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.derogations import services as derogations
from cases.kernel import french
from cases.models import Case, Comment, DerogationRequest, Document, Opinion, Wave
from cases.waves import services as waves
from tests import factories
from tests.cases.page import Page, describing, error_of, summary_targets

pytestmark = pytest.mark.django_db

MOTIVATION = "Le projet respecte l'esprit du texte & crée 40 emplois « durables »."
LEGAL_BASIS = "Article 37-1 de la Constitution ; décret n° 2019-1234."


def decide(client, derogation, **data):
    return client.post(
        reverse("derogation-decide", args=[derogation.reference]),
        {"version": derogation.version, **data},
        **({"HTTP_ACCEPT": "application/json"} if data.pop("_json", False) else {}),
    )


def test_an_incomplete_decision_comes_back_with_what_was_typed(client):
    derogation = factories.derogation_in_state("ministerial_review")
    client.force_login(factories.ministry_agent())
    response = decide(
        client, derogation, outcome="granted", motivation=MOTIVATION, legal_basis=LEGAL_BASIS
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("id_motivation").value == MOTIVATION
    assert page.by_id("id_legal_basis").value == LEGAL_BASIS
    selected = [o for o in page.by_id("id_outcome").find_all("option") if "selected" in o.attrs]
    assert [o.attrs["value"] for o in selected] == ["granted"]
    assert "6 à 60 mois" in error_of(page, "id_granted_duration_months")
    assert "conditions" in error_of(page, "id_granted_conditions")
    duration = page.by_id("id_granted_duration_months")
    assert [e.attrs["id"] for e in describing(page, duration)] == [
        "id_granted_duration_months-desc-hint",
        "id_granted_duration_months-desc-error",
    ]
    assert "fr-input--error" in duration.classes
    assert "fr-input-group--error" in duration.parent.classes
    assert "fr-input--error" not in page.by_id("id_motivation").classes
    assert summary_targets(page) == ["id_granted_duration_months", "id_granted_conditions"]
    fresh = DerogationRequest.objects.get(pk=derogation.pk)
    assert (fresh.state, fresh.outcome, fresh.version) == (
        "ministerial_review",
        "",
        derogation.version,
    )
    assert not Document.objects.filter(case=derogation).exists()


def test_a_decision_without_outcome_keeps_the_texts_and_says_it_on_the_field(client):
    derogation = factories.derogation_in_state("ministerial_review")
    client.force_login(factories.ministry_agent())
    response = decide(client, derogation, motivation=MOTIVATION, legal_basis=LEGAL_BASIS)
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("id_motivation").value == MOTIVATION
    assert "obligatoire" in error_of(page, "id_outcome")
    assert "fr-select--error" in page.by_id("id_outcome").classes
    assert summary_targets(page) == ["id_outcome"]


def test_a_refused_decision_is_json_for_json_callers(client):
    derogation = factories.derogation_in_state("ministerial_review")
    client.force_login(factories.ministry_agent())
    response = decide(
        client,
        derogation,
        outcome="solved_without_derogation",
        motivation="M",
        legal_basis="L",
        _json=True,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "La décision est incomplète :"
    assert list(body["fields"]) == ["solution"]
    assert body["problems"] == body["fields"]["solution"]


def test_a_stale_decision_is_409_and_keeps_the_texts(client):
    derogation = factories.derogation_in_state("ministerial_review")
    client.force_login(factories.ministry_agent())
    response = client.post(
        reverse("derogation-decide", args=[derogation.reference]),
        {
            "version": derogation.version - 1,
            "outcome": "refused",
            "motivation": MOTIVATION,
            "legal_basis": LEGAL_BASIS,
        },
    )
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert page.by_id("id_motivation").value == MOTIVATION
    summary = page.find_all(data_error_summary="")[0]
    assert "vient d'être modifié" in summary.text
    assert DerogationRequest.objects.get(pk=derogation.pk).state == "ministerial_review"


def test_the_region_opinion_without_a_choice_keeps_its_reasons(client):
    derogation = factories.derogation_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    reasons = "Projet structurant pour la vallée,\nsoutenu par les élus."
    response = client.post(
        reverse("region-opinion", args=[derogation.reference]),
        {"version": derogation.version, "opinion": "", "reasons": reasons},
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("id_reasons").value == reasons
    assert "obligatoire" in error_of(page, "id_opinion")
    assert summary_targets(page) == ["id_opinion"]
    assert DerogationRequest.objects.get(pk=derogation.pk).region_opinion == ""


def test_an_opinion_request_for_a_past_date_keeps_the_question(client):
    derogation = factories.derogation_in_state("ministerial_review")
    operator = factories.national_organisation("operator", "Bpifrance")
    client.force_login(factories.ministry_agent())
    question = "Le plan de financement vous paraît-il solide ?"
    response = client.post(
        reverse("opinion-request", args=[derogation.reference]),
        {
            "organisation": operator.pk,
            "due_on": str(timezone.localdate() - timedelta(days=1)),
            "question": question,
        },
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("id_question").value == question
    assert "déjà passée" in error_of(page, "id_due_on")
    assert not Opinion.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "obligatoire"), ("x" * 10_001, "10000")],
    ids=["empty", "too long"],
)
def test_a_refused_comment_keeps_what_was_typed(client, body, message):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    response = client.post(reverse("comment-create", args=[contract.reference]), {"body": body})
    assert response.status_code == 400
    page = Page(response.content.decode())
    if body.strip():
        assert page.by_id("id_body").value == body
    assert message in error_of(page, "id_body").replace("\u202f", "").replace(" ", "")
    assert summary_targets(page) == ["id_body"]
    assert not Comment.objects.exists()


def test_a_comment_refused_by_the_service_is_on_its_field(client):
    request = factories.derogation_in_state("draft")
    client.force_login(request.created_by)
    response = client.post(
        reverse("derogation-comment-create", args=[request.reference]),
        {"body": "Une note réservée ?", "private": "on"},
    )
    assert response.status_code == 403
    page = Page(response.content.decode())
    assert page.by_id("id_body").value == "Une note réservée ?"
    summary = page.find_all(data_error_summary="")[0]
    assert "réservées à la Région et au ministère" in summary.text
    assert not Comment.objects.exists()


def test_reject_without_comment_says_it_on_the_comment_field(client):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version, "transition": "reject", "comment": ""},
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert "Un commentaire est obligatoire" in error_of(page, "transition-comment")
    assert "fr-input--error" in page.by_id("transition-comment").classes
    assert summary_targets(page) == ["transition-comment"]
    assert Case.objects.get(pk=contract.pk).state == "regional_review"


def test_a_stale_transition_keeps_the_comment_typed(client):
    contract = factories.contract_in_state("regional_review")
    client.force_login(factories.region_reviewer("84"))
    comment = "Merci de préciser le calendrier des fiches 2 et 3."
    response = client.post(
        reverse("contract-transition", args=[contract.reference]),
        {"version": contract.version - 1, "transition": "request_changes", "comment": comment},
    )
    assert response.status_code == 409
    page = Page(response.content.decode())
    assert page.by_id("transition-comment").value == comment
    assert "vient d'être modifié" in page.by_id("decision-errors").text
    assert Case.objects.get(pk=contract.pk).state == "regional_review"


def test_the_task_page_keeps_the_comment_and_says_what_is_missing(client):
    from workflows.engine import open_task_locked

    derogation = factories.derogation_in_state("regional_review")
    task = open_task_locked(Case.objects.get(pk=derogation.pk))
    client.force_login(factories.region_reviewer("84"))
    response = client.post(
        reverse("task-detail", args=[task.pk]),
        {"version": derogation.version, "transition": "forward", "comment": "Avis à suivre."},
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("transition-comment").value == "Avis à suivre."
    assert "donner son avis" in page.by_id("decision-errors").text
    assert Case.objects.get(pk=derogation.pk).state == "regional_review"


def test_a_wave_without_its_place_keeps_its_name(client):
    client.force_login(factories.ministry_agent())
    response = client.post(
        reverse("wave-create"), {"name": "Vague de printemps", "date": "2019-03-18", "place": " "}
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("id_name").attrs["value"] == "Vague de printemps"
    assert "obligatoire" in error_of(page, "id_place")
    assert summary_targets(page) == ["id_place"]
    assert not Wave.objects.exists()


def test_adding_a_contract_another_wave_holds_says_it_on_the_field(client):
    wave, minister = factories.wave_of(1)
    other = waves.wave_create(actor=minister, name="Autre", date=wave.date, place="Paris")
    contract = waves.contracts_of(wave)[0]
    client.force_login(minister)
    response = client.post(
        reverse("wave-add", args=[other.pk]), {"version": other.version, "contract": contract.pk}
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert error_of(page, "id_contract")
    assert summary_targets(page) == ["id_contract"]
    assert not waves.contracts_of(other).exists()


def test_a_contract_field_the_model_refuses_is_on_its_field(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    response = client.post(
        reverse("contract-edit", args=[contract.reference]),
        {
            "version": contract.version,
            "title": "Nouveau titre",
            "period_start": "2019-03-05",
            "period_end": "2018-12-31",
        },
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert page.by_id("id_title").attrs["value"] == "Nouveau titre"
    assert "suivre son début" in error_of(page, "id_period_end")


def test_an_opinion_answered_twice_gives_the_second_its_text_back(client):
    derogation = factories.derogation_in_state("ministerial_review")
    opinion = derogations.opinion_request(
        case=derogation,
        actor=factories.ministry_agent(),
        organisation=factories.national_organisation("operator", "Bpifrance"),
        due_on=timezone.localdate() + timedelta(days=3),
        question="Le financement est-il solide ?",
    )
    first = factories.operator_agent("Bpifrance", first_name="Alix", last_name="Premier")
    second = factories.operator_agent("Bpifrance", first_name="Bo", last_name="Second")
    url = reverse("opinion-answer", args=[opinion.pk])
    client.force_login(second)
    assert "Rendre l'avis" in client.get(url).content.decode()  # the page both opened
    client.force_login(first)
    assert client.post(url, {"verdict": "favourable", "text": "Oui, solide."}).status_code == 302
    client.force_login(second)
    mine = "Réservé : le plan suppose\nune garantie & un prêt « relais »."
    response = client.post(url, {"verdict": "reserved", "text": mine})
    assert response.status_code == 409
    html = response.content.decode()
    page = Page(html)
    alert = page.by_id("avis-non-enregistre").text
    assert "Cet avis a déjà été rendu par Alix Premier le " in alert
    answered_at = Opinion.objects.get(pk=opinion.pk).answered_at
    assert f"le {french.datetime_fr(answered_at)}" in alert  # « 1er mai 2019 à 20 h 43 »
    assert "le vôtre n'a pas été enregistré." in alert
    assert "Voici votre texte pour le reprendre ou le transmettre autrement." in alert
    returned = page.by_id("returned-text")
    assert returned.tag == "textarea" and "readonly" in returned.attrs
    assert returned.value == mine
    assert "Oui, solide." in html  # the opinion given, shown
    stored = Opinion.objects.get(pk=opinion.pk)
    assert (stored.verdict, stored.text, stored.answered_by) == (
        "favourable",
        "Oui, solide.",
        first,
    )


def test_an_opinion_answered_twice_is_409_json_for_json_callers(client):
    derogation = factories.derogation_in_state("ministerial_review")
    opinion = derogations.opinion_request(
        case=derogation,
        actor=factories.ministry_agent(),
        organisation=factories.national_organisation("operator", "Bpifrance"),
        due_on=timezone.localdate() + timedelta(days=3),
        question="?",
    )
    first = factories.operator_agent("Bpifrance")
    derogations.opinion_answer(opinion=opinion, actor=first, verdict="favourable", text="Oui.")
    client.force_login(factories.operator_agent("Bpifrance"))
    response = client.post(
        reverse("opinion-answer", args=[opinion.pk]),
        {"verdict": "reserved", "text": "Non."},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409
    assert response.json()["error"].startswith(f"Cet avis a déjà été rendu par {first} le ")
    assert Opinion.objects.get(pk=opinion.pk).text == "Oui."


NEW_FICHE = {
    "title": "Nouvelle fiche",
    "axis": "innover",
    "project_owner": "Porteur",
    "total_cost": "100 000",
    "status": "idea",
}


def test_an_error_on_a_financing_line_is_in_the_summary_too(client):
    """The fiche's own fields valid, a line's amount not: the summary says nothing was
    saved and links to that line's field, as for any other field."""
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    response = client.post(
        reverse("action-create", args=[contract.reference]),
        {
            "version": contract.version,
            **NEW_FICHE,
            "fin-TOTAL_FORMS": "1",
            "fin-INITIAL_FORMS": "0",
            "fin-0-funder": "bpifrance",
            "fin-0-amount": "12 000,5x",
        },
    )
    assert response.status_code == 400
    page = Page(response.content.decode())
    assert summary_targets(page) == ["id_fin-0-amount"]
    summary = page.by_id("erreurs").text
    assert "Rien n'a été enregistré" in summary and "Financement 1" in summary
    assert page.by_id("id_fin-0-amount").attrs["value"] == "12 000,5x"
    assert contract.actions.count() == 1


def test_too_many_financing_lines_is_said_in_the_summary(client):
    contract = factories.contract_in_state("draft")
    client.force_login(contract.created_by)
    data = {
        "version": contract.version,
        **NEW_FICHE,
        "fin-TOTAL_FORMS": "201",
        "fin-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("action-create", args=[contract.reference]), data)
    assert response.status_code == 400
    summary = Page(response.content.decode()).by_id("erreurs")
    assert "au plus 200 financements" in summary.text
    assert summary.attrs["role"] == "alert"
