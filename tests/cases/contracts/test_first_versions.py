"""Contracts contractualised before versions existed get their version 1 from a command."""

import pytest
from django.core.management import call_command

from cases.contracts.models import ContractVersion, Signature, TerritoryContract
from tests import factories

pytestmark = pytest.mark.django_db


def test_contracts_from_before_versions_get_their_version_1_once():
    contract = factories.contract_in_state("contractualised")
    # As the rows of an earlier wave: contractualised, with no version.
    Signature.objects.filter(contract=contract).delete()
    ContractVersion.objects.filter(contract=contract).delete()
    TerritoryContract.objects.filter(pk=contract.pk).update(version_number=0)
    untouched = factories.contract_in_state("contractualised")
    call_command("make_first_versions")
    call_command("make_first_versions")
    contract.refresh_from_db()
    assert contract.version_number == 1
    assert ContractVersion.objects.filter(contract=contract).count() == 1
    assert Signature.objects.filter(contract=contract, version=1).exists()
    assert ContractVersion.objects.filter(contract=untouched).count() == 1
