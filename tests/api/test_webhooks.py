"""Webhooks: subscriptions of an organisation's référent, the outbox written in the action's
transaction, signed deliveries in order against a real receiver, retries, SSRF refusals, and
the page that manages them."""

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from accounts.models import Membership
from api.webhooks import addresses, delivery, services
from api.webhooks.models import EventType, WebhookAttempt, WebhookMessage, WebhookSubscription
from cases.kernel import services as case_services
from cases.kernel.services import ActionForbidden, InvalidInput
from territories.models import Territory
from tests import factories

pytestmark = pytest.mark.django_db

ALL_TYPES = list(EventType.values)


class Receiver:
    """A webhook receiver on loopback: verifies each signature, keeps each message once."""

    def __init__(self) -> None:
        self.status = 200
        self.secret = ""
        self.received: list[dict] = []  # every request, as it came
        self.accepted: dict[str, dict] = {}  # by webhook-id, in arrival order
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks?from=test"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                headers = dict(self.headers.items())
                receiver.received.append({"headers": headers, "body": body, "path": self.path})
                status = receiver.status
                if status == 200:
                    try:
                        Webhook(receiver.secret).verify(body, headers)
                    except WebhookVerificationError:
                        status = 401
                    else:
                        receiver.accepted.setdefault(headers["webhook-id"], json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def start(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_LOOPBACK = True
    settings.WEBHOOKS_TIMEOUT_SECONDS = 3
    running = Receiver()
    running.start()
    yield running
    if running.server is not None:
        running.stop()


def territory_epci(code: str = "8414") -> str:
    return Territory.objects.get(code=code).intercommunalities.order_by("siren").first().siren


def referent(user):
    Membership.objects.filter(user=user).update(lead=True)
    return user


def organisation_of(user):
    return Membership.objects.get(user=user).organisation


def subscribe(user, receiver: Receiver, types: list[str] | None = None) -> WebhookSubscription:
    subscription, secret = services.subscription_create(
        actor=user,
        organisation=organisation_of(user),
        url=receiver.url,
        event_types=types or ALL_TYPES,
    )
    receiver.secret = secret
    return subscription


def comment(case, actor, body: str, private: bool = False) -> None:
    case_services.comment_add(case=case, actor=actor, body=body, private=private)


def bodies(subscription: WebhookSubscription) -> list[dict]:
    return [json.loads(m.body) for m in subscription.messages.order_by("pk")]


# Outbox: what is written, for whom, in which transaction.


def test_a_comment_is_delivered_signed_and_a_tampered_body_fails_verification(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Pièce ajoutée au dossier.")
    (row,) = WebhookMessage.objects.filter(subscription=subscription)
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    (request,) = receiver.received
    assert request["path"] == "/hooks?from=test"
    assert request["headers"]["webhook-id"] == row.public_id
    message = receiver.accepted[row.public_id]
    assert message["type"] == "case.comment"
    assert message["data"]["case"]["reference"] == contract.reference
    assert message["data"]["comment"] == "Pièce ajoutée au dossier."
    assert message["data"]["actor"] == agent.get_full_name()
    assert message["data"]["case"]["event"]["hash"] == row.event.hash
    tampered = request["body"].replace("Pièce", "Piece")
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secret).verify(tampered, request["headers"])
    row.refresh_from_db()
    assert row.delivered_at is not None and row.attempts == 1
    (attempt,) = WebhookAttempt.objects.filter(message=row)
    assert attempt.ok and attempt.status_code == 200 and attempt.latency_ms >= 0


def test_transitions_and_decisions_carry_their_states(receiver):
    minister = referent(factories.ministry_agent())
    subscription = subscribe(minister, receiver, [EventType.TRANSITION, EventType.DECISION])
    factories.derogation_in_state("decided")
    types = [(b["type"], b["data"]["case"]["event"]["to_state"]) for b in bodies(subscription)]
    assert types == [
        ("case.transition", "regional_review"),
        ("case.transition", "ministerial_review"),
        ("derogation.decision", "decided"),
    ]
    decision = bodies(subscription)[-1]["data"]
    assert decision["outcome"] == "refused" and decision["case"]["kind"] == "derogation"


def test_the_outbox_row_is_written_in_the_actions_transaction(
    receiver, django_capture_on_commit_callbacks
):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscribe(agent, receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        comment(contract, agent, "Annulé avec la transaction.")
        assert WebhookMessage.objects.count() == 1
        raise RuntimeError
    assert WebhookMessage.objects.count() == 0
    queued = DBTaskResult.objects.filter(task_path=delivery.deliver_webhooks.module_path)
    with django_capture_on_commit_callbacks(execute=True):
        comment(contract, agent, "Gardé.")
        # Nothing is queued before the commit: the worker would find no row.
        assert not queued.exists()
    assert WebhookMessage.objects.count() == 1 and queued.count() == 1


def test_a_case_outside_the_organisations_scope_sends_nothing(receiver):
    elsewhere = factories.contract_in_state("draft", territory_code="8401")
    assert territory_epci("8401") != territory_epci()
    agent = referent(factories.epci_agent(territory_epci()))
    subscribe(agent, receiver)
    comment(elsewhere, elsewhere.created_by, "Un autre territoire.")
    assert WebhookMessage.objects.count() == 0


def test_an_internal_note_goes_only_to_who_may_read_it(receiver):
    contract = factories.contract_in_state("regional_review")
    epci = subscribe(referent(factories.epci_agent(territory_epci())), receiver)
    region_code = contract.territory.pilot_region.code
    reviewer = referent(factories.region_reviewer(region_code))
    region = subscribe(reviewer, receiver)
    comment(contract, reviewer, "Entre instructeurs.", private=True)
    assert not epci.messages.exists()
    (note,) = bodies(region)
    assert note["data"]["private"] is True


def test_a_subscription_gets_only_the_types_it_asked_for(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver, [EventType.TRANSITION])
    comment(contract, agent, "Pas envoyé.")
    case_services.case_submit(case=contract, actor=agent)
    assert [b["type"] for b in bodies(subscription)] == ["case.transition"]


def test_a_subscription_whose_owner_is_no_longer_referent_gets_nothing(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscribe(agent, receiver)
    Membership.objects.filter(user=agent).update(lead=False)
    comment(contract, agent, "Plus référent.")
    assert WebhookMessage.objects.count() == 0


def test_a_wave_validation_is_one_event_per_subscription_naming_its_cases(receiver):
    from cases.waves import services as waves

    wave, minister = factories.wave_of(2)
    referent(minister)
    subscription = subscribe(minister, receiver, [EventType.WAVE])
    waves.wave_validate(wave=wave, actor=minister)
    (body,) = bodies(subscription)
    assert body["type"] == "wave.validated"
    assert body["data"]["wave"]["name"] == "Vague de test"
    cases = body["data"]["cases"]
    assert len(cases) == 2 and {c["event"]["to_state"] for c in cases} == {"contractualised"}


# Delivery: order, retries, the receiver down then up.


def test_receiver_down_then_up_gets_every_event_in_order_once(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    for number in range(3):
        comment(contract, agent, f"Message {number}")
    ids = list(subscription.messages.order_by("pk").values_list("public_id", flat=True))
    receiver.status = 503
    now = timezone.now()
    assert delivery.deliver_pending(subscription.pk, now=now) == delivery.FAILED
    # Only the first was tried: the next one waits for it.
    assert [r["headers"]["webhook-id"] for r in receiver.received] == [ids[0]]
    head = subscription.messages.get(public_id=ids[0])
    assert head.next_attempt_at == now + delivery.BACKOFF[0]
    assert delivery.deliver_pending(subscription.pk, now=now) == delivery.WAITING
    # Then not listening at all.
    receiver.stop()
    now = head.next_attempt_at
    assert delivery.deliver_pending(subscription.pk, now=now) == delivery.FAILED
    head.refresh_from_db()
    assert head.next_attempt_at == now + delivery.BACKOFF[1]
    log = list(WebhookAttempt.objects.filter(message=head).order_by("pk"))
    assert [a.status_code for a in log] == [503, None]
    assert "Connexion impossible" in log[1].error
    # Up again: the retry sends all three, in order; a replay sends them again, same ids.
    receiver.status = 200
    receiver.start()
    assert delivery.deliver_pending(subscription.pk, now=head.next_attempt_at) == delivery.IDLE
    assert list(receiver.accepted) == ids
    services.replay_from(subscription=subscription, actor=agent, message_id=ids[1])
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert list(receiver.accepted) == ids
    sent = [r["headers"]["webhook-id"] for r in receiver.received if r["headers"]]
    assert sent[-2:] == ids[1:]
    assert [m["data"]["comment"] for m in receiver.accepted.values()] == [
        "Message 0",
        "Message 1",
        "Message 2",
    ]


def test_after_the_last_retry_the_subscription_is_disabled_and_its_referents_told(
    receiver, mailoutbox
):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Jamais reçu.")
    receiver.status = 500
    now = timezone.now()
    waited = timedelta()
    for _ in range(delivery.MAX_ATTEMPTS):
        assert delivery.deliver_pending(subscription.pk, now=now) == delivery.FAILED
        head = subscription.messages.get()
        if head.next_attempt_at > now:
            waited += head.next_attempt_at - now
            now = head.next_attempt_at
    assert timedelta(days=2, hours=12) < waited < timedelta(days=3, hours=12)
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_at is not None
    assert delivery.deliver_pending(subscription.pk, now=now) == delivery.OFF
    assert len(receiver.received) == delivery.MAX_ATTEMPTS
    told = DBTaskResult.objects.filter(task_path=delivery.tell_disabled.module_path)
    assert told.count() == 1
    delivery.tell_disabled.call(subscription.pk)
    (sent,) = mail.outbox
    assert sent.to == [agent.email] and "désactivé" in sent.body
    assert "Rien n'est perdu\u00a0: les nouveaux" in sent.body


def test_during_a_rotation_both_secrets_sign(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    old = receiver.secret
    new = services.secret_rotate(subscription=subscription, actor=agent)
    assert new.startswith("whsec_") and new != old
    comment(contract, agent, "Pendant la rotation.")
    delivery.deliver_pending(subscription.pk)
    (request,) = receiver.received
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(request["body"], request["headers"])
    # After the grace period, the old one no longer signs.
    later = timezone.now() + services.ROTATION_GRACE + timedelta(seconds=1)
    subscription.refresh_from_db()
    assert subscription.secrets(later) == [new]


# SSRF: at subscription and at delivery.


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://10.0.0.1/hooks", "réseau privé"),
        ("https://127.0.0.1/hooks", "boucle locale"),
        ("https://169.254.169.254/latest/meta-data", "lien local"),
        ("https://localhost/hooks", "boucle locale"),
        ("https://[::1]/hooks", "boucle locale"),
        ("https://224.0.0.1/hooks", "multidiffusion"),
        ("http://93.184.215.14/hooks", "https://"),
        ("ftp://93.184.215.14/hooks", "https://"),
        ("https://user:pass@93.184.215.14/", "mot de passe"),
        ("https://nom-inconnu.invalid/", "introuvable"),
    ],
)
def test_unsafe_urls_are_refused_in_french_and_nothing_is_created(url, expected):
    agent = referent(factories.epci_agent(territory_epci()))
    with pytest.raises(InvalidInput) as refused:
        services.subscription_create(
            actor=agent, organisation=organisation_of(agent), url=url, event_types=ALL_TYPES
        )
    assert expected in refused.value.message
    assert refused.value.field_errors == {"url": [refused.value.message]}
    assert not WebhookSubscription.objects.exists()


def test_a_url_that_turned_unsafe_is_refused_at_delivery(receiver, settings):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Pour rien.")
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    assert delivery.deliver_pending(subscription.pk) == delivery.FAILED
    assert receiver.received == []
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code is None and "https://" in attempt.error


def test_only_a_referent_of_the_organisation_subscribes(receiver):
    agent = factories.epci_agent(territory_epci())
    with pytest.raises(ActionForbidden):
        subscribe(agent, receiver)
    other = referent(factories.ministry_agent())
    with pytest.raises(ActionForbidden):
        services.subscription_create(
            actor=other,
            organisation=organisation_of(agent),
            url=receiver.url,
            event_types=ALL_TYPES,
        )


# The page.


def test_the_pages_are_404_for_a_non_referent_and_for_another_organisations(client, receiver):
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    plain = factories.epci_agent(territory_epci())
    client.force_login(plain)
    assert client.get(reverse("webhook-list")).status_code == 404
    assert client.get(reverse("webhook-detail", args=[subscription.pk])).status_code == 404
    client.force_login(referent(factories.ministry_agent()))
    assert client.get(reverse("webhook-list")).status_code == 200
    for name in ("webhook-detail", "webhook-rotate", "webhook-replay"):
        method = client.get if name == "webhook-detail" else client.post
        assert method(reverse(name, args=[subscription.pk])).status_code == 404


def test_the_page_creates_a_subscription_and_shows_its_secret_once(client, receiver):
    agent = referent(factories.epci_agent(territory_epci()))
    client.force_login(agent)
    data = {
        "organisation": organisation_of(agent).pk,
        "url": receiver.url,
        "description": "SI régional",
        "event_types": [EventType.COMMENT, EventType.TRANSITION],
    }
    answer = client.post(reverse("webhook-list"), data)
    assert answer.status_code == 200
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret in answer.content.decode()
    assert subscription.event_types == [EventType.TRANSITION, EventType.COMMENT]
    page = client.get(reverse("webhook-list")).content.decode()
    assert subscription.url in page and subscription.secret not in page


def test_the_page_refuses_a_private_address_and_keeps_the_input(client):
    agent = referent(factories.epci_agent(territory_epci()))
    client.force_login(agent)
    data = {
        "organisation": organisation_of(agent).pk,
        "url": "https://169.254.169.254/",
        "event_types": [EventType.COMMENT],
    }
    answer = client.post(reverse("webhook-list"), data)
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "lien local" in page and "https://169.254.169.254/" in page
    assert not WebhookSubscription.objects.exists()


def test_the_page_rotates_and_replays_and_shows_the_log(client, receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Un message.")
    delivery.deliver_pending(subscription.pk)
    row = subscription.messages.get()
    client.force_login(agent)
    page = client.get(reverse("webhook-detail", args=[subscription.pk])).content.decode()
    assert row.public_id in page and "HTTP 200" in page and contract.reference in page
    answer = client.post(reverse("webhook-rotate", args=[subscription.pk]))
    subscription.refresh_from_db()
    assert answer.status_code == 200 and subscription.secret in answer.content.decode()
    assert subscription.previous_secret == receiver.secret
    answer = client.post(reverse("webhook-replay", args=[subscription.pk]), {"message_id": "x"})
    assert answer.status_code == 400 and "Aucun message" in answer.content.decode()
    row.refresh_from_db()
    assert row.delivered_at is not None
    answer = client.post(
        reverse("webhook-replay", args=[subscription.pk]), {"message_id": row.public_id}
    )
    assert answer.status_code == 302
    row.refresh_from_db()
    assert row.delivered_at is None


def test_replay_also_starts_from_an_event_id_and_reenables_a_disabled_subscription(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Premier.")
    comment(contract, agent, "Second.")
    delivery.deliver_pending(subscription.pk)
    first, second = subscription.messages.order_by("pk")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    assert delivery.deliver_pending(subscription.pk) == delivery.OFF
    count = services.replay_from(
        subscription=subscription, actor=agent, message_id=str(second.event_id)
    )
    assert count == 1
    subscription.refresh_from_db()
    assert subscription.active
    first.refresh_from_db()
    assert first.delivered_at is not None
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert [r["headers"]["webhook-id"] for r in receiver.received] == [
        first.public_id,
        second.public_id,
        second.public_id,
    ]


def test_due_messages_without_a_task_are_queued_when_the_worker_starts(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Resté dans la boîte d'envoi.")
    queued = DBTaskResult.objects.filter(task_path=delivery.deliver_webhooks.module_path)
    assert not queued.exists()
    assert delivery.enqueue_due() == 1
    assert queued.get().args_kwargs["args"] == [subscription.pk]


def test_a_financing_answer_goes_to_the_operator_asked(receiver):
    from decimal import Decimal

    from cases.contracts import commitments
    from cases.models import FinancingLine

    contract = factories.contract_in_state("signed_off")
    operator = referent(factories.operator_agent("Bpifrance"))
    subscription = subscribe(operator, receiver, [EventType.FINANCING])
    line = FinancingLine.objects.get(action__contract=contract, funder="bpifrance")
    commitments.financing_commit(
        line=line,
        actor=operator,
        amount=Decimal("25000"),
        committed_on=date(2019, 3, 1),
        expected_version=factories.contract_version(contract),
    )
    (body,) = bodies(subscription)
    assert body["type"] == "financing.commitment"
    assert body["data"]["financing"]["funder"] == "bpifrance"
    assert body["data"]["financing"]["committed"] == "25000.00"
    assert body["data"]["financing"]["committed_on"] == "2019-03-01"


def test_with_loopback_allowed_private_and_link_local_addresses_are_still_refused(receiver):
    agent = referent(factories.epci_agent(territory_epci()))
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[fe80::1]/"):
        with pytest.raises(InvalidInput):
            services.subscription_create(
                actor=agent, organisation=organisation_of(agent), url=url, event_types=ALL_TYPES
            )


def fake_resolution(monkeypatch, *addresses: str) -> None:
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_name_is_pinned_to_the_address_checked_with_its_host_and_sni(monkeypatch):
    fake_resolution(monkeypatch, "93.184.215.14")
    target = addresses.resolve("https://si.exemple.fr:8443/hooks?a=1")
    assert target.urls == ("https://93.184.215.14:8443/hooks?a=1",)
    assert target.host_header == "si.exemple.fr:8443"
    assert target.sni_hostname == "si.exemple.fr"


def test_a_name_answering_one_public_and_one_private_address_is_refused(monkeypatch):
    fake_resolution(monkeypatch, "93.184.215.14", "10.1.2.3")
    with pytest.raises(addresses.UnsafeUrl, match="réseau privé"):
        addresses.resolve("https://si.exemple.fr/hooks")


def test_a_name_is_sent_to_its_checked_address_with_its_own_host_header(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription, receiver.secret = services.subscription_create(
        actor=agent,
        organisation=organisation_of(agent),
        url=f"http://localhost:{receiver.port}/hooks",
        event_types=ALL_TYPES,
    )
    comment(contract, agent, "Par le nom.")
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    (request,) = receiver.received
    headers = {name.lower(): value for name, value in request["headers"].items()}
    assert headers["host"] == f"localhost:{receiver.port}"
    assert len(receiver.accepted) == 1


def test_a_subscription_another_worker_is_sending_is_looked_at_again_soon(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Attendra.")
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        sending_until=timezone.now() + timedelta(minutes=1)
    )
    assert delivery.deliver_webhooks.call(subscription.pk) == delivery.BUSY
    assert receiver.received == []
    again = DBTaskResult.objects.get(task_path=delivery.deliver_webhooks.module_path)
    assert again.run_after > timezone.now()
    # A lease whose worker died ends: the next delivery goes.
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        sending_until=timezone.now() - timedelta(seconds=1)
    )
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    subscription.refresh_from_db()
    assert len(receiver.accepted) == 1 and subscription.sending_until is None


def test_a_replay_during_a_send_sends_that_message_again(receiver, monkeypatch):
    """The sender holds no row lock while it waits on the receiver: a replay asked meanwhile
    must not be overwritten by the sender marking the message delivered."""
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Envoyé pendant le rejeu.")
    [message] = subscription.messages.all()
    real_send = delivery.send
    replays = []

    def send_while_replayed(subscription, message):
        outcome = real_send(subscription, message)
        if not replays:
            replays.append(
                services.replay_from(
                    subscription=subscription, actor=agent, message_id=message.public_id
                )
            )
        return outcome

    monkeypatch.setattr(delivery, "send", send_while_replayed)
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    message.refresh_from_db()
    assert replays == [1] and message.delivered_at is not None
    assert [r["headers"]["webhook-id"] for r in receiver.received] == [message.public_id] * 2
    assert message.log.count() == 2


def test_the_certificate_bundle_is_loaded_once_not_per_message(receiver, monkeypatch):
    """bench.api: a new TLS context per message, with the whole bundle, was most of a send."""
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    for number in range(3):
        comment(contract, agent, f"Message {number}.")
    loads = []
    real = ssl.SSLContext.load_verify_locations

    def counted(context, *args, **kwargs):
        loads.append(args or kwargs)
        return real(context, *args, **kwargs)

    delivery.tls_context.cache_clear()
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert len(receiver.accepted) == 3
    assert len(loads) == 1, loads


# Pause, resume, delete; nothing lost while a subscription is not sending.


def disable_after_failures(subscription: WebhookSubscription, receiver: Receiver) -> None:
    """Through the sender itself: the head fails every attempt, then the subscription is off."""
    receiver.status = 503
    now = timezone.now()
    for _ in range(delivery.MAX_ATTEMPTS):
        assert delivery.deliver_pending(subscription.pk, now=now) == delivery.FAILED
        head = subscription.messages.filter(delivered_at__isnull=True).order_by("pk").first()
        now = max(now, head.next_attempt_at)
    subscription.refresh_from_db()
    assert not subscription.active and subscription.disabled_at is not None
    receiver.status = 200


def accepted_comments(receiver: Receiver) -> list[str]:
    return [m["data"]["comment"] for m in receiver.accepted.values()]


def text_of(answer) -> str:
    """The page as read: entities decoded, the typography's no-break spaces as spaces."""
    import html

    return html.unescape(answer.content.decode()).replace("\u00a0", " ").replace("\u202f", " ")


def sent_ids(receiver: Receiver) -> list[str]:
    return [r["headers"]["webhook-id"] for r in receiver.received if r["headers"]]


@pytest.mark.parametrize("back", ["replay", "resume"])
def test_events_while_disabled_after_failures_are_kept_and_arrive_once_in_order(receiver, back):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Avant la panne.")
    disable_after_failures(subscription, receiver)
    tries = len(receiver.received)
    comment(contract, agent, "Pendant la panne.")
    comment(contract, agent, "Toujours en panne.")
    # Written, not sent: the outbox keeps them for later.
    assert subscription.messages.filter(delivered_at__isnull=True).count() == 3
    assert delivery.deliver_pending(subscription.pk) == delivery.OFF
    assert len(receiver.received) == tries
    if back == "replay":
        first = subscription.messages.order_by("pk").first()
        services.replay_from(subscription=subscription, actor=agent, message_id=first.public_id)
    else:
        assert services.subscription_resume(subscription=subscription, actor=agent) == 3
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert accepted_comments(receiver) == [
        "Avant la panne.",
        "Pendant la panne.",
        "Toujours en panne.",
    ]
    ids = list(subscription.messages.order_by("pk").values_list("public_id", flat=True))
    # Each once after the return: the failed ones were refused (503), never accepted.
    assert sent_ids(receiver)[tries:] == ids


def test_a_subscription_set_inactive_still_gets_its_rows_written_and_nothing_sent(
    receiver, django_capture_on_commit_callbacks
):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=False, disabled_at=timezone.now()
    )
    queued = DBTaskResult.objects.filter(task_path=delivery.deliver_webhooks.module_path)
    with django_capture_on_commit_callbacks(execute=True):
        comment(contract, agent, "Gardé pour plus tard.")
    (row,) = subscription.messages.all()
    assert delivery.enqueue_due() == 0 and not queued.exists()
    assert delivery.deliver_pending(subscription.pk) == delivery.OFF
    assert receiver.received == []
    services.subscription_resume(subscription=subscription, actor=agent)
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert list(receiver.accepted) == [row.public_id]


def test_paused_events_queue_nothing_is_sent_and_resume_sends_all_in_order_once(
    receiver, django_capture_on_commit_callbacks
):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Avant la pause.")
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert services.subscription_pause(subscription=subscription, actor=agent)
    assert not services.subscription_pause(subscription=subscription, actor=agent)
    subscription.refresh_from_db()
    assert subscription.paused_at is not None and subscription.active
    assert subscription.state == "suspendu"
    queued = DBTaskResult.objects.filter(task_path=delivery.deliver_webhooks.module_path)
    queued.delete()
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(3):
            comment(contract, agent, f"Pendant la pause {number}.")
    # Queued in the outbox, no delivery task, and a worker run sends nothing.
    assert subscription.messages.filter(delivered_at__isnull=True).count() == 3
    assert not queued.exists() and delivery.enqueue_due() == 0
    assert delivery.deliver_pending(subscription.pk) == delivery.PAUSED
    assert delivery.deliver_webhooks.call(subscription.pk) == delivery.PAUSED
    assert len(receiver.received) == 1
    with django_capture_on_commit_callbacks(execute=True):
        count = services.subscription_resume(subscription=subscription, actor=agent)
    assert count == 3 and queued.get().args_kwargs["args"] == [subscription.pk]
    subscription.refresh_from_db()
    assert subscription.paused_at is None and subscription.state == "actif"
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert accepted_comments(receiver) == ["Avant la pause."] + [
        f"Pendant la pause {number}." for number in range(3)
    ]
    ids = list(subscription.messages.order_by("pk").values_list("public_id", flat=True))
    assert sent_ids(receiver) == ids
    # Resuming what is not paused sends nothing again.
    services.subscription_resume(subscription=subscription, actor=agent)
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert sent_ids(receiver) == ids


def test_a_pause_during_a_send_lets_that_message_go_and_stops_the_next(receiver, monkeypatch):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Part.")
    comment(contract, agent, "Attend.")
    real_send = delivery.send

    def send_then_pause(subscription, message):
        outcome = real_send(subscription, message)
        services.subscription_pause(subscription=subscription, actor=agent)
        return outcome

    monkeypatch.setattr(delivery, "send", send_then_pause)
    assert delivery.deliver_pending(subscription.pk) == delivery.PAUSED
    assert accepted_comments(receiver) == ["Part."]
    first, second = subscription.messages.order_by("pk")
    assert first.delivered_at is not None and second.delivered_at is None


def test_resume_re_enables_a_disabled_and_paused_subscription(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Refusé trois jours.")
    disable_after_failures(subscription, receiver)
    services.subscription_pause(subscription=subscription, actor=agent)
    subscription.refresh_from_db()
    assert subscription.state == "suspendu"
    services.subscription_resume(subscription=subscription, actor=agent)
    subscription.refresh_from_db()
    assert subscription.active and subscription.paused_at is None
    assert subscription.disabled_at is None
    assert delivery.deliver_pending(subscription.pk) == delivery.IDLE
    assert accepted_comments(receiver) == ["Refusé trois jours."]


def test_delete_removes_the_subscription_its_messages_and_attempts(receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    kept = subscribe(agent, receiver)
    comment(contract, agent, "Livré puis supprimé.")
    delivery.deliver_pending(subscription.pk)
    comment(contract, agent, "En attente puis supprimé.")
    assert WebhookAttempt.objects.filter(message__subscription=subscription).exists()
    services.subscription_delete(subscription=subscription, actor=agent)
    assert not WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    assert not WebhookMessage.objects.filter(subscription_id=subscription.pk).exists()
    assert not WebhookAttempt.objects.filter(message__subscription_id=subscription.pk).exists()
    assert kept.messages.count() == 2
    assert delivery.deliver_pending(subscription.pk) == delivery.OFF


def test_a_delete_during_a_send_logs_nothing_and_stops(receiver, monkeypatch):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Envoyé pendant la suppression.")
    real_send = delivery.send

    def send_then_delete(subscription, message):
        outcome = real_send(subscription, message)
        services.subscription_delete(subscription=subscription, actor=agent)
        return outcome

    monkeypatch.setattr(delivery, "send", send_then_delete)
    assert delivery.deliver_pending(subscription.pk) == delivery.OFF
    assert not WebhookMessage.objects.exists() and not WebhookAttempt.objects.exists()


def test_only_a_referent_pauses_resumes_or_deletes(receiver):
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    plain = factories.epci_agent(territory_epci())
    other = referent(factories.ministry_agent())
    for actor in (plain, other):
        for act in (
            services.subscription_pause,
            services.subscription_resume,
            services.subscription_delete,
        ):
            with pytest.raises(ActionForbidden):
                act(subscription=subscription, actor=actor)
    subscription.refresh_from_db()
    assert subscription.sending


def test_the_page_pauses_shows_the_alert_resumes_and_lists_the_state(client, receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    client.force_login(agent)
    detail = reverse("webhook-detail", args=[subscription.pk])
    page = client.get(detail).content.decode()
    assert "Suspendre les envois" in page and 'id="paused"' not in page
    assert 'aria-controls="confirm-delete"' in page and 'id="confirm-delete"' in page
    answer = client.post(reverse("webhook-pause", args=[subscription.pk]))
    assert answer.status_code == 302 and answer["location"] == detail
    comment(contract, agent, "En file.")
    page = text_of(client.get(detail))
    assert 'id="paused"' in page and "fr-alert--info" in page
    assert "Envois suspendus" in page and "aucun message n'est envoyé" in page
    assert "dans l'ordre" in page and "1 message en attente" in page
    assert "Reprendre les envois" in page and "Suspendre les envois" not in page
    listing = client.get(reverse("webhook-list")).content.decode()
    assert 'fr-badge--info">Suspendu<' in listing
    answer = client.post(reverse("webhook-resume", args=[subscription.pk]), follow=True)
    assert "Les envois reprennent : 1 message(s)" in text_of(answer)
    subscription.refresh_from_db()
    assert subscription.paused_at is None
    listing = client.get(reverse("webhook-list")).content.decode()
    assert 'fr-badge--success">Actif<' in listing
    WebhookSubscription.objects.filter(pk=subscription.pk).update(active=False)
    listing = client.get(reverse("webhook-list")).content.decode()
    assert 'fr-badge--error">Désactivé<' in listing


def test_the_page_deletes_after_confirmation_and_the_page_is_then_404(client, receiver):
    contract = factories.contract_in_state("draft")
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    comment(contract, agent, "Supprimé avec l'abonnement.")
    client.force_login(agent)
    url = reverse("webhook-delete", args=[subscription.pk])
    # Without the modal (no JavaScript): the same question on a page, nothing deleted.
    answer = client.post(url)
    assert answer.status_code == 200 and "Supprimer l'abonnement vers" in text_of(answer)
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()
    answer = client.post(url, {"confirm": "1"}, follow=True)
    assert answer.redirect_chain == [(reverse("webhook-list"), 302)]
    assert "est supprimé" in text_of(answer)
    assert not WebhookSubscription.objects.exists() and not WebhookMessage.objects.exists()
    assert client.get(reverse("webhook-detail", args=[subscription.pk])).status_code == 404


def test_pause_resume_delete_are_404_for_others_and_405_on_get(client, receiver):
    agent = referent(factories.epci_agent(territory_epci()))
    subscription = subscribe(agent, receiver)
    names = ("webhook-pause", "webhook-resume", "webhook-delete")
    for user in (factories.epci_agent(territory_epci()), referent(factories.ministry_agent())):
        client.force_login(user)
        for name in names:
            url = reverse(name, args=[subscription.pk])
            assert client.post(url, {"confirm": "1"}).status_code == 404
    subscription.refresh_from_db()
    assert subscription.sending
    WebhookSubscription.objects.filter(pk=subscription.pk).update(paused_at=timezone.now())
    client.force_login(factories.epci_agent(territory_epci()))
    assert client.post(reverse("webhook-resume", args=[subscription.pk])).status_code == 404
    subscription.refresh_from_db()
    assert subscription.paused_at is not None
    client.force_login(agent)
    for name in names:
        assert client.get(reverse(name, args=[subscription.pk])).status_code == 405
    assert WebhookSubscription.objects.filter(pk=subscription.pk, paused_at__isnull=False).exists()


def test_signatures_and_new_versions_go_to_the_contracts_parties(receiver):
    """A signature of version 1, then an avenant's signatures and the version 2 it makes:
    each named with its contract, for a subscription of the contract's Region."""
    from tests.cases.contracts.test_amendment_rules import amendment_in_state

    reviewer = referent(factories.region_reviewer("84"))
    subscription = subscribe(reviewer, receiver, [EventType.SIGNATURE, EventType.VERSION])
    contract = factories.contract_in_state("contractualised")
    factories.sign_all(contract.signatures.filter(party="state"))
    (first,) = bodies(subscription)
    assert first["type"] == "contract.signature"
    assert first["data"]["signature"] == {
        "contract": contract.reference,
        "amendment": None,
        "version": 1,
        "party": "state",
        "party_ref": "state",
        "label": "État (préfecture de région)",
        "signed_on": "2019-03-05",
    }
    amendment = amendment_in_state("signed")
    told = bodies(subscription)[1:]
    kinds = [(body["type"], body["data"].get("signature", {}).get("amendment")) for body in told]
    signatures = [b for b in told if b["type"] == "contract.signature"]
    # The avenant's contract had its version 1 signed by all first (5 signatories), then
    # the avenant's two, then its version 2.
    assert [s["data"]["signature"]["amendment"] for s in signatures][-2:] == [
        amendment.reference
    ] * 2
    # Recorded on the avenant, each names its contract.
    assert {s["data"]["signature"]["contract"] for s in signatures[-2:]} == {
        amendment.parent.reference
    }
    assert signatures[-1]["data"]["case"]["reference"] == amendment.reference
    assert kinds[-1] == ("contract.version", None)
    version = told[-1]["data"]["version"]
    assert version["contract"] == amendment.parent.reference
    assert (version["number"], version["amendment"]) == (2, amendment.reference)
    assert version["content_hash"] == amendment.parent.versions.get(number=2).content_hash


def test_signatures_stay_within_the_contracts_scope(receiver):
    other = referent(factories.region_reviewer("28"))
    subscription = subscribe(other, receiver, [EventType.SIGNATURE, EventType.VERSION])
    contract = factories.contract_in_state("contractualised")
    factories.sign_all(contract.signatures.all())
    assert bodies(subscription) == []
