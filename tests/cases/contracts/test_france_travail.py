"""Pôle emploi has been France Travail since 1 January 2024: the rows say so after the
migration, and the audit log, never rewritten, still reads."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import Organisation
from cases.models import FUNDER_LABELS, FinancingLine, Funder


def migrate(executor: MigrationExecutor, targets) -> None:
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_the_migration_renames_pole_emploi_and_keeps_committed_amounts(reference_data):
    executor = MigrationExecutor(connection)
    try:
        migrate(
            executor,
            [
                ("cases", "0005_plain_text_validators"),
                ("accounts", "0002_national_organisation_name_unique"),
            ],
        )
        apps = executor.loader.project_state(
            [
                ("cases", "0005_plain_text_validators"),
                ("accounts", "0002_national_organisation_name_unique"),
            ]
        ).apps
        Old = apps.get_model("accounts", "Organisation")
        Old.objects.create(kind="operator", name="Pôle emploi")
        Old.objects.create(kind="operator", name="Bpifrance")
        line_ids = _old_lines(apps)
        migrate(executor, executor.loader.graph.leaf_nodes())
    finally:
        migrate(executor, executor.loader.graph.leaf_nodes())
    operators = dict(Organisation.objects.filter(kind="operator").values_list("name", "operator"))
    assert operators == {"France Travail": "france_travail", "Bpifrance": "bpifrance"}
    lines = {line.pk: line for line in FinancingLine.objects.filter(pk__in=line_ids.values())}
    assert lines[line_ids["pole"]].funder == Funder.FRANCE_TRAVAIL
    assert lines[line_ids["pole"]].committed_amount is None
    committed = lines[line_ids["committed"]]
    assert (committed.funder, committed.committed_amount) == ("bpifrance", committed.amount)


def _old_lines(apps) -> dict[str, int]:
    """Two lines written before the migration, on a contract made with the old models."""
    from django.utils import timezone

    Territory = apps.get_model("territories", "Territory")
    User = apps.get_model("accounts", "User")
    Contract = apps.get_model("cases", "TerritoryContract")
    Action = apps.get_model("cases", "ActionSheet")
    Line = apps.get_model("cases", "FinancingLine")
    now = timezone.now()
    author = User.objects.create(email="ancien@example.test")
    contract = Contract.objects.create(
        kind="contract",
        territory=Territory.objects.get(code="8414"),
        created_by=author,
        created_at=now,
        updated_at=now,
    )
    action = Action.objects.create(
        contract=contract, title="Fiche", axis="recruter", project_owner="P"
    )
    pole = Line.objects.create(action=action, funder="pole_emploi", amount=1000, status="requested")
    committed = Line.objects.create(
        action=action, funder="bpifrance", amount=2500, status="committed"
    )
    return {"pole": pole.pk, "committed": committed.pk}


def test_history_written_before_2024_names_france_travail():
    assert FUNDER_LABELS["pole_emploi"] == "France Travail (ex-Pôle emploi)"
    assert "Pôle emploi" not in dict(Funder.choices).values()
