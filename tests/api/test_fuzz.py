"""schemathesis over the whole published schema, against a real uvicorn on PostgreSQL, with
the tokens of three roles: no server error, and every response (status, headers, content type,
body) as the schema documents it.

Each operation gets generated requests, valid and invalid, half of them aimed at objects that
exist (cases, fiches-actions, lines, documents, calls, waves of the test's data) with the
case's current ETag, so that the writes reach the services and not only the 404 or 412
guards. Derandomized, so that a failure reproduces; shrinking is off to bound its time.
"""

import contextlib
import os
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api import tokens
from cases.contracts.models import FinancingLine
from cases.kernel import services
from cases.models import Case
from tests import factories
from tests.api.test_reads import PDF
from tests.cases.contracts.test_amendment_rules import amendment_in_state

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Enough to reach every operation's refusals and writes within the suite's time; raise it
# (FUZZ_EXAMPLES=100) to search longer.
EXAMPLES_PER_MODE = int(os.environ.get("FUZZ_EXAMPLES", "12"))
FRESH = "etag-du-dossier"


@pytest.fixture(scope="module")
def fuzz_media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def fuzz_server(django_db_setup, django_db_blocker, fuzz_media):
    """As ``module_server``, with a rate limit the fuzzer does not reach (it has its own test)
    and the files the test stores."""
    from django.db import connection

    from tests.support import uvicorn_server

    with contextlib.ExitStack() as stack:
        yield stack.enter_context(
            uvicorn_server(
                connection.settings_dict["NAME"],
                API_RATE="100000/min",
                MEDIA_ROOT=str(fuzz_media),
            )
        )
        with django_db_blocker.unblock():
            stack.close()


@pytest.fixture
def media_root(settings, fuzz_media):
    """The server's files are the test's: one folder for the module."""
    settings.MEDIA_ROOT = fuzz_media


@dataclass
class Seeds:
    references: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


def seeded() -> Seeds:
    """Objects of every kind the API names, in the states the three roles act on."""
    contracts = [
        factories.contract_in_state(state)
        for state in ("draft", "regional_review", "ministerial_review")
    ]
    derogations = [
        factories.derogation_in_state(state)
        for state in ("draft", "regional_review", "ministerial_review")
    ]
    # Contractualised and signed, with an avenant in review: versions, signatures and the
    # avenant's own reads and actions.
    amendment = amendment_in_state("regional_review")
    contracts.append(amendment.parent)
    wave, _ = factories.wave_of(1)
    document = services.document_add(
        case=contracts[1],
        actor=factories.epci_agent("200000172"),
        upload=SimpleUploadedFile("annexe.pdf", PDF),
    )
    cases = [*contracts, *derogations, amendment]
    # Version numbers are drawn from the ids too: the signed contract has a version 1, no 2.
    ids = {1, 2, wave.pk, document.pk, derogations[0].call_id}
    for line, action in FinancingLine.objects.filter(action__contract__in=contracts).values_list(
        "pk", "action_id"
    ):
        ids |= {line, action}
    return Seeds(references=[case.reference for case in cases], ids=sorted(ids))


def token_of(role: str) -> str:
    user = {
        "epci": lambda: factories.epci_agent("200000172"),
        "region": lambda: factories.region_reviewer("84"),
        "ministry": factories.ministry_agent,
    }[role]()
    _, secret = tokens.token_create(actor=user, name="Fuzzer", lifetime_days=30, read_only=False)
    return secret


@st.composite
def aimed(draw, operation, mode: GenerationMode, seeds: Seeds):
    """A generated case, half the time pointed at existing objects with a current ETag."""
    case = draw(operation.as_strategy(generation_mode=mode))
    if case.path_parameters and draw(st.booleans()):
        for name in case.path_parameters:
            pool = seeds.references if name == "reference" else seeds.ids
            case.path_parameters[name] = draw(st.sampled_from(pool))
        if "If-Match" in (case.headers or {}) and draw(st.booleans()):
            case.headers["If-Match"] = FRESH
    return case


def current_etag(reference) -> str:
    case = Case.objects.filter(reference=reference).values_list("pk", "version").first()
    return f'"{case[0]}.{case[1]}"' if case else '"0.0"'


def fuzz(operation, mode, seeds, call) -> list[str]:
    """The first failure of each kind on this operation (the others repeat it)."""
    failures: dict[str, str] = {}

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=aimed(operation, mode, seeds))
    def one(case):
        if (case.headers or {}).get("If-Match") == FRESH:
            case.headers["If-Match"] = current_etag(case.path_parameters.get("reference"))
        try:
            call(case)
        # schemathesis raises its failures as an exception group.
        except (Exception, BaseExceptionGroup) as error:
            kinds = [str(e).splitlines()[0] for e in getattr(error, "exceptions", [error])]
            failures.setdefault(" / ".join(kinds), f"{operation.label} [{mode.value}]: {error}")

    one()
    return list(failures.values())


@pytest.mark.parametrize("role", ["epci", "region", "ministry"])
def test_the_whole_schema_holds_for_each_role(fuzz_server, reference_data, role):
    seeds = seeded()
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/api/v1/schema/?format=json")
    headers = {"Authorization": f"Bearer {token_of(role)}"}
    answered: set[int] = set()

    def call(case):
        response = case.call(base_url=fuzz_server, headers=headers, timeout=30)
        answered.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz(operation, mode, seeds, call)
    assert len(operations) >= 30
    assert not failures, "\n\n".join(failures)
    # The aimed half reached the services: successes, refusals and stale versions alike.
    assert {200, 400, 404} <= answered, answered
    assert answered & {201, 403, 409, 412}, answered


def test_the_harness_reports_what_the_checks_find(fuzz_server, reference_data):
    """It must fail where it should: a 500, which no operation documents, is reported with
    its operation, not swallowed."""
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/api/v1/schema/?format=json")
    operation = schema["/api/v1/calls/"]["GET"]
    url = f"{fuzz_server}/api/v1/calls/"
    broken = httpx.Response(500, json={"detail": "panne"}, request=httpx.Request("GET", url))
    broken.elapsed = timedelta(milliseconds=5)

    def call(case):
        case.validate_response(broken, checks=CHECKS)

    [failure] = fuzz(operation, GenerationMode.POSITIVE, Seeds(), call)
    assert failure.startswith("GET /api/v1/calls/ [positive]"), failure
    assert "Server error" in failure and "Undocumented status code" in failure, failure
