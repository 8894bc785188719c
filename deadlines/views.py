from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases.kernel.selectors import cases_for_user
from deadlines.models import Acknowledgement


@login_required
@require_GET
def acknowledgement_pdf(request, pk: int):
    """The acknowledgement as it was written at submission, for whoever may see the case."""
    acknowledgement = (
        Acknowledgement.objects.select_related("case")
        .filter(pk=pk, case__in=cases_for_user(request.user))
        .first()
    )
    if acknowledgement is None:
        raise Http404
    day = timezone.localdate(acknowledgement.received_at)
    response = HttpResponse(bytes(acknowledgement.content), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="accuse-de-reception-{acknowledgement.case.reference}-{day}.pdf"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
