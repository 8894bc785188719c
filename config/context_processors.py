SITE = {
    "site_title": "Territoires d'industrie",
    "site_tagline": "Contrats de territoire et demandes de dérogation",
    "header_brand_html": "République<br>Française",
    "footer_brand_html": "République<br>Française",
    "footer_description": (
        "Outil de suivi des contrats de territoire et des demandes de dérogation "
        "du programme Territoires d'industrie."
    ),
}


def site(request):
    # django-dsfr's own processor reads a DsfrConfig row on every request;
    # a constant is enough here and costs no query.
    return {"SITE_CONFIG": SITE}
