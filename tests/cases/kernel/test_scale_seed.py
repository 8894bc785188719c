"""seed_scale: a synthetic data set, said so everywhere, refused in production and on re-run."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Q

from accounts.models import Membership, User
from cases.kernel.audit import verify_case
from cases.models import (
    ActionSheet,
    Axis,
    Case,
    CaseEvent,
    DerogationRequest,
    FinancingLine,
    Funder,
    TerritoryContract,
    Wave,
    WaveItem,
)
from cases.waves.audit import verify_wave
from cases.waves.services import eligible_contracts
from territories.models import Territory
from workflows.engine import OPEN_STATUSES
from workflows.flows import FLOWS_BY_KIND
from workflows.models import CaseProcess
from workflows.selectors import open_tasks_for_user

pytestmark = pytest.mark.django_db

N = 300


def seed(count: int = N) -> str:
    out = StringIO()
    call_command("seed_scale", contracts=count, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(reference_data):
    return seed()


def test_counts_and_proportions(seeded):
    contracts = TerritoryContract.objects.all()
    assert contracts.count() == N
    assert ActionSheet.objects.count() == 4 * N
    assert not contracts.annotate(n=Count("actions")).exclude(n=4).exists()
    lines = FinancingLine.objects.all()
    per_action = ActionSheet.objects.annotate(n=Count("financings"))
    assert not per_action.filter(Q(n__lt=1) | Q(n__gt=3)).exists()
    assert set(lines.values_list("funder", flat=True)) == set(Funder.values)
    assert set(ActionSheet.objects.values_list("axis", flat=True)) == set(Axis.values)
    states = dict(contracts.values_list("state").annotate(n=Count("pk")))
    for state in ("draft", "regional_review", "ministerial_review", "signed_off"):
        assert states.get(state, 0) > 0, state
    assert states.get("contractualised", 0) > 0
    assert states["draft"] > states.get("rejected", 0)
    # Answered lines: committed with their amount and date, declined; drafts ask only.
    committed = lines.filter(status="committed")
    assert committed.exists() and lines.filter(status="declined").exists()
    assert not committed.filter(Q(committed_amount__isnull=True) | Q(committed_on__isnull=True))
    assert not lines.filter(action__contract__state="draft").exclude(status="requested").exists()
    derogations = DerogationRequest.objects.all()
    assert 0 < derogations.count() < N * 0.15
    assert derogations.exclude(outcome="").exists()
    assert derogations.filter(contract__isnull=True).count() == 0
    assert "Jeu synthétique créé" in seeded


def test_every_label_says_synthetic(seeded):
    assert not TerritoryContract.objects.exclude(title__startswith="[Synthétique]").exists()
    assert not ActionSheet.objects.exclude(title__startswith="[Synthétique]").exists()
    assert not ActionSheet.objects.exclude(project_owner__startswith="[Synthétique]").exists()
    assert not DerogationRequest.objects.exclude(title__startswith="[Synthétique]").exists()
    assert not Wave.objects.exclude(name__startswith="[Synthétique]").exists()
    users = User.objects.filter(memberships__isnull=False).distinct()
    assert users.exists()
    for user in users:
        assert user.email.endswith("@synthetique.invalid")
        assert str(user).startswith("[Synthétique]")
        assert not user.has_usable_password()
    # Every role has its synthetic agents, on every territory that has an EPCI.
    assert Membership.objects.filter(role="epci_agent").count() == Territory.objects.count()
    for role in ("region_reviewer", "ministry_agent", "steering_member", "operator_agent"):
        assert Membership.objects.filter(role=role).exists(), role


def test_audit_chains_and_timestamps_hold(seeded):
    sample = Case.objects.order_by("pk")[:60]
    for case in sample:
        assert verify_case(case) is None
    for wave in Wave.objects.all():
        assert verify_wave(wave) is None
    assert not Case.objects.filter(event_count=0).exists()
    assert CaseEvent.objects.count() == sum(Case.objects.values_list("event_count", flat=True))
    assert not Case.objects.exclude(state="draft").filter(
        submitted_at__isnull=True, state__in=["regional_review", "ministerial_review"]
    )
    assert not TerritoryContract.objects.filter(state="signed_off", signed_off_at__isnull=True)


def test_waves_hold_their_contracts(seeded):
    validated = Wave.objects.filter(state="validated")
    assert validated.exists()
    contractualised = TerritoryContract.objects.filter(state="contractualised")
    in_validated = WaveItem.objects.filter(wave__state="validated", active=True)
    assert in_validated.count() == contractualised.count()
    planned = Wave.objects.get(state="planned")
    assert not planned.items.exclude(contract__state="signed_off").exists()
    assert planned.items.exists()
    assert Wave.objects.filter(state="cancelled").exists()
    # The signed-off contracts outside the planned wave are those a wave may still take.
    signed_off = TerritoryContract.objects.filter(state="signed_off").count()
    assert eligible_contracts().count() == signed_off - planned.items.count()


def test_open_cases_have_their_task_in_the_inboxes(seeded):
    open_states = {"draft", "regional_review", "ministerial_review", "signed_off"}
    open_cases = Case.objects.filter(
        Q(kind="contract", state__in=open_states)
        | Q(kind="derogation", state__in=["draft", "regional_review", "ministerial_review"])
    )
    assert CaseProcess.objects.count() == Case.objects.count()
    from viewflow.workflow.models import Task

    tasks = Task.objects.filter(status__in=OPEN_STATUSES)
    assert tasks.count() == open_cases.count()
    # The stored references resolve to the flows' own nodes.
    nodes = {node for flow in FLOWS_BY_KIND.values() for node in flow.instance.nodes()}
    for task in tasks[:50]:
        assert task.flow_task in nodes
    ministry = User.objects.get(email="ministere-1@synthetique.invalid")
    expected = open_cases.filter(state__in=["ministerial_review", "signed_off"]).count()
    assert open_tasks_for_user(ministry).count() == expected
    reviewer = User.objects.get(email="region-84-1@synthetique.invalid")
    mine = open_tasks_for_user(reviewer)
    assert mine.exists()
    assert not mine.exclude(process__caseprocess__case__territory__pilot_region__code="84").exists()


def test_a_second_run_is_refused_and_adds_nothing(seeded):
    with pytest.raises(CommandError, match="existent déjà"):
        seed(20)
    assert TerritoryContract.objects.count() == N


def test_refused_in_production(reference_data, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="refusé en production"):
        seed(20)
    assert not TerritoryContract.objects.exists()
    assert not User.objects.filter(email__endswith="@synthetique.invalid").exists()


def test_refused_without_reference_data(db):
    Territory.objects.all().delete()
    with pytest.raises(CommandError, match="load_reference_data"):
        seed(20)
