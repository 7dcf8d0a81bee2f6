"""What the partner reads about a claim's status and history, in their language.

Every status has a sentence saying what it means and one saying what happens next
(PRODUCT.md section 5); every event the services and the pipeline record has a label for
the History (`events.EventAction`). Kept here, beside the models, so that pages and emails
say the same thing.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import dateformat
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format, get_format
from django.utils.timezone import get_current_timezone, get_current_timezone_name, localtime
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from .events import EventAction
from .models import REVIEW_STATUSES, ClaimStatus, ItemOutcome, RejectionReason
from .validation import Problem

STATUS_MEANINGS = {
    ClaimStatus.DRAFT: gettext_lazy(
        "The claim is being prepared. It hasn't been sent: only your organisation can see it."
    ),
    ClaimStatus.SUBMITTED: gettext_lazy(
        "The claim has been submitted and can no longer be edited. It is waiting for validation."
    ),
    ClaimStatus.VALIDATION_FAILED: gettext_lazy(
        "The claim didn't pass validation, for the reasons listed below. The customer wasn't contacted."
    ),
    ClaimStatus.UNDER_REVIEW: gettext_lazy(
        "The claim passed validation, the customer has been emailed, and reviewers are verifying your proof of "
        "execution."
    ),
    ClaimStatus.ACTION_REQUIRED: gettext_lazy(
        "A reviewer needs more information from you before the review can go on."
    ),
    ClaimStatus.APPROVED: gettext_lazy(
        "Your association with this customer is official for the approved items. You can now see the customer's "
        "usage data."
    ),
    ClaimStatus.REJECTED: gettext_lazy("The claim was rejected."),
    ClaimStatus.OPTED_OUT: gettext_lazy("The customer opted out of this association."),
    ClaimStatus.ENDED: gettext_lazy(
        "The association has ended: the subscriptions it claimed are no longer active or in grace."
    ),
    ClaimStatus.DISPUTED: gettext_lazy("You disputed the rejection. The reviewers are looking at it again."),
}

STATUS_NEXT_STEPS = {
    ClaimStatus.DRAFT: gettext_lazy(
        "Complete every step, then select Submit claim. Until then you can change or delete the draft."
    ),
    ClaimStatus.SUBMITTED: gettext_lazy(
        "We check the domain and tenant, the products or workloads and your MPN ID's enrolment. The claim then "
        "goes to Under review, or to Validation failed with the reasons."
    ),
    ClaimStatus.VALIDATION_FAILED: gettext_lazy(
        "Check the details with your customer, then file a new claim. This one can no longer change."
    ),
    ClaimStatus.UNDER_REVIEW: gettext_lazy(
        "If the customer doesn't opt out before the deadline, the items that aren't contested are approved. Review "
        "is due within five business days; a competing claim can take longer, and you'll be told in the comments."
    ),
    ClaimStatus.ACTION_REQUIRED: gettext_lazy(
        "Answer the reviewer in the comments below or add proof of execution. The claim then goes back to review."
    ),
    ClaimStatus.APPROVED: gettext_lazy(
        "The association lasts while the subscription is active or in grace. When it ends, a new subscription "
        "needs a new claim."
    ),
    ClaimStatus.REJECTED: gettext_lazy(
        "Nothing more happens on this claim. If the situation changes, you can file a new claim."
    ),
    ClaimStatus.OPTED_OUT: gettext_lazy("Nothing more happens on this claim."),
    ClaimStatus.ENDED: gettext_lazy("To continue earning incentives, claim the new subscription in a new claim."),
    ClaimStatus.DISPUTED: gettext_lazy(
        "The reviewers answer within five business days: they uphold the rejection (final) or overturn it (the "
        "items go back to review)."
    ),
}

OUTCOME_MEANINGS = {
    ItemOutcome.PENDING: gettext_lazy("Waiting for validation, the opt-out window and review."),
    ItemOutcome.CONTESTED: gettext_lazy(
        "Another partner holds or claims this item: it goes to arbitration, and reviewers compare both proofs "
        "of execution."
    ),
    ItemOutcome.APPROVED: gettext_lazy("Associated with your organisation."),
    ItemOutcome.REJECTED: gettext_lazy("Not associated with your organisation."),
    ItemOutcome.ENDED: gettext_lazy("The association ended with the subscription."),
}

STATUS_BADGES = {
    ClaimStatus.DRAFT: "secondary",
    ClaimStatus.SUBMITTED: "info",
    ClaimStatus.VALIDATION_FAILED: "danger",
    ClaimStatus.UNDER_REVIEW: "primary",
    ClaimStatus.ACTION_REQUIRED: "warning",
    ClaimStatus.APPROVED: "success",
    ClaimStatus.REJECTED: "danger",
    ClaimStatus.OPTED_OUT: "dark",
    ClaimStatus.ENDED: "dark",
    ClaimStatus.DISPUTED: "warning",
}


_TRANSLATED: dict[tuple[int, str | None], tuple[dict, dict]] = {}


def in_language(labels: dict) -> dict:
    """A module's table of lazy labels (names or choice values to `gettext_lazy` texts) in the
    active language. Translated once a process for each language rather than once a request:
    a process's translations never change, and gettext costs some 40 function calls a label.
    A table is known by its identity; the cache holds it, so that no other takes its id."""
    key = (id(labels), get_language())
    cached = _TRANSLATED.get(key)
    if cached is None:
        cached = _TRANSLATED[key] = (labels, {name: str(label) for name, label in labels.items()})
    return cached[1]


EVENT_LABELS = dict(EventAction.choices)
STATUS_LABELS = dict(ClaimStatus.choices)


def event_label(action: str) -> str:
    """An event's History label. An action no `EventAction` names (a row older than the code
    that reads it) is shown by its code, so that no event is ever hidden from the History."""
    label = in_language(EVENT_LABELS).get(action)
    return label if label is not None else action.replace("_", " ").capitalize()


@dataclass(frozen=True)
class StatusText:
    status: str
    label: str
    badge: str
    meaning: str
    next_step: str
    opt_out_deadline: str = ""  # shown while the customer may still opt out
    response_due_at: str = ""  # Partner action required: the answer is due by then
    dispute_answer_due_at: str = ""  # Disputed: the reviewers answer by then


def status_text(claim) -> StatusText:
    """What the claim's status means and what happens next, with the known dates."""
    status = claim.status
    meaning = in_language(STATUS_MEANINGS)[status]
    next_step = in_language(STATUS_NEXT_STEPS)[status]
    if status == ClaimStatus.REJECTED and claim.rejection_reason:
        meaning = _("The claim was rejected: %(reason)s.") % {"reason": claim.get_rejection_reason_display()}
    if status == ClaimStatus.ENDED and claim.disassociated_at:
        meaning = _("%(user)s disassociated this customer on %(date)s: %(reason)s") % {
            "user": actor_label(claim.disassociated_by),
            "date": format_moment(claim.disassociated_at),
            "reason": claim.disassociation_reason,
        }
        next_step = _("The items are free for other partners. To work with this customer again, file a new claim.")
    if status == ClaimStatus.REJECTED and claim.dispute_final:
        next_step = _(
            "The rejection was upheld after your dispute and is final. If the situation changes, file a new claim."
        )
    zone = claim.tenant.time_zone if claim.tenant_id else None
    deadline = ""
    if status in REVIEW_STATUSES and claim.opt_out_deadline:
        deadline = format_moment(claim.opt_out_deadline, time_zone=claim.tenant.time_zone if claim.tenant else None)
    return StatusText(
        status=status,
        label=status_label(status),
        badge=STATUS_BADGES[status],
        meaning=meaning,
        next_step=next_step,
        opt_out_deadline=deadline,
        response_due_at=format_moment(claim.response_due_at, time_zone=zone)
        if status == ClaimStatus.ACTION_REQUIRED and claim.response_due_at
        else "",
        dispute_answer_due_at=format_moment(claim.dispute_answer_due_at, time_zone=zone)
        if status == ClaimStatus.DISPUTED and claim.dispute_answer_due_at
        else "",
    )


def format_moment(moment, *, time_zone: str | None = None, style: str = "DATETIME_FORMAT") -> str:
    """A moment, always naming the zone it is shown in. With `time_zone`, in that zone: the
    opt-out deadline and the review due date are the customer's (tenant-local), and everyone
    sees the same ones. Without, in the reader's zone: the active one, UTC while users have
    no zone of their own."""
    zone = ZoneInfo(time_zone) if time_zone else get_current_timezone()
    return f"{date_format(localtime(moment, zone), style)} ({time_zone or get_current_timezone_name()})"


class ShortDates:
    """Moments as the day they fall on in the reader's zone, in the short date format of
    lists: the template's `|date:"SHORT_DATE_FORMAT"`, with each day formatted once a page
    rather than once a row (a table of fifty rows shows a handful of days)."""

    def __init__(self):
        self.zone = get_current_timezone()
        self.format = get_format("SHORT_DATE_FORMAT")
        self.days: dict = {}

    def __call__(self, moment, missing: str = "") -> str:
        if moment is None:
            return missing
        day = moment.astimezone(self.zone).date()
        text = self.days.get(day)
        if text is None:
            text = self.days[day] = dateformat.format(day, self.format)
        return text


def claim_url_prefix() -> str:
    """The claim page's URL up to the claim ID: a table reverses it once, not once a row."""
    return reverse("claims:detail", args=[0])[: -len("0/")]


def validation_messages(claim) -> list[str]:
    """The stored validation problems, in the reader's language."""
    messages = []
    for entry in claim.validation_errors or []:
        try:
            messages.append(Problem.from_dict(entry).message)
        except (KeyError, TypeError):
            messages.append(str(entry))
    return messages


def actor_label(user) -> str:
    """Who did it, as a partner may read it: their colleagues by email, vendor staff as
    "Reviewer", background jobs as "System"."""
    if user is None:
        return _("System")
    if user.is_staff:
        return _("Reviewer")
    return user.email


CHANGE_FIELD_LABELS = {
    "mpn": gettext_lazy("MPN ID"),
    "domain": gettext_lazy("Domain name"),
    "tenant_guid": gettext_lazy("Directory ID / Tenant ID"),
    "tenant": gettext_lazy("Customer"),
    "solution_area": gettext_lazy("Solution area"),
    "activity": gettext_lazy("Activity"),
    "name": gettext_lazy("Name"),
    "solution_seller_name": gettext_lazy("Dynamics solution seller name"),
    "customer_name": gettext_lazy("Customer name"),
    "isv_solution_name": gettext_lazy("Name of ISV product/solution"),
    "customer_contact_name": gettext_lazy("Customer contact name"),
    "customer_contact_title": gettext_lazy("Customer contact title"),
    "customer_contact_email": gettext_lazy("Customer contact email"),
    "technical_contact_name": gettext_lazy("Technical contact name"),
    "technical_contact_title": gettext_lazy("Technical contact title"),
    "technical_contact_email": gettext_lazy("Technical contact email"),
    "partner_contact_name": gettext_lazy("Your contact name"),
    "partner_contact_email": gettext_lazy("Your contact email"),
}


def event_details(event) -> list[str]:
    """The change an event made, line by line, for the History, in the reader's language."""
    data = event.data or {}
    lines = []
    changed = data.get("changed")
    if isinstance(changed, dict):  # field -> [before, after]
        for field, (before, after) in changed.items():
            lines.append(f"{CHANGE_FIELD_LABELS.get(field, field)}: {before or '—'} → {after or '—'}")
    elif isinstance(changed, list):  # fields only (contacts: personal data stays out of the log)
        lines.append(", ".join(str(CHANGE_FIELD_LABELS.get(field, field)) for field in changed))
    for label in data.get("added") or ():
        lines.append(_("Added: %(item)s") % {"item": label})
    for label in data.get("removed") or ():
        lines.append(_("Removed: %(item)s") % {"item": label})
    if data.get("file"):
        lines.append(data["file"])
    if data.get("label"):  # one item, decided by a reviewer
        lines.append(f"{data['label']} ({data['program']})" if data.get("program") else data["label"])
    if data.get("rejection_reason") in RejectionReason.values:
        lines.append(str(RejectionReason(data["rejection_reason"]).label))
    problems = data.get("problems")
    if problems:  # validation: the reasons in the reader's language, not the worker's
        lines.extend(Problem.from_dict(problem).message for problem in problems)
    elif event.reason:
        lines.append(event.reason)
    deadline = parse_datetime(data.get("opt_out_deadline") or "")
    if deadline:
        tenant = event.claim.tenant
        lines.append(
            _("Opt-out deadline: %(deadline)s")
            % {"deadline": format_moment(deadline, time_zone=tenant.time_zone if tenant else None)}
        )
    return lines


def status_label(value: str) -> str:
    return in_language(STATUS_LABELS).get(value, value)


def history_entries(events) -> list[dict]:
    """Every event, with time, who, what and the change it made."""
    return [
        {
            "event": event,
            "label": event_label(event.action),
            "actor": actor_label(event.actor),
            "from_label": status_label(event.from_status) if event.from_status else "",
            "to_label": status_label(event.to_status) if event.to_status else "",
            "details": event_details(event),
        }
        for event in events
    ]


def comment_entries(comments) -> list[dict]:
    return [{"comment": comment, "author": actor_label(comment.author)} for comment in comments]
