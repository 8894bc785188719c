"""The task inbox and queue, and the task page, whose decision form calls cases.services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from viewflow.workflow.status import STATUS

from cases.contracts import amendments
from cases.contracts import selectors as contract_selectors
from cases.kernel import forms as case_forms
from cases.kernel import services as case_services
from cases.kernel.pagination import InvalidCursor, Keyset, count_label, page_query, paginate
from cases.kernel.views import (
    ConfirmationNeeded,
    confirm_transition,
    decide,
    decided,
    refuse,
    transition_choices,
    transition_form_for,
    wants_json,
)
from cases.models import due_window
from workflows import selectors, services
from workflows.engine import held_by_another


def case_of(task):
    return task.process.caseprocess.case


def concrete_case(case):
    """The contract or the request behind a case row, whose fields the task page shows."""
    for name in ("territorycontract", "derogationrequest", "contractamendment"):
        if hasattr(case, name):
            return getattr(case, name)
    return case


def task_or_404(request, pk: int):
    return get_object_or_404(selectors.tasks_for_user(request.user), pk=pk)


TASK_ORDER = Keyset((("created", "datetime"), ("pk", "int")), descending=False)
DUE_ORDER = Keyset((("due", "date"), ("pk", "int")), descending=False, nulls_last=True)
SECTIONS = ("mine", "queue", "others")


class InboxFilterForm(case_forms.DueFilterForm):
    sort = case_forms.sort_choice("Ancienneté")


def inbox_filters(request) -> tuple[InboxFilterForm, dict, list[str]]:
    """The inbox's filter form, its cleaned values (none when refused) and its problems."""
    form = InboxFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return form, {}, ["Les filtres contiennent des erreurs : la liste n'est pas filtrée."]
    return form, (form.cleaned_data if form.is_bound else {}), []


@login_required
def task_list(request):
    """Each section of the inbox (taken by me, waiting, taken by a colleague) is paged on
    its own, oldest first; ``section`` says which one the cursor pages."""
    form, data, problems = inbox_filters(request)
    tasks = selectors.with_due_date(
        selectors.open_tasks_for_user(request.user).select_related(
            "process__caseprocess__case__territorycontract",
            "process__caseprocess__case__derogationrequest",
        )
    )
    if data.get("due"):
        tasks = tasks.filter(due_window(data["due"], timezone.localdate(), field="due"))
    order = DUE_ORDER if data.get("sort") == "due" else TASK_ORDER
    me = request.user.pk
    scoped = {
        "mine": tasks.filter(owner_id=me),
        "queue": tasks.filter(owner__isnull=True),
        "others": tasks.filter(owner__isnull=False).exclude(owner_id=me),
    }
    paged = request.GET.get("section")
    pages = {}
    for name, rows in scoped.items():
        cursor = request.GET.get("cursor") if name == paged and not problems else None
        try:
            pages[name] = paginate(rows, order, cursor)
        except InvalidCursor as error:
            problems.append(error.message)
            pages[name] = paginate(rows, order, None)
    query = page_query(request, drop=("cursor", "section"))
    return render(
        request,
        "workflows/task_list.html",
        {
            "title": "Mes tâches",
            "form": form,
            "today": timezone.localdate(),
            **pages,
            "captions": {
                name: count_label(pages[name].count, "tâche", feminine=True) for name in SECTIONS
            },
            "query": query,
            "problems": problems,
        },
        status=400 if problems else 200,
    )


@login_required
def task_detail(request, pk: int):
    task = task_or_404(request, pk)
    case = case_of(task)
    concrete = concrete_case(case)
    is_open = task.status in (STATUS.NEW, STATUS.ASSIGNED)
    status, refused_form = 200, None
    if request.method == "POST" and not is_open:
        # Done by someone else while this page was open: the page again, the comment kept.
        done = case_services.ActionNotPossible(
            "Cette tâche est déjà traitée : rien n'a été modifié."
        )
        if wants_json(request):
            return refuse(request, done, reverse("task-detail", args=[pk]))
        status, refused_form = done.status, transition_form_for(request, done)
    elif request.method == "POST":
        try:
            updated = decide(request, concrete)
        except ConfirmationNeeded as ask:
            return confirm_transition(request, concrete, ask, reverse("task-detail", args=[pk]))
        except case_services.CaseActionError as error:
            if wants_json(request):
                return refuse(request, error, reverse("task-detail", args=[pk]))
            # The page again, with the comment typed and the error on its field.
            status, refused_form = error.status, transition_form_for(request, error)
            concrete = type(concrete)._default_manager.get(pk=concrete.pk)
        else:
            return decided(request, updated, reverse("task-list"))
    return render(
        request,
        "workflows/task_detail.html",
        {
            "title": f"{task.flow_task.task_title} — {case.reference}",
            "task": task,
            "case": concrete,
            "case_url": case.get_absolute_url(),
            "is_open": is_open,
            "transitions": transition_choices(concrete, request.user) if is_open else [],
            "opinion_id": (task.data or {}).get("opinion"),
            **case_content(concrete),
            "transition_form": refused_form,
            "can_take_over": held_by_another(task, case, request.user),
        },
        status=status,
    )


def case_content(case) -> dict:
    """What the case page shows of the case itself, so that the task is decided on its content."""
    if case.kind == "contract":
        actions = contract_selectors.actions_of(case)
        return {
            "contract": case,
            "actions": actions,
            "totals": contract_selectors.contract_totals(actions),
        }
    if case.kind == "amendment":
        return {"amendment": case, "diff": amendments.diff_of(case)}
    return {"derogation": case}


def _take_or_release(request, pk: int, service, done: str, then: str):
    task = task_or_404(request, pk)
    try:
        service(task=task, actor=request.user)
    except case_services.CaseActionError as error:
        return refuse(request, error, reverse("task-detail", args=[pk]))
    messages.success(request, done)
    return redirect(then)


@login_required
@require_POST
def task_assign(request, pk: int):
    return _take_or_release(
        request,
        pk,
        services.task_assign,
        "Vous avez pris cette tâche en charge.",
        reverse("task-detail", args=[pk]),
    )


@login_required
@require_POST
def task_release(request, pk: int):
    return _take_or_release(
        request,
        pk,
        services.task_release,
        "La tâche est de nouveau dans la file d'attente.",
        reverse("task-list"),
    )


@login_required
@require_POST
def task_take_over(request, pk: int):
    return _take_or_release(
        request,
        pk,
        services.task_take_over,
        "Vous avez repris cette tâche : vous pouvez décider.",
        reverse("task-detail", args=[pk]),
    )
