"""The rows of the lists, written in Python (cases/templatetags/list_rows.py): every text
escaped, a contract without fiches-actions counted 0 (not « None »), the state badge."""

import re

import pytest

from cases.models import ActionSheet, TerritoryContract
from tests import factories

pytestmark = pytest.mark.django_db


def row_of(html: str, text: str) -> str:
    rows = [row for row in re.findall(r"<tr>.*?</tr>", html, re.S) if text in row]
    assert len(rows) == 1, text
    return rows[0]


def test_rows_escape_their_texts_and_count_zero_fiches(client, reference_data):
    bare = factories.contract_in_state("draft", actions=0)
    TerritoryContract.objects.filter(pk=bare.pk).update(title='Titre <b>gras</b> & "cité"')
    other = factories.contract_in_state("regional_review", territory_code="8401")
    action = ActionSheet.objects.get(contract=other)
    ActionSheet.objects.filter(pk=action.pk).update(title="Fiche <i>penchée</i>")
    client.force_login(factories.ministry_agent())

    contracts = client.get("/contrats/").content.decode()
    row = row_of(contracts, bare.reference)
    assert f'<a href="/contrats/{bare.reference}/">{bare.reference}</a>' in row
    assert "Titre &lt;b&gt;gras&lt;/b&gt; &amp; &quot;cité&quot;" in row
    assert "<b>" not in row
    assert "<td>0</td>" in row and "None" not in row
    assert 'class="fr-badge fr-badge--' in row and 'data-state="draft"' in row

    actions = client.get("/fiches-actions/").content.decode()
    row = row_of(actions, "penchée")
    assert "Fiche &lt;i&gt;penchée&lt;/i&gt;" in row
    assert 'data-state="regional_review"' in row
    assert "\u00a0€" in row


def test_an_empty_list_says_so(client, reference_data):
    client.force_login(factories.ministry_agent())
    for url, text in (
        ("/contrats/", "Aucun contrat ne correspond."),
        ("/fiches-actions/", "Aucune fiche-action ne correspond."),
        ("/derogations/", "Aucune demande ne correspond."),
    ):
        assert text in client.get(url).content.decode(), url
