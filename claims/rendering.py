"""The HTML of the partner pages' long parts: the Customer associations list's rows, and a
claim page's fields, items, comments and History.

Written in Python rather than in the template language, which costs some 20 µs a variable:
fifty rows of fifteen variables were half the list's time (bench/RESULTS.md, throughput).
Every value is escaped before it goes in; the tests put hostile names and French labels
through each of these.
"""

import html

from django.utils.safestring import SafeString, mark_safe
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from tenants.models import SolutionArea

from . import presentation
from .models import Activity, ItemOutcome


def list_cells() -> dict:
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


# One row of the list (the module docstring says why in Python); every value is escaped first.
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


def list_row(claim, items: list[tuple[str, str]], cells) -> str:
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


# The History's rows and the comments: a long History has hundreds of values (module docstring).
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


def choice_label(labels: dict, value) -> str:
    """get_FOO_display() from a table translated once (presentation.in_language)."""
    return presentation.in_language(labels).get(value, value)


def _choice(labels: dict, value) -> str:
    return _shown(choice_label(labels, value))


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
