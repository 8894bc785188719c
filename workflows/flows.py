"""Which task waits on whom, per case kind.

The flows never change a case: ``cases.services`` does, then announces it, and
``workflows.engine`` closes the open human task and lets the router open the next one from
the case's new state. So the case's FSM stays the one source of truth and the flow cannot
drift from it.
"""

import functools

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.exceptions import FlowRuntimeError

from workflows.models import CaseProcess


class Actor:
    """Who a human task waits on; ``workflows.selectors`` turns it into a scope."""

    EPCI = "epci"
    REGION = "region"
    MINISTRY = "ministry"
    # The members of the organisation named in the task's data (an opinion asked of it).
    CONSULTED = "consulted"


class CaseTask(flow.View):
    """A human task that is done by a case service, never by a viewflow form."""

    def __init__(self, *, title: str, actor: str, hint: str = ""):
        super().__init__(view=None)
        self.actor = actor
        self.hint = hint
        self.Annotation(title=title)


class StateSwitch(flow.Switch):
    """A gateway that leaves no task row behind: it hands over straight to the node that
    matches the case's state. A plain Switch writes and completes a row of its own on every
    step, which would double the statements of each transition for no information: the
    audit log already records why the case moved."""

    def _create(self, prev_activation, token, data=None, seed=None):
        for node, condition in self._branches:
            if condition is None or condition(prev_activation):
                return node._create(prev_activation, token)
        raise FlowRuntimeError(f"Aucune étape ne correspond à l'état du dossier ({self.name}).")


def in_state(state: str):
    return lambda activation: activation.process.case.state == state


class ContractFlow(flow.Flow):
    process_class = CaseProcess
    # Waits instead of failing: the service already holds the case's lock, so a second
    # actor queues there first and never reaches this one while the first is running.
    lock_impl = lock.SelectForUpdateLock(nowait=False)
    process_title = "Contrat de territoire"
    has_side_tasks = False

    start = flow.StartHandle(this.start_process).Next(this.route)
    route = (
        StateSwitch()
        .Case(this.drafting, in_state("draft"))
        .Case(this.regional_review, in_state("regional_review"))
        .Case(this.ministerial_review, in_state("ministerial_review"))
        .Case(this.awaiting_contractualisation, in_state("signed_off"))
        .Default(this.end)
    )
    drafting = CaseTask(title="Rédaction du contrat", actor=Actor.EPCI).Next(this.route)
    regional_review = CaseTask(title="Instruction régionale", actor=Actor.REGION).Next(this.route)
    ministerial_review = CaseTask(title="Validation ministérielle", actor=Actor.MINISTRY).Next(
        this.route
    )
    awaiting_contractualisation = CaseTask(
        title="En attente de contractualisation",
        actor=Actor.MINISTRY,
        hint=(
            "Ce contrat sera contractualisé avec la vague de signature où le ministère l'inscrira."
        ),
    ).Next(this.route)
    end = flow.End()

    def start_process(self, activation, case):
        activation.process.case = case
        return activation.process


class DerogationFlow(flow.Flow):
    process_class = CaseProcess
    lock_impl = lock.SelectForUpdateLock(nowait=False)
    process_title = "Demande de dérogation"
    # Opinion tasks run beside the stages and must be closed with the case.
    has_side_tasks = True

    start = flow.StartHandle(this.start_process).Next(this.route)
    route = (
        StateSwitch()
        .Case(this.drafting, in_state("draft"))
        .Case(this.regional_review, in_state("regional_review"))
        .Case(this.ministerial_review, in_state("ministerial_review"))
        .Default(this.end)
    )
    drafting = CaseTask(title="Rédaction de la demande", actor=Actor.EPCI).Next(this.route)
    regional_review = CaseTask(title="Avis et instruction régionale", actor=Actor.REGION).Next(
        this.route
    )
    ministerial_review = CaseTask(title="Décision ministérielle", actor=Actor.MINISTRY).Next(
        this.route
    )
    # Opened beside the ministerial review for each opinion asked; it leads nowhere: the
    # answer informs the decision, it does not move the case.
    opinion = CaseTask(title="Avis demandé", actor=Actor.CONSULTED)
    end = flow.End()

    def start_process(self, activation, case):
        activation.process.case = case
        return activation.process


class AmendmentFlow(flow.Flow):
    """An avenant's review, like its contract's; once signed off it waits on its signatories,
    whom the contract's page lists, not on one institution's queue."""

    process_class = CaseProcess
    lock_impl = lock.SelectForUpdateLock(nowait=False)
    process_title = "Avenant"
    has_side_tasks = False

    start = flow.StartHandle(this.start_process).Next(this.route)
    route = (
        StateSwitch()
        .Case(this.drafting, in_state("draft"))
        .Case(this.regional_review, in_state("regional_review"))
        .Case(this.ministerial_review, in_state("ministerial_review"))
        .Default(this.end)
    )
    drafting = CaseTask(title="Rédaction de l'avenant", actor=Actor.EPCI).Next(this.route)
    regional_review = CaseTask(title="Instruction régionale de l'avenant", actor=Actor.REGION).Next(
        this.route
    )
    ministerial_review = CaseTask(
        title="Validation ministérielle de l'avenant", actor=Actor.MINISTRY
    ).Next(this.route)
    end = flow.End()

    def start_process(self, activation, case):
        activation.process.case = case
        return activation.process


# Annotated: viewflow has no types, and the dict's inferred value type lost the flows' own.
FLOWS_BY_KIND: dict[str, type[ContractFlow] | type[DerogationFlow] | type[AmendmentFlow]] = {
    "contract": ContractFlow,
    "derogation": DerogationFlow,
    "amendment": AmendmentFlow,
}


@functools.cache
def stage_nodes() -> list[CaseTask]:
    """The tasks that follow the case's state; the others (opinions) run beside them."""
    return [
        node
        for flow_class in FLOWS_BY_KIND.values()
        for node in flow_class.instance.nodes()
        if isinstance(node, CaseTask) and node.actor != Actor.CONSULTED
    ]
