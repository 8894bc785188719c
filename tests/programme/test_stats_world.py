"""The known data set of the dashboard's tests (no test here): contracts in Auvergne-Rhône-Alpes
(84) and Normandie (28) with fiches-actions on every axis and lines of several funders, some
committed; derogations with every outcome; a validated wave and a planned one. Built through
the services, as a user would, except the funders' answers (set on the rows: who may answer is
not what these tests are about)."""

import contextlib
import copy
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import transaction

from cases.contracts import services as contract_services
from cases.derogations import services as derogations
from cases.kernel import services
from cases.models import ActionSheet, DerogationRequest, FinancingLine, TerritoryContract, Wave
from cases.waves import services as waves
from territories.models import Territory
from tests import factories

PATHS = {
    "draft": [],
    "regional_review": ["submit"],
    "ministerial_review": ["submit", "approve"],
    "signed_off": ["submit", "approve", "sign_off"],
    "rejected": ["submit", "reject"],
    "withdrawn": ["withdraw"],
}


class Actors:
    def __init__(self):
        self.minister = factories.ministry_agent()
        self.reviewers: dict[str, object] = {}
        self.authors: dict[str, object] = {}

    def reviewer(self, code: str):
        if code not in self.reviewers:
            self.reviewers[code] = factories.region_reviewer(code)
        return self.reviewers[code]

    def author(self, territory: Territory):
        if territory.code not in self.authors:
            epci = territory.intercommunalities.order_by("siren").first()
            self.authors[territory.code] = factories.epci_agent(epci.siren)
        return self.authors[territory.code]


def make_contract(actors: Actors, code: str, state: str, fiches: list) -> TerritoryContract:
    """``fiches``: (axis, cost, [(funder, amount), ...]) each."""
    territory = Territory.objects.get(code=code)
    author = actors.author(territory)
    contract = contract_services.contract_create(
        territory=territory,
        actor=author,
        title=f"Contrat {territory.name}",
        period_start=date(2019, 3, 5),
        period_end=date(2022, 12, 31),
    )
    for number, (axis, cost, lines) in enumerate(fiches):
        contract_services.action_save(
            case=contract,
            actor=author,
            expected_version=factories.contract_version(contract),
            fields={
                "title": f"Fiche {number + 1}",
                "axis": axis,
                "project_owner": "Porteur",
                "total_cost": Decimal(cost),
            },
            financings=[
                {"funder": funder, "amount": Decimal(amount), "status": "requested"}
                for funder, amount in lines
            ],
        )
    region = territory.pilot_region.code
    for name in PATHS[state]:
        actor = {
            "submit": author,
            "withdraw": author,
            "approve": actors.reviewer(region),
            "reject": actors.reviewer(region),
            "sign_off": actors.minister,
        }[name]
        services.run_transition(
            case=contract, actor=actor, name=name, comment="Motif" if name == "reject" else ""
        )
    contract.refresh_from_db()
    return contract


def answer(contract: TerritoryContract, funder: str, status: str, committed: str | None = None):
    FinancingLine.objects.filter(action__contract=contract, funder=funder).update(
        status=status, committed_amount=None if committed is None else Decimal(committed)
    )


def make_derogation(actors: Actors, code: str, outcome: str | None, rule: str, state="decided"):
    request = factories.derogation_in_state(
        "ministerial_review" if state == "decided" else state,
        territory_code=code,
        rule_reference=rule,
    )
    if state == "decided":
        extra = {
            "granted": {"granted_duration_months": 24, "granted_conditions": "Bilan annuel."},
            "solved_without_derogation": {"solution": "Le droit en vigueur le permet."},
            "refused": {},
        }[outcome or "refused"]
        derogations.case_decide(
            case=DerogationRequest.objects.get(pk=request.pk),
            actor=actors.minister,
            outcome=outcome,
            motivation="Motif",
            legal_basis="Article 37-1 de la Constitution",
            **extra,
        )
    request.refresh_from_db()
    return request


@dataclass
class World:
    actors: Actors
    contracts: dict[str, TerritoryContract]
    derogations: dict[str, DerogationRequest]
    validated: Wave
    planned: Wave

    def afresh(self) -> "World":
        """The same world as its rows stand now, for a test whose changes are rolled back after
        it: objects read again, and the users a test adds forgotten with its rollback."""
        actors = copy.copy(self.actors)
        actors.reviewers, actors.authors = dict(self.actors.reviewers), dict(self.actors.authors)
        contracts = {
            key: TerritoryContract.objects.get(pk=c.pk) for key, c in self.contracts.items()
        }
        requests = {
            key: DerogationRequest.objects.get(pk=d.pk) for key, d in self.derogations.items()
        }
        validated, planned = (Wave.objects.get(pk=w.pk) for w in (self.validated, self.planned))
        return World(actors, contracts, requests, validated, planned)


def build_world() -> World:
    actors = Actors()
    c = {
        "A1": make_contract(
            actors,
            "8414",
            "signed_off",
            [
                ("attirer", "100000", [("bpifrance", "30000"), ("state", "20000")]),
                ("innover", "50000", [("region", "10000")]),
            ],
        ),
        "A2": make_contract(
            actors,
            "8401",
            "signed_off",
            [
                (
                    "recruter",
                    "80000",
                    [("france_travail", "40000"), ("banque_des_territoires", "15000")],
                )
            ],
        ),
        "A3": make_contract(
            actors, "8402", "rejected", [("simplifier", "10000", [("epci", "5000")])]
        ),
        "A4": make_contract(actors, "8401", "draft", [("attirer", "20000.50", [])]),
        "N1": make_contract(
            actors,
            "2802",
            "regional_review",
            [("innover", "60000", [("bpifrance", "20000"), ("business_france", "10000")])],
        ),
        "N2": make_contract(
            actors,
            "2803",
            "signed_off",
            [("recruter", "30000", [("france_travail", "12000"), ("other", "3000")])],
        ),
    }
    answer(c["A1"], "bpifrance", "committed", "25000")
    answer(c["A1"], "region", "committed", "10000")
    answer(c["N1"], "bpifrance", "committed", "20000")
    answer(c["A2"], "banque_des_territoires", "declined")
    ActionSheet.objects.filter(contract=c["A1"], axis="attirer").update(status="in_progress")
    ActionSheet.objects.filter(contract=c["N2"]).update(status="done")
    minister = actors.minister
    validated = waves.wave_create(
        actor=minister, name="Vague de Lyon", date=date(2019, 3, 5), place="Lyon"
    )
    for key in ("A1", "N2"):
        waves.wave_add_contract(wave=validated, actor=minister, contract=c[key])
    waves.wave_validate(wave=validated, actor=minister)
    planned = waves.wave_create(
        actor=minister, name="Vague de Paris", date=date(2026, 6, 1), place="Paris"
    )
    waves.wave_add_contract(wave=planned, actor=minister, contract=c["A2"])
    d = {
        "D1": make_derogation(actors, "8414", "refused", "Code de l'environnement, art. R. 122-2"),
        "D2": make_derogation(actors, "8401", "granted", "Code du travail, art. L. 1234-5"),
        "D3": make_derogation(
            actors, "2802", "solved_without_derogation", "code de l’environnement article R122-2"
        ),
        "D4": make_derogation(
            actors, "2802", None, "CODE DE L'ENVIRONNEMENT ART R 122-2", state="regional_review"
        ),
    }
    for contract in c.values():
        contract.refresh_from_db()
    validated.refresh_from_db()
    planned.refresh_from_db()
    return World(actors, c, d, validated, planned)


@contextlib.contextmanager
def world_for_a_module(django_db_blocker):
    """One world for a module's tests, built once (it costs seconds) in a transaction rolled
    back after the last of them; each test runs in a savepoint inside it, as it would alone.
    Not for a module with transactional tests, which would flush it."""
    with django_db_blocker.unblock(), transaction.atomic():
        # A transactional test of an earlier module may have flushed it.
        factories.ensure_reference_data()
        yield build_world()
        transaction.set_rollback(True)
