"""The upload limit is enforced while the body is read, and only for those who may upload."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http.multipartparser import MultiPartParser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.derogations import services as derogations
from cases.kernel.documents import MAX_SIZE
from cases.kernel.uploads import MAX_REQUEST_SIZE
from cases.models import Document, Opinion
from tests import factories

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def pdf_of(size: int) -> SimpleUploadedFile:
    return SimpleUploadedFile("gros.pdf", PDF + b"0" * (size - len(PDF)))


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def token(client, page: str) -> str:
    assert client.get(page).status_code == 200
    return client.cookies["csrftoken"].value


@pytest.fixture
def parsed(monkeypatch):
    """How many multipart bodies were parsed, and how many file bytes reached the disk."""
    seen = {"bodies": 0, "written": 0}
    parse, receive = MultiPartParser.parse, TemporaryFileUploadHandler.receive_data_chunk

    def counting_parse(self):
        seen["bodies"] += 1
        return parse(self)

    def counting_receive(self, raw_data, start):
        seen["written"] += len(raw_data)
        return receive(self, raw_data, start)

    monkeypatch.setattr(MultiPartParser, "parse", counting_parse)
    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", counting_receive)
    return seen


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.fixture
def contract():
    return factories.contract_in_state("regional_review")


def post_document(client, contract, upload, csrf: str | None):
    data = {"csrfmiddlewaretoken": csrf} if csrf else {}
    return client.post(
        reverse("document-upload", args=[contract.reference]), {**data, "file": upload}, follow=True
    )


def test_the_limit_is_told_in_french_megabytes_on_the_form(client, contract):
    client.force_login(contract.created_by)
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    assert "PDF, ODT, DOCX, XLSX, PNG ou JPEG, 21,0 Mo au plus." in page


def test_a_file_over_the_limit_is_cut_off_while_read(csrf_client, contract, parsed, settings):
    csrf_client.force_login(contract.created_by)
    csrf = token(csrf_client, reverse("contract-detail", args=[contract.reference]))
    response = post_document(csrf_client, contract, pdf_of(MAX_SIZE + 1), csrf)
    body = response.content.decode()
    assert "Le fichier dépasse la taille maximale de 21,0 Mo. Rien n&#x27;a été enregistré." in body
    assert parsed["bodies"] == 1
    assert parsed["written"] <= MAX_SIZE
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_an_announced_oversize_body_writes_nothing(csrf_client, contract, parsed, settings):
    csrf_client.force_login(contract.created_by)
    csrf = token(csrf_client, reverse("contract-detail", args=[contract.reference]))
    response = post_document(csrf_client, contract, pdf_of(MAX_REQUEST_SIZE + 1), csrf)
    assert "taille maximale de 21,0 Mo" in response.content.decode()
    assert parsed["written"] == 0
    assert not Document.objects.exists()
    assert stored_files(settings) == []


def test_a_file_at_the_limit_is_accepted(client, contract):
    client.force_login(contract.created_by)
    response = post_document(client, contract, pdf_of(MAX_SIZE), None)
    assert "ajouté" in response.content.decode()
    assert Document.objects.get().size == MAX_SIZE


def consulted_operator_on_a_derogation():
    request = factories.derogation_in_state("ministerial_review")
    operator = factories.operator_agent("Bpifrance")
    derogations.opinion_request(
        case=request,
        actor=factories.ministry_agent(),
        organisation=operator.memberships.get().organisation,
        due_on=timezone.localdate() + timedelta(days=3),
        question="Impact ?",
    )
    return request, operator, reverse("derogation-document-upload", args=[request.reference])


def author_of_a_withdrawn_contract():
    withdrawn = factories.contract_in_state("withdrawn", actions=0)
    return withdrawn, withdrawn.created_by, reverse("document-upload", args=[withdrawn.reference])


@pytest.mark.parametrize(
    "situation",
    [consulted_operator_on_a_derogation, author_of_a_withdrawn_contract],
    ids=["operator consulted", "closed case"],
)
def test_who_may_see_but_not_upload_is_refused_before_the_body_is_read(
    csrf_client, parsed, settings, situation
):
    case, user, url = situation()
    csrf_client.force_login(user)
    response = csrf_client.post(
        url,
        {"csrfmiddlewaretoken": "x" * 32, "file": pdf_of(MAX_SIZE + 1)},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 403
    assert response.json()["error"] == "Vous ne pouvez pas ajouter de document à ce dossier."
    assert parsed == {"bodies": 0, "written": 0}
    assert not Document.objects.filter(case=case).exists()
    assert stored_files(settings) == []


def test_the_document_upload_still_checks_csrf(csrf_client, contract, settings):
    csrf_client.force_login(contract.created_by)
    response = post_document(csrf_client, contract, SimpleUploadedFile("a.pdf", PDF), None)
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()
    assert not Document.objects.exists()


@pytest.fixture
def awaited_opinion():
    request = factories.derogation_in_state("ministerial_review")
    operator = factories.operator_agent("Bpifrance")
    opinion = derogations.opinion_request(
        case=request,
        actor=factories.ministry_agent(),
        organisation=operator.memberships.get().organisation,
        due_on=timezone.localdate() + timedelta(days=3),
        question="Impact ?",
    )
    return opinion, operator


def answer(client, opinion, csrf: str | None, upload=None):
    data = {"verdict": "favourable", "text": "Favorable."}
    if csrf:
        data["csrfmiddlewaretoken"] = csrf
    if upload is not None:
        data["file"] = upload
    return client.post(reverse("opinion-answer", args=[opinion.pk]), data)


def test_an_opinion_file_over_the_limit_is_refused_on_the_form(csrf_client, awaited_opinion):
    opinion, operator = awaited_opinion
    csrf_client.force_login(operator)
    csrf = token(csrf_client, reverse("opinion-answer", args=[opinion.pk]))
    response = answer(csrf_client, opinion, csrf, pdf_of(MAX_SIZE + 1))
    assert response.status_code == 400
    assert "taille maximale de 21,0 Mo" in response.content.decode()
    assert not Opinion.objects.get(pk=opinion.pk).answered
    assert not Document.objects.exists()


def test_the_opinion_answer_still_checks_csrf(csrf_client, awaited_opinion):
    opinion, operator = awaited_opinion
    csrf_client.force_login(operator)
    response = answer(csrf_client, opinion, None)
    assert response.status_code == 403
    assert not Opinion.objects.get(pk=opinion.pk).answered


def test_the_opinion_answer_with_a_token_is_recorded(csrf_client, awaited_opinion):
    opinion, operator = awaited_opinion
    csrf_client.force_login(operator)
    csrf = token(csrf_client, reverse("opinion-answer", args=[opinion.pk]))
    response = answer(csrf_client, opinion, csrf, SimpleUploadedFile("avis.pdf", PDF))
    assert response.status_code == 302
    assert Opinion.objects.get(pk=opinion.pk).document is not None


def test_a_reviewer_posting_on_an_opinion_is_refused_before_the_body_is_read(
    csrf_client, awaited_opinion, parsed
):
    opinion, _ = awaited_opinion
    csrf_client.force_login(factories.ministry_agent())
    response = answer(csrf_client, opinion, "x" * 32, pdf_of(MAX_SIZE + 1))
    assert response.status_code == 404
    assert parsed == {"bodies": 0, "written": 0}
    assert not Opinion.objects.get(pk=opinion.pk).answered


def test_an_answered_opinion_gives_the_text_back_and_writes_no_file(
    csrf_client, awaited_opinion, parsed
):
    opinion, operator = awaited_opinion
    derogations.opinion_answer(opinion=opinion, actor=operator, verdict="reserved", text="Bof.")
    csrf_client.force_login(operator)
    csrf = token(csrf_client, reverse("opinion-answer", args=[opinion.pk]))
    response = answer(csrf_client, opinion, csrf, pdf_of(MAX_SIZE + 1))
    assert response.status_code == 409
    assert "Favorable." in response.content.decode()
    assert parsed["written"] == 0
    assert Opinion.objects.get(pk=opinion.pk).verdict == "reserved"
    assert not Document.objects.exists()
