"""Incentives pages a partner reads: Overview, Customer associations, a claim, its files.

Thin views: check access (cpor.access), read through selectors, call one service for a
write, turn a domain error into a message, redirect.
"""

import html
from pathlib import Path
from urllib.parse import urlencode

from django.contrib import messages
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import get_language, gettext_lazy, ngettext, pgettext_lazy
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

    Each row's texts are worked out here, once per page: choice labels translated once,
    not per row, and links built from one reversed URL (bench/RESULTS.md, throughput)."""
    form = ClaimFilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    page = selectors.claim_list_page(request.user, filters, request.GET.get("page"))
    cells = _list_cells()
    items = selectors.claim_item_labels([claim.pk for claim in page.object_list])
    rows = [
        (claim, _list_row(claim, items.get(claim.pk, []), cells), presentation.STATUS_BADGES[claim.status])
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


def _list_cells() -> dict:
    """What every row of the list shares, worked out once: the labels in the request's
    language (escaped), the dates (each day formatted once) and the claim page's URL up to
    the claim ID."""
    return {
        "status": _escaped_labels(presentation.STATUS_LABELS),
        "activity": _escaped_labels(ACTIVITIES),
        "solution_area": _escaped_labels(SOLUTION_AREAS),
        "date": presentation.ShortDates(),
        "detail_url": _escape(presentation.claim_url_prefix()),
        "mpn_label": _escape(_("MPN ID")),
    }


# One row of the list. Written here rather than in the template: the template language costs
# about 20 µs a variable, and fifty rows of fifteen variables were half the page's time.
# Every value is escaped before it goes in.
_ROW = (
    '<tr><td><a href="{url}">#{pk}</a></td>'
    '<td class="text-wrap"><a href="{url}">{name}</a>'
    '<div class="small text-body-secondary">{mpn_label} {mpn}</div></td>'
    '<td class="text-wrap">{customer}<div class="small text-body-secondary">{domain}</div></td>'
    "<td>{solution_area}</td><td>{activity}</td>"
    '<td class="text-wrap small">{items}</td>'
    '<td><span class="badge status-badge text-bg-{badge}">{status}</span></td>'
    "<td>{created}</td><td>{submitted}</td></tr>"
)


def _escaped_labels(labels: dict) -> dict:
    """A table of choice labels, translated once a process (presentation.in_language), escaped."""
    return {value: _escape(label) for value, label in presentation.in_language(labels).items()}


def _escape(text: str) -> str:
    """django.utils.html.escape's escaping (it calls this very function) for plain strings,
    without its lazy-string check and SafeString per value: some 300 values a page."""
    return html.escape(text)


def _list_row(claim, items: list[tuple[str, str]], cells) -> str:
    # A product's subscription ID (a GUID) would take three lines of the column: it is the
    # name's tooltip here, and in full on the claim page.
    shown = "".join(
        f'<div title="{_escape(subscription)}">{_escape(name)}</div>' if subscription else f"<div>{_escape(name)}</div>"
        for name, subscription in items[:3]
    )
    if not items:
        shown = '<span class="text-body-secondary">—</span>'
    elif len(items) > 3:
        more = ngettext("and %(counter)s more", "and %(counter)s more", len(items) - 3) % {"counter": len(items) - 3}
        shown += f'<div class="text-body-secondary">{_escape(more)}</div>'
    pk = int(claim.id)
    return mark_safe(  # noqa: S308 (every value below is escaped or a number)
        _ROW.format(
            url=f"{cells['detail_url']}{pk}/",
            pk=pk,
            name=_escape(claim.name),
            mpn_label=cells["mpn_label"],
            mpn=_escape(claim.mpn_number),
            customer=_escape(claim.tenant_name) if claim.tenant_name is not None else "—",
            domain=_escape(claim.domain),
            solution_area=cells["solution_area"].get(claim.solution_area) or _escape(claim.solution_area),
            activity=cells["activity"].get(claim.activity) or _escape(claim.activity),
            items=shown,
            badge=presentation.STATUS_BADGES[claim.status],
            status=cells["status"].get(claim.status) or _escape(claim.status),
            created=cells["date"](claim.created_at, missing="—"),
            submitted=cells["date"](claim.submitted_at, missing="—"),
        )
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
            "solution_area_label": _choice_label(SOLUTION_AREAS, claim.solution_area),
            "activity_label": _choice_label(ACTIVITIES, claim.activity),
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


# The History's rows and the comments, written here for the reason the list's rows are (_ROW):
# in the template language each of a long History's values cost some 20 µs. Every value is
# escaped before it goes in.
_HISTORY_ROW = '<tr><td class="text-nowrap">{time}</td><td>{actor}</td><td>{label}</td><td>{change}</td></tr>'
_COMMENT = (
    '<div class="card mb-2 comment"><div class="card-body py-2">'
    '<div class="small text-body-secondary">{author} · {time}</div>'
    '<div class="comment-body">{body}</div></div></div>'
)


def _shown_moment(value) -> str:
    return _escape(presentation.format_moment(value)) if value else ""


HISTORY_COLUMNS = {
    "time": gettext_lazy("Time"),
    "actor": gettext_lazy("By"),
    "label": gettext_lazy("Event"),
    "change": pgettext_lazy("the change an event made, History column", "Change"),
}


def history_table(entries: list[dict]) -> SafeString:
    """The History table (presentation.history_entries), nothing when it has no entry: time,
    who, what, the change. The frame is templates/includes/table.html's."""
    if not entries:
        return mark_safe("")
    headers = "".join(f'<th scope="col">{label}</th>' for label in presentation.in_language(HISTORY_COLUMNS).values())
    return mark_safe(  # noqa: S308 (the rows are escaped, the headers are our own labels)
        '<div class="table-responsive">\n<table class="table table-sm" id="history-table">\n'
        f"  <thead><tr>\n{headers}\n  </tr></thead>\n"
        f"  <tbody>\n  {_history_rows(entries)}\n  </tbody>\n</table>\n</div>"
    )


def _history_rows(entries: list[dict]) -> str:
    rows = []
    for entry in entries:
        event = entry["event"]
        change = (
            f"<div>{_escape(entry['from_label'] or '—')} → {_escape(entry['to_label'])}</div>"
            if event.from_status or event.to_status
            else ""
        )
        change += "".join(
            f'<div class="small text-body-secondary">{_escape(str(line))}</div>' for line in entry["details"]
        )
        rows.append(
            _HISTORY_ROW.format(
                time=_shown_moment(event.created_at),
                actor=_escape(entry["actor"]),
                label=_escape(entry["label"]),
                change=change,
            )
        )
    return "".join(rows)  # every value above is escaped


def comment_cards(entries: list[dict]) -> SafeString:
    """The comments thread (presentation.comment_entries): author, time, and the body with
    its line breaks (the template's |linebreaksbr)."""
    return mark_safe(  # noqa: S308 (every value below is escaped)
        "".join(
            _COMMENT.format(
                author=_escape(entry["author"]),
                time=_shown_moment(entry["comment"].created_at),
                body=_escape(normalize_newlines(entry["comment"].body)).replace("\n", "<br>"),
            )
            for entry in entries
        )
    )


# The claim's fields and items (the claim page's Details and Products, the wizard's last step),
# written here for the reason the History's rows are: some forty values and as many labels
# cost about 3 ms in the template language. Values are escaped; the labels are our own
# translated strings, which `{% translate %}` does not escape either.
_FIELD = '<dt class="col-sm-4">{label}</dt><dd class="col-sm-8"{attributes}>{value}</dd>'
FIELD_LABELS = {
    "pk": gettext_lazy("Claim ID"),
    "name": gettext_lazy("Name"),
    "mpn": gettext_lazy("MPN ID"),
    "customer": gettext_lazy("Customer"),
    "domain": gettext_lazy("Domain name"),
    "tenant_guid": gettext_lazy("Directory ID / Tenant ID"),
    "solution_area": gettext_lazy("Solution area"),
    "activity": gettext_lazy("Activity"),
    "solution_seller_name": gettext_lazy("Dynamics solution seller name"),
    "customer_name": gettext_lazy("Customer name"),
    "isv_solution_name": gettext_lazy("Name of ISV product/solution"),
    "customer_contact": gettext_lazy("Customer contact"),
    "technical_contact": gettext_lazy("Technical contact (Dynamics 365)"),
    "partner_contact": gettext_lazy("Your company's contact"),
    "created_at": gettext_lazy("Created"),
    "submitted_at": gettext_lazy("Submitted"),
    "notified_at": gettext_lazy("Customer notified"),
    "opt_out_deadline": gettext_lazy("Opt-out deadline"),
    "review_due_at": gettext_lazy("Review due"),
    "decided_at": gettext_lazy("Decided"),
}
ITEM_LABELS = {
    "workload": gettext_lazy("Workload"),
    "product": gettext_lazy("Product"),
    "subscription": gettext_lazy("Subscription ID"),
    "program": gettext_lazy("Programme"),
    "outcome": gettext_lazy("Outcome"),
    "no_program": gettext_lazy("None (revenue association)"),
    "none": gettext_lazy("No products or workloads selected yet."),
}
SOLUTION_AREAS = dict(SolutionArea.choices)
ACTIVITIES = dict(Activity.choices)
OUTCOMES = dict(ItemOutcome.choices)


def _shown(value) -> str:
    """A value as the template language shows `{{ value }}`: escaped, None as "None"."""
    return _escape(str(value))


def _choice_label(labels: dict, value) -> str:
    """get_FOO_display() from a table translated once (presentation.in_language)."""
    return presentation.in_language(labels).get(value, value)


def _choice(labels: dict, value) -> str:
    return _shown(_choice_label(labels, value))


def claim_fields(claim) -> SafeString:
    """Every field of the claim, as a description list."""
    labels = presentation.in_language(FIELD_LABELS)
    tenant, mpn = claim.tenant, claim.mpn
    zone = (tenant.time_zone if tenant is not None else "") or None  # the customer's
    programs = "".join(
        f' <span class="badge text-bg-light border">{_shown(program)}</span>' for program in claim.programs if program
    )
    fields = [
        ("pk", "", f"#{_shown(claim.pk)}"),
        ("name", ' data-testid="claim-name"', _shown(claim.name)),
        ("mpn", "", f"{_shown(mpn.mpn_id)} – {_shown(mpn.location)}"),
        ("customer", "", _shown(tenant.name) if tenant is not None and tenant.name else "—"),
        ("domain", "", _shown(claim.domain)),
        ("tenant_guid", "", f"<code>{_shown(claim.tenant_guid)}</code>"),
        ("solution_area", "", _choice(SOLUTION_AREAS, claim.solution_area)),
        ("activity", "", _choice(ACTIVITIES, claim.activity) + programs),
    ]
    if claim.activity == Activity.REVENUE:
        fields += [
            (name, "", _shown(getattr(claim, name)))
            for name in ("solution_seller_name", "customer_name", "isv_solution_name")
        ]
    fields.append(("customer_contact", "", _contact(claim, "customer_contact")))
    if claim.needs_technical_contact:
        fields.append(("technical_contact", "", _contact(claim, "technical_contact")))
    partner_contact = (
        f"{_shown(claim.partner_contact_name)} · {_shown(claim.partner_contact_email)}"
        if claim.partner_contact_name
        else "—"
    )
    fields += [("partner_contact", "", partner_contact), ("created_at", "", _shown_moment(claim.created_at))]
    for name, attributes, time_zone in (
        ("submitted_at", "", None),
        ("notified_at", "", None),
        ("opt_out_deadline", ' data-testid="opt-out-deadline"', zone),
        ("review_due_at", ' data-testid="review-due"', zone),
        ("decided_at", "", None),
    ):
        moment = getattr(claim, name)
        if moment:
            fields.append((name, attributes, _escape(presentation.format_moment(moment, time_zone=time_zone))))
    rows = "\n  ".join(
        _FIELD.format(label=labels[name], attributes=attributes, value=value) for name, attributes, value in fields
    )
    return mark_safe(f'<dl class="row mb-0 claim-fields">\n  {rows}\n</dl>')  # noqa: S308 (values escaped above)


def _contact(claim, prefix: str) -> str:
    name = getattr(claim, f"{prefix}_name")
    if not name:
        return "—"
    title, email = getattr(claim, f"{prefix}_title"), getattr(claim, f"{prefix}_email")
    return f"{_shown(name)}, {_shown(title)} · {_shown(email)}"


def items_table(claim, groups: list[dict], *, meanings: bool) -> SafeString:
    """The claim's items (selectors.claim_items_grouped): one row per programme, the product or
    workload (and subscription) spanning its programmes' rows; `meanings`: each outcome's
    sentence under it (the claim page, not the wizard's summary)."""
    labels = presentation.in_language(ITEM_LABELS)
    explained = presentation.in_language(presentation.OUTCOME_MEANINGS) if meanings else {}
    workloads = claim.solution_area == SolutionArea.MICROSOFT_365
    rows = []
    for group in groups:
        lines = group["lines"]
        for number, line in enumerate(lines):
            cells = ""
            if number == 0:
                thing = group["workload"].name if group["workload"] else getattr(line.product, "name", "")
                cells = f'<td rowspan="{len(lines)}">{_shown(thing)}</td>'
                if not workloads:
                    subscription = getattr(group["subscription"], "subscription_id", "")
                    cells += f'<td rowspan="{len(lines)}"><code>{_shown(subscription)}</code></td>'
            outcome = _choice(OUTCOMES, line.outcome)
            if explained.get(line.outcome):
                outcome += f'<div class="small text-body-secondary">{_escape(explained[line.outcome])}</div>'
            program = _shown(line.program) if line.program else labels["no_program"]
            rows.append(f"<tr>{cells}<td>{program}</td><td>{outcome}</td></tr>")
    if not rows:
        rows.append(f'<tr><td colspan="4" class="text-body-secondary">{labels["none"]}</td></tr>')
    header = (
        f'<th scope="col">{labels["workload"]}</th>'
        if workloads
        else f'<th scope="col">{labels["product"]}</th><th scope="col">{labels["subscription"]}</th>'
    )
    return mark_safe(  # noqa: S308 (every value is escaped above)
        '<table class="table table-sm align-middle mb-0" id="claim-items">'
        f'<thead><tr>{header}<th scope="col">{labels["program"]}</th><th scope="col">{labels["outcome"]}</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
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
