"""Incentives pages a partner reads: Overview, Customer associations, a claim, its files.

Thin views: check access (cpor.access), read through selectors, call one service for a
write, turn a domain error into a message, redirect.
"""

from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpor import access
from cpor.access import partner_required
from cpor.csvfiles import csv_line_writer, safe_cell
from tenants.models import SolutionArea

from . import presentation, selectors, services
from .forms import ClaimFilterForm, CommentForm, DisassociateForm, DisputeForm, ProofUploadForm, mpn_label
from .lifecycle import ClaimError
from .models import REVIEW_STATUSES, Activity, ClaimStatus, ItemOutcome
from .rendering import (
    ACTIVITIES,
    SOLUTION_AREAS,
    choice_label,
    claim_fields,
    comment_cards,
    history_table,
    items_table,
    list_cells,
    list_row,
)

RESOURCES = Path(__file__).resolve().parent / "resources"


def incentives_breadcrumbs(*extra):
    return [
        (_("Incentives"), None),
        (_("Overview"), reverse("claims:overview")),
        *extra,
    ]


@partner_required()
def overview(request):
    """Incentives > Overview: the partner's MPN IDs with their programmes, and its claims
    counted by status, each count a link to the filtered list."""
    counts = selectors.claim_status_counts(request.user)
    list_url = reverse("claims:list")
    statuses = [
        {"label": label, "count": counts[value], "url": f"{list_url}?{urlencode({'status': value})}"}
        for value, label in ClaimStatus.choices
    ]
    return render(
        request,
        "claims/overview.html",
        {
            "nav": "incentives",
            "breadcrumbs": [(_("Incentives"), None), (_("Overview"), None)],
            "mpn_ids": [(mpn, mpn_label(mpn)) for mpn in selectors.mpn_ids_of(request.user)],
            "statuses": statuses,
            "total": sum(counts.values()),
        },
    )


# Lazy: the module is imported once, in whatever language the first request had.
LIST_COLUMNS = [
    ("id", gettext_lazy("Claim ID")),
    ("name", gettext_lazy("Name")),
    ("customer", gettext_lazy("Customer")),
    ("solution_area", gettext_lazy("Solution area")),
    ("activity", gettext_lazy("Activity")),
    (None, gettext_lazy("Items")),
    ("status", gettext_lazy("Status")),
    ("created", gettext_lazy("Created")),
    ("submitted", gettext_lazy("Submitted")),
]


def _query(params, **changes) -> str:
    merged = {key: value for key, value in params.items() if value and key not in ("page", "filter")}
    merged.update({key: value for key, value in changes.items() if value})
    return urlencode(merged)


@partner_required()
def claim_list(request):
    """Customer associations: search, filters, column sort and pages that cost the same
    few queries however many claims the partner has.

    The rows are written by claims.rendering, with what they share worked out once a page:
    labels translated once, links built from one reversed URL (bench/RESULTS.md, throughput)."""
    form = ClaimFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    page = selectors.claim_list_page(request.user, filters, request.GET.get("page"))
    cells = list_cells()
    items = selectors.claim_item_labels([claim.pk for claim in page.object_list])
    rows = [
        (claim, list_row(claim, items.get(claim.pk, []), cells), presentation.STATUS_BADGES[claim.status])
        for claim in page.object_list
    ]
    params = request.GET.dict()
    current = filters.sort
    columns = []
    for key, lazy_label in LIST_COLUMNS:
        label = str(lazy_label)
        if key is None:
            columns.append({"label": label})
            continue
        direction = "asc" if current == key else "desc" if current == f"-{key}" else ""
        toggled = f"-{key}" if current == key else key
        columns.append({"label": label, "url": "?" + _query(params, sort=toggled), "direction": direction})
    return render(
        request,
        "claims/list.html",
        {
            "nav": "incentives",
            "breadcrumbs": incentives_breadcrumbs((_("Customer associations"), None)),
            "form": form,
            "filter_fields": [form[name] for name in ("q", "status", "solution_area", "activity", "mpn")],
            "mpn_choices": [value for value, _label in form.fields["mpn"].choices],
            "page": page,
            "rows": rows,
            # The rows' HTML in one piece: a template loop costs some 10 µs a row.
            "list_rows": mark_safe("".join(row for _claim, row, _badge in rows)),  # noqa: S308 (rows are escaped)
            "columns": columns,
            "page_query": _query(params),
            "export_query": _query(params),
            "can_file": access.can_file_claims(request.user),
        },
    )


def _moment(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


@partner_required()
def claim_export(request):
    """The filtered list as CSV, streamed: the same selector as the page, so the same scope."""
    form = ClaimFilterForm(request.GET or None, user=request.user)
    claims = selectors.claim_list_visible_to(request.user, form.filters())
    header, labels = _export_texts()
    response = StreamingHttpResponse(_export_rows(claims, header, labels), content_type="text/csv; charset=utf-8")
    filename = f"customer-associations-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_texts() -> tuple[list[str], dict[str, dict[str, str]]]:
    """The header and the choice labels, translated once, in the view, while the request's
    language is active (the rows are written later, as the response streams). A label map is
    also much cheaper than get_FOO_display() on every row."""
    labels = {
        field: {value: str(label) for value, label in choices}
        for field, choices in (
            ("status", ClaimStatus.choices),
            ("activity", Activity.choices),
            ("solution_area", SolutionArea.choices),
            ("outcome", ItemOutcome.choices),
        )
    }
    header = [
        str(label)
        for label in (
            _("Claim ID"),
            _("Name"),
            _("MPN ID"),
            _("Customer"),
            _("Domain name"),
            _("Directory ID / Tenant ID"),
            _("Solution area"),
            _("Activity"),
            _("Items"),
            _("Status"),
        )
    ]
    # The times, as a spreadsheet reads them, in the reader's zone: the column names it.
    zone = timezone.get_current_timezone_name()
    header += [f"{label} ({zone})" for label in (_("Created"), _("Submitted"), _("Opt-out deadline"))]
    return header, labels


def _export_rows(claims, header, labels):
    """CSV lines, a chunk of claims at a time."""
    writer = csv_line_writer()
    yield "\ufeff"  # lets spreadsheet programs read the file as UTF-8
    yield writer.writerow(header)
    for claim, items in selectors.claim_export_rows(claims):
        summary = "; ".join(
            "{} [{}]".format(
                label, ", ".join(f"{program or '—'}: {labels['outcome'][outcome]}" for program, outcome in lines)
            )
            for label, lines in items.items()
        )
        row = (
            claim["pk"],
            claim["name"],
            claim["mpn__mpn_id"],
            claim["tenant__name"] or "",
            claim["domain"],
            claim["tenant_guid"],
            labels["solution_area"][claim["solution_area"]],
            labels["activity"][claim["activity"]],
            summary,
            labels["status"][claim["status"]],
            _moment(claim["created_at"]),
            _moment(claim["submitted_at"]),
            _moment(claim["opt_out_deadline"]),
        )
        yield writer.writerow([safe_cell(value) for value in row])


@partner_required()
def claim_detail(request, pk):
    """A claim: every field, items with their outcome, Status with what it means and what
    happens next, PoE, the comments thread and History."""
    claim = selectors.claim_get_for_user(request.user, pk)
    can_file = access.can_file_claims(request.user)
    history = list(selectors.claim_events_visible_to(request.user, claim))
    events = presentation.history_entries(history)
    comments = presentation.comment_entries(selectors.comments_visible_to(request.user, claim))
    groups = selectors.claim_items_grouped(claim)
    is_draft = claim.status == ClaimStatus.DRAFT
    # Why there is no Dispute button, on a rejected (or disputed) claim only. The items lost in
    # arbitration are found in the History and the items read above, not read again.
    lost = services.items_lost_in_arbitration_among(claim, history) if claim.status == ClaimStatus.APPROVED else []
    disputable = claim.status == ClaimStatus.DISPUTED or services.has_disputable_rejection(claim, lost=lost)
    dispute_refusal = services.dispute_refusal(claim, lost=lost) if disputable else None
    dispute_until = services.dispute_deadline(claim, lost=lost) if disputable and dispute_refusal is None else None
    return render(
        request,
        "claims/detail.html",
        {
            "nav": "incentives",
            "breadcrumbs": incentives_breadcrumbs(
                (_("Customer associations"), reverse("claims:list")), (f"#{claim.pk} {claim.name}", None)
            ),
            "claim": claim,
            "solution_area_label": choice_label(SOLUTION_AREAS, claim.solution_area),
            "activity_label": choice_label(ACTIVITIES, claim.activity),
            "status": presentation.status_text(claim),
            "validation_messages": presentation.validation_messages(claim),
            "claim_fields": claim_fields(claim),
            "items_table": items_table(claim, groups, meanings=True),
            "proofs": selectors.claim_proofs(claim),
            "comments": comments,
            "comment_cards": comment_cards(comments),
            "events": events,
            "history_table": history_table(events),
            "can_file": can_file,
            "is_draft": is_draft,
            "competing": selectors.claim_competing_labels(claim) if is_draft else [],
            "resume_url": _resume_url(claim) if is_draft else None,
            "comment_form": CommentForm() if can_file and not is_draft else None,
            "poe_form": ProofUploadForm()
            if can_file and claim.status in services.PROOF_STATUSES and not is_draft
            else None,
            "dispute_refusal": dispute_refusal,
            "dispute_until": presentation.format_moment(dispute_until) if dispute_until else "",
            "dispute_form": DisputeForm() if can_file and disputable and dispute_refusal is None else None,
            "disassociate_form": DisassociateForm() if can_file and claim.status == ClaimStatus.APPROVED else None,
            "review_overdue": bool(
                claim.review_due_at and claim.review_due_at < timezone.now() and claim.status in REVIEW_STATUSES
            ),
        },
    )


def _resume_url(claim) -> str:
    from .wizard import next_step_url

    return next_step_url(claim)


@require_POST
@partner_required(access.FILE_CLAIMS)
def claim_comment(request, pk):
    """A comment on a submitted claim; when a reviewer asked for information it answers."""
    claim = selectors.claim_get_for_user(request.user, pk)
    form = CommentForm(request.POST)
    if not comment_save(request, claim, form):
        messages.error(request, " ".join([*form.errors.get("body", []), *form.non_field_errors()]))
    return redirect(reverse("claims:detail", args=[claim.pk]) + "#comments")


def comment_save(request, claim, form: CommentForm) -> bool:
    """The posted comment on the claim (claim page and wizard): True when it is saved and the
    user told so; otherwise the reason is on the form."""
    if not form.is_valid():
        return False
    try:
        services.claim_add_comment(user=request.user, claim_id=claim.pk, body=form.cleaned_data["body"])
    except ClaimError as error:
        form.add_error(None, error.message)
        return False
    messages.success(request, _("Your comment has been saved."))
    return True


def _claim_page_action(form_class, service, success, *, anchor: str = "status"):
    """A button on the claim's page for the Incentives admin: validate the posted form (each
    error its own message), call the one service its fields are the arguments of, turn a
    domain error into a message, and go back to the claim's page at `anchor`."""

    @require_POST
    @partner_required(access.FILE_CLAIMS)
    def view(request, pk):
        claim = selectors.claim_get_for_user(request.user, pk)
        form = form_class(request.POST, request.FILES)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
        else:
            try:
                service(user=request.user, claim_id=claim.pk, **form.cleaned_data)
            except ClaimError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, success)
        return redirect(reverse("claims:detail", args=[claim.pk]) + f"#{anchor}")

    return view


# More proof of execution, when a reviewer asked for it (Partner action required).
claim_add_proof = _claim_page_action(
    ProofUploadForm, services.claim_add_proofs, gettext_lazy("Proof of execution added."), anchor="proof"
)
# Dispute a rejection, once, within 30 days, with a justification and optional new PoE.
claim_dispute = _claim_page_action(
    DisputeForm,
    services.claim_dispute,
    gettext_lazy("Your dispute was sent. The reviewers answer within five business days."),
)
# End an approved association with the customer, with a reason.
claim_disassociate = _claim_page_action(
    DisassociateForm,
    services.claim_disassociate,
    gettext_lazy("The customer was disassociated. Its contacts are told by email."),
)


@partner_required()
def proof_download(request, pk):
    """A PoE file, only to users of the claim's partner, always as an attachment under the
    name it was uploaded with and the type its content was found to be."""
    proof = selectors.poe_get_for_user(request.user, pk)
    try:
        handle = proof.file.open("rb")
    except FileNotFoundError as missing:
        raise Http404 from missing
    response = FileResponse(handle, as_attachment=True, filename=proof.original_name, content_type=proof.content_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@partner_required()
def proof_template(request):
    """**Download template**: a statement-of-work template to have signed by the customer."""
    language = "fr" if (get_language() or "en").startswith("fr") else "en"
    path = RESOURCES / f"poe-template.{language}.docx"
    filename = _("proof-of-execution-template.docx")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
