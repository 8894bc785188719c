"""A synthetic data set at the programme's scale, to measure the pages: never the demo.

Built on the real Regions and territories (``load_reference_data`` first). Every label says
« [Synthétique] », every account is on the reserved domain ``synthetique.invalid`` with an
unusable password (the benchmarks log in with ``force_login``), and the command refuses to
run in production. Rows are written with PostgreSQL ``COPY`` in one transaction, their ids
reserved from the tables' sequences beforehand: the Django ORM cannot bulk-create the
multi-table models (a contract is a case row and a contract row; a case process is a
viewflow process row and its own), and COPY writes the 2 million rows of 100,000 contracts
in a few minutes on two cores.
"""

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from accounts.demo import national_organisations
from accounts.models import Membership, Organisation, Role, User
from cases.contracts.models import ActionSheet, Axis, FinancingLine, Funder, TerritoryContract
from cases.derogations.models import (
    CallForProjects,
    DerogationRequest,
    Outcome,
    RuleKind,
    rule_reference_key,
)
from cases.kernel.audit import GENESIS, event_hash
from cases.kernel.models import Case, CaseEvent
from cases.waves.audit import wave_event_hash
from cases.waves.models import Wave, WaveEvent, WaveItem
from territories.models import Territory

SYNTHETIC = "[Synthétique]"
DOMAIN = "synthetique.invalid"
NO = "n\u00b0\u00a0"  # « n° 123 », with its no-break space
BATCH = 2000

# Shares of the contracts by state: many in drafting and regional review, fewer signed off
# or contractualised, a few rejected or withdrawn.
STATE_WEIGHTS = {
    "draft": 30,
    "regional_review": 24,
    "ministerial_review": 12,
    "signed_off": 15,
    "contractualised": 12,
    "rejected": 4,
    "withdrawn": 3,
}
# The transitions that bring a contract to its state (several ways for some states).
CONTRACT_PATHS = {
    "draft": [[], [], [], [], [], [], [], [], ["submit", "request_changes"]],
    "regional_review": [["submit"]],
    "ministerial_review": [["submit", "approve"]],
    "signed_off": [["submit", "approve", "sign_off"]],
    "contractualised": [["submit", "approve", "sign_off", "contractualise"]],
    "rejected": [["submit", "reject"], ["submit", "approve", "reject"]],
    "withdrawn": [["withdraw"], ["submit", "withdraw"]],
}
DEROGATION_STATE_WEIGHTS = {
    "draft": 15,
    "regional_review": 20,
    "ministerial_review": 20,
    "decided": 40,
    "withdrawn": 5,
}
DEROGATION_PATHS = {
    "draft": [],
    "regional_review": ["submit"],
    "ministerial_review": ["submit", "forward"],
    "decided": ["submit", "forward", "decide"],
    "withdrawn": ["submit", "withdraw"],
}
# About 40 % of the requests turn out feasible under current law (DESIGN §1).
OUTCOME_WEIGHTS = {Outcome.SOLVED: 40, Outcome.GRANTED: 35, Outcome.REFUSED: 25}
TRANSITIONS = {
    # name: (actor, timestamp set by the transition)
    "submit": ("epci", "submitted_at"),
    "approve": ("region", "ministerial_review_at"),
    "forward": ("region", "ministerial_review_at"),
    "request_changes": ("region", None),
    "reject": ("reviewer", "closed_at"),
    "withdraw": ("epci", "closed_at"),
    "sign_off": ("ministry", "signed_off_at"),
    "decide": ("ministry", "decided_at"),
    "contractualise": ("ministry", "contractualised_at"),
}
TARGETS = {
    "submit": "regional_review",
    "approve": "ministerial_review",
    "forward": "ministerial_review",
    "request_changes": "draft",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "sign_off": "signed_off",
    "decide": "decided",
    "contractualise": "contractualised",
}
ACTION_STATUSES = {
    "draft": {"idea": 80, "committed": 20},
    "regional_review": {"idea": 40, "committed": 40, "in_progress": 20},
    "ministerial_review": {"idea": 40, "committed": 40, "in_progress": 20},
    "signed_off": {"idea": 10, "committed": 50, "in_progress": 40},
    "contractualised": {"committed": 20, "in_progress": 50, "done": 30},
    "rejected": {"idea": 70, "committed": 30},
    "withdrawn": {"idea": 70, "committed": 30},
}
FUNDER_WEIGHTS = {
    Funder.STATE: 20,
    Funder.REGION: 20,
    Funder.EPCI: 15,
    Funder.BANQUE_DES_TERRITOIRES: 12,
    Funder.BPIFRANCE: 10,
    Funder.FRANCE_TRAVAIL: 8,
    Funder.BUSINESS_FRANCE: 6,
    Funder.OTHER: 9,
}
# What the funders answered, by the contract's state: nothing before submission.
LINE_ANSWERS = {
    "draft": (0, 0),
    "regional_review": (15, 5),
    "ministerial_review": (25, 5),
    "signed_off": (55, 8),
    "contractualised": (70, 8),
    "rejected": (0, 10),
    "withdrawn": (0, 10),
}
RULES = [
    (RuleKind.LAW, "Code de l'environnement, art. L. 122-1"),
    (RuleKind.DECREE, "Code de l'environnement, art. R. 122-2"),
    (RuleKind.LAW, "Code de l'urbanisme, art. L. 151-1"),
    (RuleKind.DECREE, "Code de l'urbanisme, art. R. 111-2"),
    (RuleKind.LAW, "Code du travail, art. L. 3132-3"),
    (RuleKind.DECREE, "Code du travail, art. R. 4412-149"),
    (RuleKind.LAW, "Code de la commande publique, art. L. 2122-1"),
    (RuleKind.ARRETE, "Arrêté du 2 février 1998 relatif aux prélèvements et rejets"),
    (RuleKind.DECREE, "Code de l'énergie, art. R. 314-1"),
    (RuleKind.CIRCULAR, "Circulaire du 10 mai 2010 relative aux installations classées"),
]
# The viewflow references of the tasks that wait on each state (workflows/flows.py); the
# cases app does not import workflows, and tests/cases/kernel/test_scale_seed.py checks that they
# resolve to the flows' nodes.
FLOW_REFS = {
    "contract": "workflows/flows.ContractFlow",
    "derogation": "workflows/flows.DerogationFlow",
}
TASK_NODES = {
    "contract": {
        "draft": "drafting",
        "regional_review": "regional_review",
        "ministerial_review": "ministerial_review",
        "signed_off": "awaiting_contractualisation",
    },
    "derogation": {
        "draft": "drafting",
        "regional_review": "regional_review",
        "ministerial_review": "ministerial_review",
    },
}
VALIDATED_WAVES = 4


def pick(rng: random.Random, weights: dict) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Copy:
    """Rows of one table, written with COPY. Only the given columns vary; every other
    column gets its field's default, prepared once."""

    def __init__(self, model: type[models.Model], columns: list[str]):
        fields = {f.attname: f for f in model._meta.local_concrete_fields}
        unknown = set(columns) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} n'a pas les colonnes {sorted(unknown)}")
        self.table = model._meta.db_table
        self.columns: list[str] = [cast(str, fields[name].column) for name in columns]
        self.json = {index for index, name in enumerate(columns) if _is_json(fields[name])}
        rest = [
            f
            for name, f in fields.items()
            if name not in columns and not isinstance(f, models.AutoField)
        ]
        self.columns += [cast(str, f.column) for f in rest]
        self.constant = tuple(_prepared(f) for f in rest)
        self.rows: list[tuple] = []
        self.written = 0

    def add(self, *values) -> None:
        if self.json:
            values = tuple(
                json.dumps(value) if index in self.json else value
                for index, value in enumerate(values)
            )
        self.rows.append((*values, *self.constant))

    def flush(self) -> None:
        if not self.rows:
            return
        names = ", ".join(connection.ops.quote_name(column) for column in self.columns)
        statement = f"COPY {connection.ops.quote_name(self.table)} ({names}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in self.rows:
                copy.write_row(row)
        self.written += len(self.rows)
        self.rows = []


def _is_json(f) -> bool:
    return isinstance(f, models.JSONField)


def _prepared(f) -> Any:
    value = f.get_default()
    if _is_json(f):
        return json.dumps(value)
    return f.get_db_prep_save(value, connection)


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` ids from the table's own sequence, so that the rows can refer to each other
    before they are written."""
    if count == 0:
        return []
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


@dataclass
class People:
    """The synthetic accounts: one EPCI agent per territory, two reviewers per Region, a few
    ministry agents, a steering member and one agent per operator."""

    epci: dict[int, int]  # territory id -> user id
    epci_organisation: dict[int, int]  # territory id -> organisation id
    region: dict[int, list[int]]  # region id -> user ids
    ministry: list[int]
    operators: dict[str, int]  # funder code -> user id


@dataclass
class Timeline:
    state: str
    events: list[tuple[str, datetime, str, str, str]]  # name, at, actor role, from, to
    stamps: dict[str, datetime] = field(default_factory=dict)


class Command(BaseCommand):
    help = (
        "Crée un jeu de données SYNTHÉTIQUE à l'échelle du programme (contrats, fiches-actions, "
        "financements, dérogations, vagues, circuits et tâches) sur les 148 territoires réels, "
        "pour les mesures de bench/dashboard.py. Chaque libellé porte « [Synthétique] », les "
        f"comptes sont sur le domaine réservé {DOMAIN} sans mot de passe utilisable. Refusé en "
        "production, jamais dans la démonstration, PostgreSQL seulement ; une seule fois par "
        "base. Les chaînes d'audit sont calculées comme le fait le service : verify_audit les "
        "accepte."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--contracts", type=int, default=100_000, help="nombre de contrats (100 000)"
        )
        parser.add_argument(
            "--seed", type=int, default=2019, help="graine du tirage (résultat reproductible)"
        )

    def handle(self, *args, contracts: int, seed: int, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "Données synthétiques : refusé en production (DJANGO_ENV=production)."
            )
        if connection.vendor != "postgresql":
            raise CommandError(
                "seed_scale écrit par COPY : il faut PostgreSQL (DATABASE_URL=postgres://…)."
            )
        if contracts < 1:
            raise CommandError("--contracts doit valoir au moins 1.")
        territories = list(Territory.objects.select_related("pilot_region").order_by("code"))
        if not territories:
            raise CommandError(
                "Données de référence absentes : lancez d'abord "
                "« python manage.py load_reference_data »."
            )
        existing = User.objects.filter(email__endswith=f"@{DOMAIN}").count()
        if existing:
            raise CommandError(
                f"Des données synthétiques existent déjà dans cette base ({existing} comptes "
                f"@{DOMAIN}) : rien n'a été ajouté. Recréez la base pour les régénérer."
            )
        started = time.monotonic()
        with transaction.atomic():
            builder = build(contracts, seed=seed, out=self.stdout.write)
        with connection.cursor() as cursor:
            # The planner needs the new rows' statistics before the first measurement.
            for model in (Case, TerritoryContract, ActionSheet, FinancingLine, CaseEvent):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            cursor.execute("ANALYZE")
        self.stdout.write(
            self.style.SUCCESS(
                f"Jeu synthétique créé en {time.monotonic() - started:.0f}\u00a0s : "
                + " ; ".join(
                    f"{count:,}".replace(",", "\u202f") + f" {label}"
                    for label, count in builder.counts()
                )
                + "."
            )
        )


def make_people(territories: list[Territory]) -> People:
    """The synthetic accounts, created."""
    national = national_organisations()
    unusable = make_password(None)
    users: list[User] = []
    memberships: list[tuple[User, Organisation, str]] = []

    def account(local: str, last_name: str, organisation: Organisation, role: str) -> User:
        user = User(
            email=f"{local}@{DOMAIN}",
            first_name=SYNTHETIC,
            last_name=last_name,
            password=unusable,
        )
        users.append(user)
        memberships.append((user, organisation, role))
        return user

    epci_users, epci_organisations, region_users = {}, {}, {}
    for territory in territories:
        epci = territory.intercommunalities.order_by("siren").first()
        if epci is None:
            continue
        organisation = Organisation.objects.get_or_create(
            intercommunality=epci, defaults={"kind": Organisation.Kind.EPCI, "name": epci.name}
        )[0]
        epci_organisations[territory.pk] = organisation.pk
        epci_users[territory.pk] = account(
            f"epci-{territory.code}",
            f"Agent EPCI {territory.code}",
            organisation,
            Role.EPCI_AGENT,
        )
    for region in {territory.pilot_region for territory in territories}:
        organisation = Organisation.objects.get_or_create(
            region=region,
            defaults={"kind": Organisation.Kind.REGION, "name": f"Région {region.name}"},
        )[0]
        region_users[region.pk] = [
            account(
                f"region-{region.code}-{n}",
                f"Instructeur Région {region.code} {NO}{n}",
                organisation,
                Role.REGION_REVIEWER,
            )
            for n in (1, 2)
        ]
    ministry = [
        account(
            f"ministere-{n}",
            f"Agent du ministère {NO}{n}",
            national["ministry"],
            Role.MINISTRY_AGENT,
        )
        for n in (1, 2, 3)
    ]
    account("copil", "Membre du comité de pilotage", national["ministry"], Role.STEERING_MEMBER)
    operators = {}
    for organisation in national.values():
        if organisation.operator:
            operators[organisation.operator] = account(
                f"operateur-{organisation.operator.replace('_', '-')}",
                f"Agent {organisation.name}",
                organisation,
                Role.OPERATOR_AGENT,
            )
    User.objects.bulk_create(users)
    Membership.objects.bulk_create(
        [Membership(user=u, organisation=o, role=role) for u, o, role in memberships]
    )
    return People(
        epci={pk: user.pk for pk, user in epci_users.items()},
        epci_organisation=epci_organisations,
        region={pk: [user.pk for user in group] for pk, group in region_users.items()},
        ministry=[user.pk for user in ministry],
        operators={code: user.pk for code, user in operators.items()},
    )


def existing_people(territories: list[Territory]) -> People | None:
    """The synthetic accounts of an earlier run, read back; None if there are none."""
    memberships = Membership.objects.filter(user__email__endswith=f"@{DOMAIN}").select_related(
        "user", "organisation"
    )
    by_code = {territory.code: territory.pk for territory in territories}
    people = People(epci={}, epci_organisation={}, region={}, ministry=[], operators={})
    for membership in memberships.order_by("user__email"):
        user, organisation = membership.user, membership.organisation
        if membership.role == Role.EPCI_AGENT:
            territory = by_code.get(user.email.split("@")[0].removeprefix("epci-"))
            if territory is not None:
                people.epci[territory] = user.pk
                people.epci_organisation[territory] = organisation.pk
        elif membership.role == Role.REGION_REVIEWER and organisation.region_id:
            people.region.setdefault(organisation.region_id, []).append(user.pk)
        elif membership.role == Role.MINISTRY_AGENT:
            people.ministry.append(user.pk)
        elif membership.role == Role.OPERATOR_AGENT and organisation.operator:
            people.operators[organisation.operator] = user.pk
    return people if people.ministry else None


def build(contracts: int, *, seed: int = 2019, out=lambda message: None) -> "Builder":
    """Write ``contracts`` synthetic contracts and what hangs off them, reusing the synthetic
    accounts if an earlier run made them. The command refuses a second run (a bench base
    must not double by mistake); the tests call this to grow a data set and show that the
    pages' queries do not grow with it."""
    started = time.monotonic()
    territories = list(Territory.objects.select_related("pilot_region").order_by("code"))
    people = existing_people(territories)
    if people is None:
        out("Comptes synthétiques…")
        people = make_people(territories)
    builder = Builder(
        rng=random.Random(seed),  # noqa: S311 (a reproducible draw, not a secret)
        territories=territories,
        people=people,
        now=timezone.now().astimezone(UTC),
        out=out,
        started=started,
    )
    builder.run(contracts)
    return builder


@dataclass
class WavePlan:
    pk: int
    name: str
    state: str
    day: date
    created_at: datetime
    validated_at: datetime | None
    items: list[tuple[int, str, datetime]] = field(default_factory=list)  # id, ref, added


class Builder:
    def __init__(self, *, rng, territories, people: People, now: datetime, out, started):
        self.rng = rng
        self.territories = [t for t in territories if t.pk in people.epci]
        self.people = people
        self.now = now
        self.out = out
        self.started = started
        self.first_day = datetime(2019, 1, 7, 9, tzinfo=UTC)
        self.process_model = apps.get_model("workflows", "CaseProcess")
        from viewflow.workflow.models import Process, Task

        self.tables = {
            "case": Copy(
                Case,
                [
                    "id",
                    "kind",
                    "reference",
                    "territory_id",
                    "state",
                    "version",
                    "created_by_id",
                    "created_at",
                    "updated_by_id",
                    "updated_at",
                    "submitted_at",
                    "ministerial_review_at",
                    "signed_off_at",
                    "contractualised_at",
                    "closed_at",
                    "event_count",
                    "audit_head",
                ],
            ),
            "contract": Copy(
                TerritoryContract,
                [
                    "case_ptr_id",
                    "title",
                    "summary",
                    "period_start",
                    "period_end",
                    "elected_lead_name",
                    "elected_lead_role",
                    "industrial_lead_name",
                    "industrial_lead_role",
                ],
            ),
            "derogation": Copy(
                DerogationRequest,
                [
                    "case_ptr_id",
                    "call_id",
                    "applicant_id",
                    "title",
                    "rule_kind",
                    "rule_reference",
                    "rule_reference_key",
                    "rule_text",
                    "derogation_requested",
                    "justification",
                    "duration_months",
                    "evaluation_plan",
                    "region_opinion",
                    "region_opinion_reasons",
                    "outcome",
                    "decision_motivation",
                    "decision_legal_basis",
                    "granted_duration_months",
                    "decided_at",
                    "contract_id",
                ],
            ),
            "action": Copy(
                ActionSheet,
                ["id", "contract_id", "title", "axis", "project_owner", "total_cost", "status"],
            ),
            "line": Copy(
                FinancingLine,
                [
                    "action_id",
                    "funder",
                    "amount",
                    "status",
                    "committed_amount",
                    "committed_on",
                    "note",
                    "answered_by_id",
                    "answered_at",
                ],
            ),
            "event": Copy(
                CaseEvent,
                [
                    "case_id",
                    "seq",
                    "kind",
                    "name",
                    "actor_id",
                    "created_at",
                    "from_state",
                    "to_state",
                    "comment",
                    "payload",
                    "prev_hash",
                    "hash",
                ],
            ),
            "process": Copy(Process, ["id", "flow_class", "status", "created", "finished"]),
            "caseprocess": Copy(self.process_model, ["process_ptr_id", "case_id"]),
            "task": Copy(
                Task,
                [
                    "process_id",
                    "flow_task",
                    "flow_task_type",
                    "status",
                    "created",
                    "assigned",
                    "owner_id",
                ],
            ),
            "wave_item": Copy(
                WaveItem, ["wave_id", "contract_id", "active", "added_by_id", "added_at"]
            ),
        }
        self.process_parent = Process
        self.process_ids: list[int] = []
        self.waves: list[WavePlan] = []
        self.derogation_count = 0
        self.signed_off_seen = 0

    # Time.

    def moment(self, after: datetime, low: int, high: int) -> datetime:
        return after + timedelta(
            days=self.rng.randint(low, high), seconds=self.rng.randint(0, 86_399)
        )

    def timeline(self, path: list[str], state: str, created: datetime) -> Timeline:
        at, current = created, "draft"
        line = Timeline(state=state, events=[])
        for name in path:
            at = self.moment(at, 2, 80)
            actor, stamp = TRANSITIONS[name]
            if actor == "reviewer":
                actor = "ministry" if current == "ministerial_review" else "region"
            target = TARGETS[name]
            line.events.append((name, at, actor, current, target))
            if stamp:
                line.stamps[stamp] = at
            current = target
        return line

    # The waves: validated ones spread over the programme's years, one planned, one cancelled.

    def plan_waves(self) -> None:
        ids = reserve_ids(Wave, VALIDATED_WAVES + 2)
        span = (self.now - timedelta(days=30)) - (self.first_day + timedelta(days=240))
        for n in range(VALIDATED_WAVES):
            day = (self.first_day + timedelta(days=240) + span * (n + 1) / VALIDATED_WAVES).date()
            validated = datetime(day.year, day.month, day.day, 17, tzinfo=UTC)
            self.waves.append(
                WavePlan(
                    pk=ids[n],
                    name=f"{SYNTHETIC} Vague {NO}{n + 1}",
                    state="validated",
                    day=day,
                    created_at=validated - timedelta(days=60),
                    validated_at=validated,
                )
            )
        soon = (self.now + timedelta(days=45)).date()
        for pk, name, state in (
            (ids[-2], f"{SYNTHETIC} Vague prévue", "planned"),
            (ids[-1], f"{SYNTHETIC} Vague annulée", "cancelled"),
        ):
            self.waves.append(
                WavePlan(
                    pk=pk,
                    name=name,
                    state=state,
                    day=soon,
                    created_at=self.now - timedelta(days=30),
                    validated_at=None,
                )
            )

    def wave_after(self, signed_off: datetime) -> WavePlan | None:
        for wave in self.waves:
            if wave.state == "validated" and wave.validated_at and wave.validated_at > signed_off:
                return wave
        return None

    # The cases.

    def run(self, total: int) -> None:
        self.plan_waves()
        self.call, _ = CallForProjects.objects.get_or_create(
            name=f"{SYNTHETIC} Appel à projets France Expérimentation",
            defaults={
                "description": f"{SYNTHETIC} Appel à projets des données de mesure.",
                "opens_at": self.first_day - timedelta(days=30),
                "closes_at": self.now + timedelta(days=3650),
            },
        )
        done = 0
        while done < total:
            size = min(BATCH, total - done)
            self.batch(done, size)
            done += size
            self.out(
                f"Contrats : {done:,} / {total:,}".replace(",", "\u202f")
                + f" ({time.monotonic() - self.started:.0f}\u00a0s)"
            )
        self.write_waves()
        for table in self.tables.values():
            table.flush()

    def batch(self, offset: int, size: int) -> None:
        rng = self.rng
        case_ids = reserve_ids(Case, size)
        plans = []
        derogations = []
        for number, pk in enumerate(case_ids, start=offset + 1):
            territory = rng.choice(self.territories)
            state = pick(rng, STATE_WEIGHTS)
            path = rng.choice(CONTRACT_PATHS[state])
            created = self.first_day + timedelta(
                seconds=rng.randint(
                    0, int((self.now - self.first_day).total_seconds()) - 400 * 86_400
                )
            )
            line = self.timeline(path, state, created)
            wave = None
            if state == "contractualised":
                wave = self.wave_after(line.stamps["signed_off_at"])
                if wave is None:
                    state, path = "signed_off", path[:-1]
                    line = Timeline(state=state, events=line.events[:-1], stamps=line.stamps)
                    line.stamps.pop("contractualised_at", None)
                else:
                    name, _, actor, source, target = line.events[-1]
                    assert wave.validated_at is not None
                    line.events[-1] = (name, wave.validated_at, actor, source, target)
                    line.stamps["contractualised_at"] = wave.validated_at
            if state == "signed_off":
                self.signed_off_seen += 1
                # One signed-off contract in a hundred waits in the planned wave.
                if self.signed_off_seen % 100 == 1:
                    wave = self.waves[-2]
            plans.append((pk, number, territory, line, created, wave))
            if rng.random() < 0.05:
                derogations.append((pk, territory, line))
        action_ids = reserve_ids(ActionSheet, 4 * size)
        for index, (pk, number, territory, line, created, wave) in enumerate(plans):
            self.contract(pk, number, territory, line, created, wave)
            self.actions(pk, number, line, action_ids[4 * index : 4 * index + 4])
        derogation_ids = reserve_ids(Case, len(derogations))
        for pk, (contract_id, territory, contract_line) in zip(
            derogation_ids, derogations, strict=True
        ):
            self.derogation(pk, contract_id, territory, contract_line)
        for table in self.tables.values():
            table.flush()

    def actor(self, role: str, territory: Territory) -> int:
        if role == "epci":
            return self.people.epci[territory.pk]
        if role == "region":
            return self.rng.choice(self.people.region[territory.pilot_region_id])
        return self.rng.choice(self.people.ministry)

    def write_case(
        self,
        *,
        pk: int,
        kind: str,
        prefix: str,
        territory: Territory,
        line: Timeline,
        created: datetime,
        create_payload: dict,
        wave: WavePlan | None,
    ) -> None:
        author = self.people.epci[territory.pk]
        events = [("create", created, "epci", "", "draft"), *line.events]
        head, last_actor = GENESIS, author
        for seq, (name, at, role, source, target) in enumerate(events, start=1):
            actor = author if role == "epci" else self.actor(role, territory)
            is_creation = name == "create"
            kind_code = CaseEvent.Kind.CREATION if is_creation else CaseEvent.Kind.TRANSITION
            comment = ""
            if name in ("request_changes", "reject"):
                comment = f"{SYNTHETIC} Motif de la décision."
            payload: dict = create_payload if is_creation else {}
            if name == "contractualise" and wave is not None:
                payload = {"wave": wave.pk, "wave_name": wave.name}
            event = SimpleNamespace(
                case_id=pk,
                seq=seq,
                kind=str(kind_code),
                name=name,
                actor_id=actor,
                created_at=at,
                from_state=source,
                to_state=target,
                comment=comment,
                private=False,
                payload=payload,
                prev_hash=head,
            )
            digest = event_hash(cast(CaseEvent, event))
            self.tables["event"].add(
                pk, seq, str(kind_code), name, actor, at, source, target, comment, payload,
                head, digest,
            )  # fmt: skip
            head, last_actor = digest, actor
        updated = events[-1][1]
        stamps = line.stamps
        self.tables["case"].add(
            pk,
            kind,
            f"{prefix}-{timezone.localdate(created).year}-{pk:04d}",
            territory.pk,
            line.state,
            len(events),
            author,
            created,
            last_actor if len(events) > 1 else None,
            updated,
            stamps.get("submitted_at"),
            stamps.get("ministerial_review_at"),
            stamps.get("signed_off_at"),
            stamps.get("contractualised_at"),
            stamps.get("closed_at"),
            len(events),
            head,
        )
        self.process(pk, kind, territory, line, created, updated)

    def contract(self, pk, number, territory, line: Timeline, created, wave) -> None:
        title = f"{SYNTHETIC} Contrat {NO}{number}"
        self.write_case(
            pk=pk,
            kind=Case.Kind.CONTRACT,
            prefix=TerritoryContract.REFERENCE_PREFIX,
            territory=territory,
            line=line,
            created=created,
            create_payload={"fields": {"title": title}, "synthetic": True},
            wave=wave if line.state == "contractualised" else None,
        )
        start = date(created.year + 1, 1, 1)
        self.tables["contract"].add(
            pk,
            title,
            f"{SYNTHETIC} Contrat de territoire de {territory.name}, données de mesure.",
            start,
            date(start.year + 3, 12, 31),
            f"{SYNTHETIC} Élu {NO}{number}",
            "Président",
            f"{SYNTHETIC} Industriel {NO}{number}",
            "Directeur d'usine",
        )
        if wave is not None:
            signed_off = line.stamps["signed_off_at"]
            added = max(signed_off + timedelta(hours=1), wave.created_at)
            if wave.validated_at is not None:
                added = min(added, wave.validated_at - timedelta(minutes=1))
            added = min(added, self.now)
            reference = f"CT-{timezone.localdate(created).year}-{pk:04d}"
            wave.items.append((pk, reference, added))
            self.tables["wave_item"].add(wave.pk, pk, True, self.people.ministry[0], added)

    def actions(self, contract_id, number, line: Timeline, ids: list[int]) -> None:
        rng = self.rng
        state = line.state
        committed_share, declined_share = LINE_ANSWERS[state]
        submitted = line.stamps.get("submitted_at")
        for n, pk in enumerate(ids, start=1):
            cost = Decimal(rng.randint(20, 3000) * 1000)
            self.tables["action"].add(
                pk,
                contract_id,
                f"{SYNTHETIC} Fiche-action {NO}{n} du contrat {NO}{number}",
                rng.choice(Axis.values),
                f"{SYNTHETIC} Porteur de projet {NO}{rng.randint(1, 5000)}",
                cost,
                pick(rng, ACTION_STATUSES[state]),
            )
            funders = rng.sample(list(FUNDER_WEIGHTS), k=rng.randint(1, 3))
            for funder in funders:
                amount = (cost * Decimal(rng.randint(10, 30)) / 100).quantize(Decimal("1"))
                roll = rng.randint(1, 100)
                status, committed, committed_on, answered_by, answered_at = (
                    "requested", None, None, None, None,
                )  # fmt: skip
                if roll <= committed_share + declined_share and submitted is not None:
                    answered_at = min(self.moment(submitted, 5, 200), self.now)
                    answered_by = self.people.operators.get(funder)
                    if roll <= committed_share:
                        status = "committed"
                        committed = (
                            amount * Decimal(rng.choice((100, 100, 80, 50))) / 100
                        ).quantize(Decimal("1"))
                        committed_on = answered_at.date()
                    else:
                        status = "declined"
                self.tables["line"].add(
                    pk,
                    funder,
                    amount,
                    status,
                    committed,
                    committed_on,
                    f"{SYNTHETIC} Réponse du financeur." if answered_at else "",
                    answered_by,
                    answered_at,
                )

    def derogation(self, pk, contract_id, territory, contract_line: Timeline) -> None:
        rng = self.rng
        self.derogation_count += 1
        number = self.derogation_count
        state = pick(rng, DEROGATION_STATE_WEIGHTS)
        path = list(DEROGATION_PATHS[state])
        created = self.moment(self.first_day, 0, 400)
        line = self.timeline(path, state, created)
        outcome = pick(rng, OUTCOME_WEIGHTS) if state == "decided" else ""
        contract_done = contract_line.stamps.get("contractualised_at")
        if outcome == Outcome.GRANTED and contract_done and contract_done > line.events[-1][1]:
            # A granted derogation is contractualised with its territory's contract.
            line.events.append(
                ("contractualise", contract_done, "ministry", "decided", "contractualised")
            )
            line.stamps["contractualised_at"] = contract_done
            line.state = "contractualised"
        kind, reference = rng.choice(RULES)
        forwarded = "ministerial_review_at" in line.stamps
        self.write_case(
            pk=pk,
            kind=Case.Kind.DEROGATION,
            prefix=DerogationRequest.REFERENCE_PREFIX,
            territory=territory,
            line=line,
            created=created,
            create_payload={
                "fields": {"title": f"{SYNTHETIC} Dérogation {NO}{number}"},
                "synthetic": True,
            },
            wave=None,
        )
        decided = outcome != ""
        self.tables["derogation"].add(
            pk,
            self.call.pk,
            self.people.epci_organisation[territory.pk],
            f"{SYNTHETIC} Demande de dérogation {NO}{number}",
            kind,
            reference,
            rule_reference_key(reference),
            f"{SYNTHETIC} Rédaction de la règle.",
            f"{SYNTHETIC} Dérogation demandée.",
            f"{SYNTHETIC} Justification.",
            rng.choice((12, 24, 36, 48, 60)),
            f"{SYNTHETIC} Plan d'évaluation.",
            rng.choice(("favourable", "favourable", "unfavourable")) if forwarded else "",
            f"{SYNTHETIC} Motifs de l'avis régional." if forwarded else "",
            outcome,
            f"{SYNTHETIC} Motivation de la décision." if decided else "",
            f"{SYNTHETIC} Fondement juridique." if decided else "",
            36 if outcome == Outcome.GRANTED else None,
            line.stamps.get("decided_at"),
            contract_id,
        )

    def process(self, case_id, kind, territory, line: Timeline, created, updated) -> None:
        """The case's viewflow process and, while the case waits on someone, its open task."""
        node = TASK_NODES[kind].get(line.state)
        pk = self.next_process_id()
        flow = FLOW_REFS[kind]
        self.tables["process"].add(
            pk, flow, "NEW" if node else "DONE", created, None if node else updated
        )
        self.tables["caseprocess"].add(pk, case_id)
        if node is None:
            return
        owner, assigned = None, None
        if self.rng.random() < 0.1:
            # Some tasks are taken in charge by the one whose turn it is.
            role = {"draft": "epci", "regional_review": "region"}.get(line.state, "ministry")
            owner, assigned = self.actor(role, territory), min(self.moment(updated, 0, 3), self.now)
        self.tables["task"].add(
            pk,
            f"{flow}.{node}",
            "HUMAN",
            "ASSIGNED" if owner else "NEW",
            updated,
            assigned,
            owner,
        )

    def next_process_id(self) -> int:
        if not self.process_ids:
            self.process_ids = reserve_ids(self.process_parent, BATCH)
        return self.process_ids.pop()

    def write_waves(self) -> None:
        ministry = self.people.ministry[0]
        wave_rows = Copy(
            Wave,
            [
                "id",
                "name",
                "date",
                "place",
                "description",
                "state",
                "version",
                "created_by_id",
                "created_at",
                "updated_at",
                "validated_at",
                "validated_by_id",
                "cancelled_at",
                "event_count",
                "audit_head",
            ],
        )
        event_rows = Copy(
            WaveEvent,
            ["wave_id", "seq", "name", "actor_id", "created_at", "payload", "prev_hash", "hash"],
        )
        for wave in self.waves:
            place = f"{SYNTHETIC} Lieu de la vague"
            entries: list[tuple[str, datetime, dict]] = [
                (
                    "create",
                    wave.created_at,
                    {"name": wave.name, "date": str(wave.day), "place": place},
                )
            ]
            wave.items.sort(key=lambda item: item[2])
            entries += [("add_contract", added, {"contract": ref}) for _, ref, added in wave.items]
            last = wave.created_at
            if wave.state == "validated":
                assert wave.validated_at is not None
                last = wave.validated_at
                entries.append(
                    (
                        "validate",
                        last,
                        {
                            "contracts": [ref for _, ref, _ in sorted(wave.items)],
                            "derogations": [],
                            "document": None,
                        },
                    )
                )
            elif wave.state == "cancelled":
                last = wave.created_at + timedelta(days=1)
                entries.append(("cancel", last, {}))
            elif wave.items:
                last = wave.items[-1][2]
            head = GENESIS
            for seq, (name, at, payload) in enumerate(entries, start=1):
                event = SimpleNamespace(
                    wave_id=wave.pk,
                    seq=seq,
                    name=name,
                    actor_id=ministry,
                    created_at=at,
                    payload=payload,
                    prev_hash=head,
                )
                digest = wave_event_hash(cast(WaveEvent, event))
                event_rows.add(wave.pk, seq, name, ministry, at, payload, head, digest)
                head = digest
            wave_rows.add(
                wave.pk,
                wave.name,
                wave.day,
                place,
                f"{SYNTHETIC} Vague des données de mesure.",
                wave.state,
                len(entries),
                ministry,
                wave.created_at,
                last,
                wave.validated_at,
                ministry if wave.validated_at else None,
                last if wave.state == "cancelled" else None,
                len(entries),
                head,
            )
        wave_rows.flush()
        event_rows.flush()
        self.wave_rows = len(self.waves)

    def counts(self) -> list[tuple[str, int]]:
        t = self.tables
        return [
            ("contrats", t["contract"].written),
            ("fiches-actions", t["action"].written),
            ("lignes de financement", t["line"].written),
            ("demandes de dérogation", t["derogation"].written),
            ("événements d'audit", t["event"].written),
            ("circuits", t["process"].written),
            ("tâches ouvertes", t["task"].written),
            ("vagues", len(self.waves)),
            ("contrats en vague", t["wave_item"].written),
        ]
