import threading

import factory
from django.db import connection

from accounts.models import OPERATOR_BY_NAME, Membership, Organisation, Role, User
from territories.models import Intercommunality, Region
from territories.reference_data import load_reference_data


def ensure_reference_data() -> None:
    from deadlines.defaults import create_default_rules

    if Region.objects.count() != 18 or Intercommunality.objects.count() != 1255:
        if connection.in_atomic_block:
            # Inside a test's transaction the reload would roll back with it, and every test
            # after would load it again until a transactional test committed one: it is
            # committed at once, from a connection of its own.
            failures: list[BaseException] = []
            worker = threading.Thread(target=_reload_in_own_connection, args=(failures,))
            worker.start()
            worker.join()
            if failures:
                raise failures[0]
        else:
            _reload()
    # A transactional test's flush removes the rules the data migration wrote.
    create_default_rules()


def _reload() -> None:
    load_reference_data()
    # A flush leaves PostgreSQL counting the tables empty until autovacuum passes, and the
    # plans it chose over the reloaded rows hit the pages' 30 s statement timeout (seen with
    # the suite in two processes, where transactional tests no longer all come last).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def _reload_in_own_connection(failures: list[BaseException]) -> None:
    try:
        _reload()
    except BaseException as error:  # handed to the test's thread, which raises it
        failures.append(error)
    finally:
        connection.close()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agent{n}@exemple.gouv.fr")
    first_name = "Agent"
    last_name = factory.Sequence(lambda n: f"N{n}")
    password = factory.PostGenerationMethodCall("set_password", "mot-de-passe-de-test")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def epci_organisation(siren: str) -> Organisation:
    epci = Intercommunality.objects.get(siren=siren)
    return Organisation.objects.get_or_create(
        intercommunality=epci, defaults={"kind": Organisation.Kind.EPCI, "name": epci.name}
    )[0]


def region_organisation(code: str) -> Organisation:
    region = Region.objects.get(code=code)
    return Organisation.objects.get_or_create(
        region=region, defaults={"kind": Organisation.Kind.REGION, "name": f"Région {region.name}"}
    )[0]


def national_organisation(kind: str, name: str) -> Organisation:
    operator = OPERATOR_BY_NAME.get(name, "") if kind == Organisation.Kind.OPERATOR else ""
    return Organisation.objects.get_or_create(name=name, kind=kind, operator=operator)[0]


def user_with_role(role: str, organisation: Organisation, **user_fields) -> User:
    user = UserFactory(**user_fields)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def epci_agent(siren: str, **fields) -> User:
    return user_with_role(Role.EPCI_AGENT, epci_organisation(siren), **fields)


def region_reviewer(code: str, **fields) -> User:
    return user_with_role(Role.REGION_REVIEWER, region_organisation(code), **fields)


def ministry_agent(**fields) -> User:
    ministry = national_organisation(Organisation.Kind.MINISTRY, "Ministère (DGE)")
    return user_with_role(Role.MINISTRY_AGENT, ministry, **fields)


def steering_member(**fields) -> User:
    ministry = national_organisation(Organisation.Kind.MINISTRY, "Ministère (DGE)")
    return user_with_role(Role.STEERING_MEMBER, ministry, **fields)


def operator_agent(name: str = "Bpifrance", **fields) -> User:
    operator = national_organisation(Organisation.Kind.OPERATOR, name)
    return user_with_role(Role.OPERATOR_AGENT, operator, **fields)


def contract_in_state(state: str, *, territory_code: str = "8414", author=None, actions: int = 1):
    """A territory contract brought to ``state`` through the real services (one trait per state)."""
    from datetime import date
    from decimal import Decimal

    from cases.contracts import services as contract_services
    from cases.kernel import services
    from territories.models import Territory

    territory = Territory.objects.get(code=territory_code)
    epci = territory.intercommunalities.order_by("siren").first()
    author = author or epci_agent(epci.siren)
    contract = contract_services.contract_create(
        territory=territory,
        actor=author,
        title=f"Contrat de territoire {territory.name}",
        period_start=date(2019, 3, 5),
        period_end=date(2022, 12, 31),
    )
    for number in range(actions):
        contract_services.action_save(
            case=contract,
            actor=author,
            expected_version=contract_version(contract),
            fields={
                "title": f"Fiche-action {number + 1}",
                "axis": "innover",
                "project_owner": "Porteur",
                "total_cost": Decimal("100000.00"),
            },
            financings=[{"funder": "bpifrance", "amount": Decimal("40000"), "status": "requested"}],
        )
    path = {
        "draft": [],
        "regional_review": ["submit"],
        "ministerial_review": ["submit", "approve"],
        "signed_off": ["submit", "approve", "sign_off"],
        "contractualised": ["submit", "approve", "sign_off"],
        "rejected": ["submit", "reject"],
        "withdrawn": ["withdraw"],
    }[state]
    region = territory.pilot_region.code
    actors = {
        "submit": author,
        "withdraw": author,
        "approve": lambda: region_reviewer(region),
        "reject": lambda: region_reviewer(region),
        "sign_off": ministry_agent,
    }
    for name in path:
        actor = actors[name]
        actor = actor() if callable(actor) and not hasattr(actor, "pk") else actor
        comment = "Motif" if name == "reject" else ""
        services.run_transition(case=contract, actor=actor, name=name, comment=comment)
    if state == "contractualised":
        contractualise(contract)
    contract.refresh_from_db()
    return contract


def contractualise(contract) -> None:
    """Through a wave of its own, validated: the only way in."""
    from datetime import date

    from cases.waves import services as waves

    minister = ministry_agent()
    wave = waves.wave_create(
        actor=minister, name=f"Vague {contract.reference}", date=date(2019, 3, 5), place="Lyon"
    )
    waves.wave_add_contract(wave=wave, actor=minister, contract=contract)
    waves.wave_validate(wave=wave, actor=minister)


def signer_of(signature):
    """An agent who may sign for ``signature``'s party."""
    if signature.party == "epci":
        return epci_agent(signature.party_ref)
    if signature.party == "region":
        return region_reviewer(signature.party_ref)
    if signature.party == "state":
        return ministry_agent()
    return operator_agent(signature.label)


def sign_all(signatures) -> None:
    """Every signature of ``signatures`` recorded, each by an agent of its party."""
    from datetime import date

    from cases.contracts import signing

    for signature in signatures:
        signing.signature_record(
            signature=signature,
            actor=signer_of(signature),
            signer_name=f"Signataire {signature.label}",
            signer_role="Président",
            signed_on=date(2019, 3, 5),
            authority="Délibération n° 2019-12 du 1er mars 2019",
            expected_version=None,
        )


def signed_contract(**fields):
    """A contractualised contract whose version 1 every signatory has signed."""
    from cases.contracts import signing

    contract = contract_in_state("contractualised", **fields)
    sign_all(signing.current_signatures(contract))
    contract.refresh_from_db()
    return contract


def contract_version(contract) -> int:
    from cases.models import Case

    return Case.objects.values_list("version", flat=True).get(pk=contract.pk)


def open_call(**fields):
    """A call for projects open around now (the real one closed in 2019)."""
    from datetime import timedelta

    from django.utils import timezone

    from cases.models import CallForProjects

    now = timezone.now()
    values = {
        "name": "Appel de test",
        "opens_at": now - timedelta(days=30),
        "closes_at": now + timedelta(days=30),
        **fields,
    }
    return CallForProjects.objects.get_or_create(name=values.pop("name"), defaults=values)[0]


REQUEST_FIELDS = {
    "title": "Autoriser l'extension d'une fonderie sans nouvelle étude d'impact",
    "rule_kind": "decree",
    "rule_reference": "Code de l'environnement, art. R. 122-2",
    "rule_text": "Les projets relevant de la nomenclature sont soumis à évaluation...",
    "derogation_requested": "Dispense d'étude d'impact pour une extension de moins de 10 %.",
    "justification": "Le délai d'instruction retarde 40 embauches.",
    "expected_jobs": 40,
    "duration_months": 24,
    "evaluation_plan": "Bilan annuel avec la DREAL.",
}


def grant(derogation, minister) -> None:
    """The ministry grants ``derogation`` (in ministerial review), with the least it needs."""
    from cases.derogations import services as derogations

    derogations.case_decide(
        case=derogation,
        actor=minister,
        outcome="granted",
        motivation="Oui",
        legal_basis="Art. 37-1",
        granted_duration_months=24,
        granted_conditions="Bilan annuel",
    )


def derogation_in_state(state: str, *, territory_code: str = "8414", author=None, **fields):
    """A derogation request brought to ``state`` through the real services."""
    from cases.derogations import services as derogations
    from cases.kernel import services
    from territories.models import Territory

    territory = Territory.objects.get(code=territory_code)
    epci = territory.intercommunalities.order_by("siren").first()
    author = author or epci_agent(epci.siren)
    request = derogations.derogation_create(
        territory=territory, call=open_call(), actor=author, **{**REQUEST_FIELDS, **fields}
    )
    region = region_reviewer(territory.pilot_region.code)
    steps = {
        "draft": [],
        "regional_review": ["submit"],
        "ministerial_review": ["submit", "opinion", "forward"],
        "decided": ["submit", "opinion", "forward", "decide"],
        "withdrawn": ["withdraw"],
    }[state]
    for step in steps:
        request.refresh_from_db()
        if step == "opinion":
            derogations.region_opinion_give(
                case=request,
                actor=region,
                opinion="favourable",
                reasons="Projet structurant.",
                expected_version=request.version,
            )
        elif step == "forward":
            services.case_forward(case=request, actor=region)
        elif step == "decide":
            derogations.case_decide(
                case=request,
                actor=ministry_agent(),
                outcome="refused",
                motivation="Motif",
                legal_basis="Article 37-1 de la Constitution",
            )
        else:
            services.run_transition(case=request, actor=author, name=step)
    request.refresh_from_db()
    return request


def wave_of(count: int, *, name: str = "Vague de test"):
    """A planned wave holding ``count`` signed-off contracts, composed by a ministry agent."""
    from datetime import date

    from cases.waves import services as waves

    minister = ministry_agent()
    wave = waves.wave_create(actor=minister, name=name, date=date(2019, 3, 5), place="Lyon")
    codes = ["8401", "8402", "8403", "8404", "8405", "8406", "8407", "8408", "8409", "8410"]
    for number in range(count):
        contract = contract_in_state("signed_off", territory_code=codes[number % len(codes)])
        waves.wave_add_contract(wave=wave, actor=minister, contract=contract)
    wave.refresh_from_db()
    return wave, minister
