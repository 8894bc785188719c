import dataclasses
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from cases.derogations.letters import DecisionLetter, french_date, render_decision_letter

MOTIVATION = (
    "La collectivité a démontré l'intérêt général de l'expérimentation.\n"
    "Le comité a relevé « un projet cohérent » et un cœur de filière déjà en place ; "
    "coût estimé : 120 000 €, l’avis de la préfecture étant favorable."
)


def make_letter(**changes) -> DecisionLetter:
    letter = DecisionLetter(
        reference="DE-2019-0003",
        applicant="CC Faucigny-Glières",
        territory="Vallée de l'Arve",
        title="Simplifier l'évaluation environnementale d'une extension d'usine",
        rule_kind="Décret",
        rule_reference="Code de l'environnement, art. R. 122-2",
        outcome="Dérogation accordée",
        motivation=MOTIVATION,
        legal_basis="Article 21 de la loi n° 2018-727 du 10 août 2018 (ESSOC).",
        decided_on=date(2019, 3, 5),
        signatory="Marie Durand, Direction générale des entreprises",
        details=[
            ("Durée de l'expérimentation", "24 mois"),
            ("Conditions", "Rapport d'étape au douzième mois"),
        ],
    )
    return dataclasses.replace(letter, **changes)


def read(pdf: bytes) -> PdfReader:
    return PdfReader(BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in read(pdf).pages)


def flat(text: str) -> str:
    # Extraction restores line breaks where the paragraph wrapped, not where the text had them.
    return " ".join(text.split())


def test_renders_a_pdf_with_the_decision():
    pdf = render_decision_letter(make_letter())
    assert pdf.startswith(b"%PDF")
    reader = read(pdf)
    assert len(reader.pages) == 1
    text = flat(text_of(pdf))
    for expected in (
        "République française — Ministère chargé de l'industrie",
        "Programme Territoires d'industrie — France Expérimentation",
        "Paris, le 5 mars 2019",
        "Objet : décision sur la demande DE-2019-0003",
        "CC Faucigny-Glières",
        "Vallée de l'Arve",
        "Décret — Code de l'environnement, art. R. 122-2",
        "Dérogation accordée",
        "Durée de l'expérimentation : 24 mois",
        "Conditions : Rapport d'étape au douzième mois",
        "Motivation",
        "Fondement juridique",
        "loi n° 2018-727",
        "Marie Durand, Direction générale des entreprises",
    ):
        assert expected in text


def test_accents_guillemets_and_ligatures_survive_extraction():
    text = flat(text_of(render_decision_letter(make_letter())))
    assert "La collectivité a démontré l'intérêt général" in text
    assert "« un projet cohérent »" in text
    assert "cœur de filière" in text
    assert "120 000 €" in text
    assert "l’avis de la préfecture" in text


def test_outcome_is_in_bold():
    pdf = render_decision_letter(make_letter(outcome="Demande refusée"))
    fonts = read(pdf).pages[0]["/Resources"]["/Font"]
    assert "/Helvetica-Bold" in {font.get_object()["/BaseFont"] for font in fonts.values()}
    assert "Décision : Demande refusée" in flat(text_of(pdf))


def test_markup_in_user_text_is_shown_literally():
    pdf = render_decision_letter(
        make_letter(
            applicant="<b>&</b> Cie",
            motivation="Seuil < 5 & plafond > 10\n<para>pas une balise</para> &amp; <br/>",
            details=[("<i>Note</i>", "a & b")],
        )
    )
    text = flat(text_of(pdf))
    assert "<b>&</b> Cie" in text
    assert "Seuil < 5 & plafond > 10 <para>pas une balise</para> &amp; <br/>" in text
    assert "<i>Note</i> : a & b" in text


def test_newlines_in_motivation_start_new_lines():
    pdf = render_decision_letter(make_letter(motivation="Premier point.\r\nSecond point."))
    lines = text_of(pdf).splitlines()
    assert "Premier point." in lines
    assert "Second point." in lines


def test_metadata():
    reader = read(render_decision_letter(make_letter()))
    assert reader.metadata is not None
    assert reader.metadata.title == "Décision DE-2019-0003"
    assert reader.metadata.author == "Territoires d'industrie"


def test_same_letter_gives_the_same_bytes():
    assert render_decision_letter(make_letter()) == render_decision_letter(make_letter())
    assert render_decision_letter(make_letter()) != render_decision_letter(
        make_letter(outcome="Demande refusée")
    )


def test_long_motivation_spills_onto_another_page():
    motivation = "\n".join(f"Considérant n° {n} : élément retenu." for n in range(1, 301))
    pdf = render_decision_letter(make_letter(motivation=motivation))
    assert len(read(pdf).pages) >= 2
    text = flat(text_of(pdf))
    assert "Considérant n° 1 :" in text
    assert "Considérant n° 300 : élément retenu." in text
    assert "Marie Durand" in text


def test_characters_outside_the_standard_fonts_fall_back_to_their_base_letter():
    # Without the fallback, ř and the NUL would each be drawn as a ZapfDingbats black square.
    pdf = render_decision_letter(make_letter(applicant="Mairie de Dvořák\u202f»\x00"))
    assert "Demandeur : Mairie de Dvorák »" in flat(text_of(pdf))
    fonts = read(pdf).pages[0]["/Resources"]["/Font"]
    assert "/ZapfDingbats" not in {font.get_object()["/BaseFont"] for font in fonts.values()}


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 3, 5), "5 mars 2019"),
        (date(2020, 2, 1), "1er février 2020"),
        (date(2021, 8, 15), "15 août 2021"),
        (date(2022, 12, 31), "31 décembre 2022"),
    ],
)
def test_french_date(day, expected):
    assert french_date(day) == expected
