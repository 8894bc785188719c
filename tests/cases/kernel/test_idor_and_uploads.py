import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.kernel import services
from cases.kernel.documents import MAX_SIZE
from cases.models import Case, CaseEvent, Document
from tests import factories

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 30
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120


def ooxml(main: str) -> bytes:
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Override PartName="/x.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.{main}"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("x.xml", "<x/>")
    return buffer.getvalue()


def odt() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<x/>")
    return buffer.getvalue()


@pytest.fixture
def contract():
    return factories.contract_in_state("regional_review")


def upload(client, contract, name, content):
    return client.post(
        reverse("document-upload", args=[contract.reference]),
        {"file": SimpleUploadedFile(name, content)},
        follow=True,
    )


OUTSIDERS = {
    "EPCI agent of another territory": lambda: factories.epci_agent("200065597"),
    "reviewer of another Region": lambda: factories.region_reviewer("28"),
    "operator neither consulted nor funder": lambda: factories.operator_agent("Business France"),
}


@pytest.mark.parametrize("outsider", OUTSIDERS.values(), ids=OUTSIDERS.keys())
def test_outsiders_get_404_everywhere(client, contract, outsider):
    agent = factories.epci_agent("200000172")
    document = services.document_add(
        case=contract, actor=agent, upload=SimpleUploadedFile("annexe.pdf", PDF)
    )
    client.force_login(outsider())
    ref = contract.reference
    gets = [
        reverse("contract-detail", args=[ref]),
        reverse("contract-edit", args=[ref]),
        reverse("action-create", args=[ref]),
        reverse("document-download", args=[document.pk]),
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        (reverse("contract-transition", args=[ref]), {"version": 1, "transition": "approve"}),
        (reverse("comment-create", args=[ref]), {"body": "Bonjour"}),
        (reverse("document-upload", args=[ref]), {"file": SimpleUploadedFile("a.pdf", PDF)}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert (
        reverse("contract-list")
        and contract.reference not in client.get(reverse("contract-list")).content.decode()
    )
    assert Case.objects.get(pk=contract.pk).event_count == contract.event_count + 1


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("rapport.pdf", PDF, "application/pdf"),
        ("plan.png", PNG, "image/png"),
        ("note.docx", ooxml("wordprocessingml.document.main+xml"), "wordprocessingml"),
        ("budget.xlsx", ooxml("spreadsheetml.sheet.main+xml"), "spreadsheetml"),
        ("compte-rendu.odt", odt(), "opendocument.text"),
    ],
)
def test_accepted_types_are_stored_under_a_generated_name(client, contract, name, content, kind):
    client.force_login(factories.epci_agent("200000172"))
    response = upload(client, contract, name, content)
    assert "ajouté" in response.content.decode()
    document = Document.objects.get(case=contract)
    assert kind in document.content_type
    assert document.original_name == name
    assert name not in document.file.name and document.stored_name in document.file.name
    assert document.size == len(content)
    event = CaseEvent.objects.get(case=contract, name="document_add")
    assert event.payload["sha256"] == document.sha256
    download = client.get(reverse("document-download", args=[document.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == content


def test_renamed_executable_is_refused(client, contract):
    client.force_login(factories.epci_agent("200000172"))
    response = upload(client, contract, "budget.pdf", ELF)
    assert "Type de fichier refusé" in response.content.decode()
    assert not Document.objects.exists()
    assert not CaseEvent.objects.filter(name="document_add").exists()


def test_zip_that_is_not_an_office_document_is_refused(client, contract):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", b"MZ" + b"\x00" * 64)
    client.force_login(factories.epci_agent("200000172"))
    response = upload(client, contract, "note.docx", buffer.getvalue())
    assert "Type de fichier refusé" in response.content.decode()
    assert not Document.objects.exists()


def test_oversize_is_refused(client, contract):
    client.force_login(factories.epci_agent("200000172"))
    response = upload(client, contract, "gros.pdf", PDF + b"0" * (MAX_SIZE + 1 - len(PDF)))
    assert "dépasse la taille maximale de 21,0 Mo" in response.content.decode()
    assert not Document.objects.exists()


def test_path_traversal_name_is_neutralised(client, contract, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(factories.epci_agent("200000172"))
    upload(client, contract, "../../../etc/passwd.pdf", PDF)
    document = Document.objects.get()
    assert document.original_name == "passwd.pdf"
    stored = (settings.MEDIA_ROOT / document.file.name).resolve()
    assert stored.is_relative_to(settings.MEDIA_ROOT.resolve()) and stored.exists()
    assert ".." not in document.file.name


def test_private_notes_stay_with_the_reviewing_institutions(client, contract):
    reviewer = factories.region_reviewer("84")
    services.comment_add(case=contract, actor=reviewer, body="Note réservée", private=True)
    services.comment_add(case=contract, actor=reviewer, body="Message public")
    client.force_login(factories.ministry_agent())
    assert (
        "Note réservée"
        in client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    )
    client.force_login(factories.epci_agent("200000172"))
    page = client.get(reverse("contract-detail", args=[contract.reference])).content.decode()
    assert "Message public" in page and "Note réservée" not in page
    with pytest.raises(services.ActionForbidden):
        services.comment_add(
            case=contract, actor=factories.epci_agent("200000172"), body="Essai", private=True
        )
