"""The customer's opt-out page, reached from the link in the notice; no account needed.

Opening the link changes nothing (mail scanners open links): only the confirm button,
a POST, opts out.
"""

from django.shortcuts import render
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from . import associations, notices, pipeline


@require_http_methods(["GET", "POST"])
def opt_out(request, token):
    claim = notices.claim_for_opt_out_token(token)
    if claim is None:
        return render(request, "claims/optout/not_applicable.html", {"reason": None}, status=404)
    language = request.GET.get("lang") or (claim.tenant.language if claim.tenant else None)
    with translation.override(language if language in ("en", "fr") else "en"):
        refusal = pipeline.opt_out_refusal(claim)
        if refusal:
            return render(request, "claims/optout/not_applicable.html", {"reason": refusal, "claim": claim}, status=410)
        if request.method == "POST":
            try:
                pipeline.claim_opt_out(token=token)
            except pipeline.OptOutNotApplicable as error:
                return render(
                    request, "claims/optout/not_applicable.html", {"reason": error.message, "claim": claim}, status=410
                )
            return render(request, "claims/optout/done.html", {"claim": claim})
        with timezone.override(claim.tenant.time_zone):
            context = {
                **notices.customer_notice_context(claim),
                "associations": associations.tenant_associations_current(claim.tenant),
            }
            return render(request, "claims/optout/confirm.html", context)
