"""The partner's writes on claims (PRODUCT.md section 3 and the partner's part of section 5).

Each service: check the user may file claims, open a transaction, re-read the claim under a
row lock scoped to the user's partner, check its status, change it, record the event, and
schedule side effects after commit. The checks of section 4 come from `claims.validation`,
the same ones the wizard shows as early feedback; a service never trusts what a form
already checked, because a posted value may have been tampered with.

Errors:
- `PermissionDenied` (403) when the user's role may not do this (only an Incentives admin
  files claims);
- `Http404` when the claim or file is not the user's partner's, exactly as a missing one;
- `ClaimError` (or `ClaimProblems`, which carries the section-4 problems) when the action
  does not apply to the claim as it is now. Nothing is changed in any of these cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from cpor import access
from cpor.models import MpnId
from tenants.models import LIVE_SUBSCRIPTION_STATUSES, Product, SolutionArea, Tenant, Workload

from . import deadlines, tasks, uploads, validation
from .events import EventAction
from .lifecycle import ClaimError, item_move, record_event, transition
from .models import (
    ACTIVITY_PROGRAMS,
    DISPUTE_WINDOW,
    Activity,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    Comment,
    ItemOutcome,
    ProofOfExecution,
    RejectionReason,
)
from .validation import Problem

# After submission, proof of execution is added when a reviewer asks for it, and to an
# approved claim (newer proof, which arbitration shows first).
PROOF_STATUSES = (ClaimStatus.DRAFT, ClaimStatus.ACTION_REQUIRED, ClaimStatus.APPROVED)

# Enough for any real statement of work; stops a runaway loop of uploads.
MAX_PROOFS_PER_CLAIM = 20


class ClaimProblems(ClaimError):
    """The section-4 checks found problems; each one carries its troubleshooting message."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(" ".join(problem.message for problem in self.problems))


@dataclass(frozen=True)
class ClaimStart:
    """What the first three wizard pages ask (MPN ID, customer, solution area and activity,
    Associate customer); the same fields are changed on a draft's details page."""

    mpn_id: int
    domain: str
    tenant_guid: uuid.UUID | str
    solution_area: str
    activity: str
    name: str
    solution_seller_name: str = ""
    customer_name: str = ""
    isv_solution_name: str = ""


@dataclass(frozen=True)
class ClaimContacts:
    customer_contact_name: str
    customer_contact_title: str
    customer_contact_email: str
    partner_contact_name: str
    partner_contact_email: str
    technical_contact_name: str = ""
    technical_contact_title: str = ""
    technical_contact_email: str = ""


@dataclass(frozen=True)
class ProductChoice:
    """A Business Applications product picked on the products page, with the subscription ID
    the partner typed when the tenant holds several subscriptions to it."""

    product_id: int
    subscription_id: str = ""


REVENUE_FIELDS = ("solution_seller_name", "customer_name", "isv_solution_name")
CONTACT_FIELDS = tuple(field.name for field in fields(ClaimContacts))
TECHNICAL_CONTACT_FIELDS = ("technical_contact_name", "technical_contact_title", "technical_contact_email")


# --- Guards ----------------------------------------------------------------------------


def _filer_partner(user):
    """The partner an Incentives admin files for; anyone else may only read (403)."""
    return access.partner_acting_in_role(user, access.FILE_CLAIMS)


def _lock_own_claim(partner, claim_id) -> Claim:
    return access.lock_or_404(Claim.objects, pk=claim_id, partner=partner)


def _lock_own_draft(partner, claim_id) -> Claim:
    claim = _lock_own_claim(partner, claim_id)
    if claim.status != ClaimStatus.DRAFT:
        raise ClaimError(_("This claim has been submitted and can no longer be changed."))
    return claim


def _checked_start(partner, start: ClaimStart) -> dict:
    """Re-check everything the first three pages asked; return the claim's field values
    (normalised, with the MPN ID and the matching tenant resolved)."""
    mpn = MpnId.objects.filter(pk=start.mpn_id, partner=partner).first()
    if mpn is None:
        raise ClaimError(_("Select one of your organisation's MPN IDs."))
    tenant_guid = validation.parse_guid(start.tenant_guid)
    if tenant_guid is None:
        raise ClaimProblems([Problem("not_a_guid")])
    domain = validation.normalise_domain(start.domain)
    tenant = validation.tenant_for(domain, tenant_guid)
    if tenant is None:
        raise ClaimProblems([Problem("domain_tenant_mismatch")])
    programs = ACTIVITY_PROGRAMS.get((start.solution_area, start.activity))
    if programs is None:
        raise ClaimError(activity_rule_message())
    problems = validation.mpn_problems(mpn, programs)
    if problems:
        raise ClaimProblems(problems)
    name = start.name.strip()
    if not name:
        raise ClaimError(_("Enter a name for this claim."))
    values = {
        "mpn": mpn,
        "domain": domain,
        "tenant_guid": tenant_guid,
        "tenant": tenant,
        "solution_area": start.solution_area,
        "activity": start.activity,
        "name": name,
    }
    for field in REVENUE_FIELDS:
        value = getattr(start, field).strip()
        if start.activity == Activity.REVENUE and not value:
            raise ClaimError(
                _(
                    "For Revenue association, enter the Dynamics solution seller name, the customer name and the "
                    "name of the ISV product/solution."
                )
            )
        # Only a revenue association keeps these; switching away from it clears them.
        values[field] = value if start.activity == Activity.REVENUE else ""
    return values


def activity_rule_message() -> str:
    return _(
        "This activity isn't available for the solution area. For Business Applications, select either Usage "
        "and/or Pre-sales, or Revenue association; for Microsoft 365, select Usage."
    )


# --- Drafts ----------------------------------------------------------------------------


def claim_create_draft(*, user, start: ClaimStart) -> Claim:
    """**Create claim** on the Associate customer page: the claim now exists as a Draft.

    The MPN ID must be the partner's own and enrolled in the activity's programme(s); the
    domain must be a verified domain of the Directory ID / Tenant ID; the activity must be
    one the solution area offers.
    """
    partner = _filer_partner(user)
    values = _checked_start(partner, start)
    with transaction.atomic():
        claim = Claim.objects.create(partner=partner, created_by=user, **values)
        record_event(claim, action=EventAction.DRAFT_CREATED, actor=user, to_status=ClaimStatus.DRAFT)
    return claim


def claim_update_draft(*, user, claim_id, start: ClaimStart) -> Claim:
    """Change a draft's MPN ID, customer, solution area, activity or name.

    Items belong to one tenant and one activity: changing either clears them, and the
    partner picks the products or workloads again.
    """
    partner = _filer_partner(user)
    values = _checked_start(partner, start)
    with transaction.atomic():
        claim = _lock_own_draft(partner, claim_id)
        changed = {}
        for field, value in values.items():
            current = getattr(claim, field)
            if current != value:
                changed[field] = [_display(current), _display(value)]
                setattr(claim, field, value)
        if not changed:
            return claim
        if {"tenant", "solution_area", "activity"} & changed.keys():
            removed = [item.label for item in _items_with_labels(claim)]
            if removed:
                claim.items.all().delete()
                record_event(
                    claim, action=EventAction.ITEMS_CHANGED, actor=user, data={"added": [], "removed": removed}
                )
        claim.save(update_fields=[*changed, "updated_at"])
        record_event(claim, action=EventAction.DRAFT_UPDATED, actor=user, data={"changed": changed})
    return claim


def claim_set_items(
    *, user, claim_id, products: Sequence[ProductChoice] = (), workload_ids: Sequence[int] = ()
) -> list[str]:
    """The products (Business Applications) or workloads (Microsoft 365) a draft claims.

    A Business Applications product stands for one subscription of the tenant: the only one,
    or the one whose ID the partner entered. Each item is claimed once per programme of the
    activity (Usage and Pre-sales: two rows per subscription). Section-4 errors stop the
    change; an item another partner holds or claims is not an error but a competing claim,
    and its label is returned so the partner is told it will go to arbitration.
    """
    partner = _filer_partner(user)
    with transaction.atomic():
        claim = _lock_own_draft(partner, claim_id)
        tenant = claim.tenant
        if claim.solution_area == SolutionArea.BUSINESS_APPLICATIONS:
            if workload_ids:
                raise ClaimError(_("A Business Applications claim is for products, not workloads."))
            rows, problems = _subscription_rows(claim, tenant, products)
        else:
            if products:
                raise ClaimError(_("A Microsoft 365 claim is for workloads, not products."))
            rows, problems = _workload_rows(claim, tenant, workload_ids)
        if not rows and not problems:
            problems = [Problem("no_items")]
        if problems:
            raise ClaimProblems(problems)

        competing = []
        for row in rows:
            own = validation.held_by_own_partner(
                partner=partner, item_key=row["item_key"], program=row["program"], exclude_claim_id=claim.pk
            )
            if own:
                code = "already_claimed" if row["subscription"] else "workload_already_claimed"
                subject = str(row["subscription"].subscription_id) if row["subscription"] else row["workload"].name
                problems.append(Problem(code, subject))
            elif validation.claim_competes(
                claim, item_key=row["item_key"], program=row["program"], subscription=row["subscription"]
            ):
                competing.append(_row_label(row))
        if problems:
            raise ClaimProblems(_unique(problems))

        before = {(item.item_key, item.program): item.label for item in _items_with_labels(claim)}
        after = {(row["item_key"], row["program"]): _row_label(row) for row in rows}
        if before.keys() != after.keys():
            claim.items.all().delete()
            ClaimItem.objects.bulk_create(ClaimItem(claim=claim, **row) for row in rows)
            claim.save(update_fields=["updated_at"])
            record_event(
                claim,
                action=EventAction.ITEMS_CHANGED,
                actor=user,
                data={
                    "added": sorted({after[key] for key in after.keys() - before.keys()}),
                    "removed": sorted({before[key] for key in before.keys() - after.keys()}),
                },
            )
    return _unique(competing)


def _subscription_rows(claim, tenant, choices: Sequence[ProductChoice]) -> tuple[list[dict], list[Problem]]:
    products = Product.objects.in_bulk([choice.product_id for choice in choices])
    rows, problems, seen = [], [], set()
    for choice in choices:
        product = products.get(choice.product_id)
        if product is None or product.solution_area != SolutionArea.BUSINESS_APPLICATIONS:
            raise ClaimError(_("Select products from the list."))
        subscription, found = validation.resolve_subscription(tenant, product, choice.subscription_id)
        problems.extend(found)
        if subscription is None or found or subscription.pk in seen:
            continue
        seen.add(subscription.pk)
        for program in claim.programs:
            rows.append(
                {
                    "program": program,
                    "product": product,
                    "subscription": subscription,
                    "workload": None,
                    "item_key": ClaimItem.key_for_subscription(subscription),
                }
            )
    return rows, problems


def _workload_rows(claim, tenant, workload_ids: Sequence[int]) -> tuple[list[dict], list[Problem]]:
    workloads = Workload.objects.in_bulk(list(workload_ids))
    rows, problems = [], []
    for workload_id in dict.fromkeys(workload_ids):
        workload = workloads.get(workload_id)
        if workload is None:
            raise ClaimError(_("Select workloads from the list."))
        found = validation.workload_problems(tenant, workload)
        if found:
            problems.extend(found)
            continue
        # The item names the workload; the product is the live Microsoft 365 product that
        # carries it on this tenant, kept for display and usage.
        product = (
            Product.objects.filter(
                solution_area=SolutionArea.MICROSOFT_365,
                workloads=workload,
                subscriptions__tenant=tenant,
                subscriptions__status__in=LIVE_SUBSCRIPTION_STATUSES,
            )
            .order_by("name")
            .first()
        )
        for program in claim.programs:
            rows.append(
                {
                    "program": program,
                    "product": product,
                    "subscription": None,
                    "workload": workload,
                    "item_key": ClaimItem.key_for_workload(tenant, workload),
                }
            )
    return rows, problems


def _row_label(row) -> str:
    if row["workload"] is not None:
        return row["workload"].name
    return f"{row['product'].name} ({row['subscription'].subscription_id})"


def _items_with_labels(claim):
    return claim.items.select_related("product", "subscription", "workload")


def claim_set_contacts(*, user, claim_id, contacts: ClaimContacts) -> Claim:
    """The customer's contact, for Dynamics 365 (Business Applications) the customer's
    technical contact, and the partner's own contact. All fields are required.

    The customer's notice goes to the customer and technical contacts, so their addresses
    must be on one of the tenant's verified domains (or a subdomain of one); partner mail
    goes to the partner contact, who must be one of the partner's active users.
    `ClaimProblems` names each address that breaks a rule, and nothing is saved."""
    partner = _filer_partner(user)
    with transaction.atomic():
        claim = _lock_own_draft(partner, claim_id)
        required = [field for field in CONTACT_FIELDS if field not in TECHNICAL_CONTACT_FIELDS]
        if claim.needs_technical_contact:
            required += TECHNICAL_CONTACT_FIELDS
        if any(not getattr(contacts, field).strip() for field in required):
            raise ClaimError(_("All contact fields are required."))
        if claim.tenant is None:
            raise ClaimProblems([Problem("domain_tenant_mismatch")])
        problems = validation.contact_problems(
            tenant=claim.tenant,
            customer_email=contacts.customer_contact_email,
            technical_email=contacts.technical_contact_email,
            needs_technical=claim.needs_technical_contact,
        ) + validation.partner_contact_problems(partner=partner, partner_email=contacts.partner_contact_email)
        if problems:
            raise ClaimProblems(problems)
        changed = []
        for field in CONTACT_FIELDS:
            value = getattr(contacts, field).strip()
            if field in TECHNICAL_CONTACT_FIELDS and not claim.needs_technical_contact:
                value = ""
            if getattr(claim, field) != value:
                changed.append(field)
                setattr(claim, field, value)
        if changed:
            claim.save(update_fields=[*changed, "updated_at"])
            # The log names the fields only: contact details are personal data.
            record_event(claim, action=EventAction.CONTACTS_CHANGED, actor=user, data={"changed": changed})
    return claim


def claim_delete_draft(*, user, claim_id) -> None:
    """A draft can be deleted; a submitted claim never is. Its history goes with it: nothing
    was ever sent to anyone. The PoE files are removed once the deletion is committed."""
    partner = _filer_partner(user)
    with transaction.atomic():
        claim = _lock_own_draft(partner, claim_id)
        names = list(claim.proofs.values_list("file", flat=True))
        claim.delete()
        transaction.on_commit(lambda: uploads.delete_stored_files(names))


# --- Proof of execution and comments ------------------------------------------------------


def claim_add_poe(*, user, claim_id, upload) -> ProofOfExecution:
    """Attach one proof-of-execution file (see `claim_add_proofs`)."""
    return claim_add_proofs(user=user, claim_id=claim_id, files=[upload])[0]


def claim_add_proofs(*, user, claim_id, files: Sequence) -> list[ProofOfExecution]:
    """Attach proof-of-execution files: to a draft, or, after submission, only when a
    reviewer asked for more (Partner action required), which answers the request.

    All the files of one upload or none: they are checked and added under one lock, so a
    refused file (or one past the limit) keeps none of the others, and the answer to the
    reviewer's request is given once, after the last of them. Each file is checked by its
    content (PDF, DOCX, XLSX, PNG, JPEG) and its size, and stored under a generated name
    outside the web root.
    """
    partner = _filer_partner(user)
    if not files:
        raise ClaimError(_("Choose or drop at least one file."))
    content_types = [uploads.check_poe(upload) for upload in files]
    with transaction.atomic():
        claim = _lock_own_claim(partner, claim_id)
        if claim.status not in PROOF_STATUSES:
            raise ClaimError(
                _(
                    "Proof of execution can be added after submission only when a reviewer asks for more "
                    "information, or to an approved claim."
                )
            )
        added = _store_proofs(claim, user, files, content_types)
        _answer_information_request(claim, user)
    return added


def _store_proofs(claim: Claim, user, files: Sequence, content_types: Sequence[str]) -> list[ProofOfExecution]:
    """Store checked files on a locked claim, each with its event; a rolled-back transaction
    leaves no stored file behind."""
    if claim.proofs.count() + len(files) > MAX_PROOFS_PER_CLAIM:
        raise ClaimError(_("A claim can hold at most %(count)d files.") % {"count": MAX_PROOFS_PER_CLAIM})
    stored: list[str] = []
    added: list[ProofOfExecution] = []
    try:
        for upload, content_type in zip(files, content_types, strict=True):
            proof = ProofOfExecution(
                claim=claim,
                original_name=uploads.safe_original_name(upload.name),
                content_type=content_type,
                size=upload.size,
                uploaded_by=user,
            )
            proof.file.save("poe", upload, save=False)
            stored.append(proof.file.name)
            proof.save()
            record_event(claim, action=EventAction.POE_ADDED, actor=user, data={"file": proof.original_name})
            added.append(proof)
    except Exception:
        uploads.delete_stored_files(stored)
        raise
    return added


def claim_remove_poe(*, user, claim_id, proof_id) -> None:
    """A draft's file can be removed; once submitted, proof of execution stays."""
    partner = _filer_partner(user)
    with transaction.atomic():
        claim = _lock_own_draft(partner, claim_id)
        proof = claim.proofs.filter(pk=proof_id).first()
        if proof is None:
            raise Http404
        name, stored = proof.original_name, proof.file.name
        proof.delete()
        record_event(claim, action=EventAction.POE_REMOVED, actor=user, data={"file": name})
        transaction.on_commit(lambda: uploads.delete_stored_files([stored]))


def claim_add_comment(*, user, claim_id, body: str) -> Comment:
    """Add and save a comment, on a draft (before **Submit claim**) or on a submitted claim
    in any status: the comments are where the partner and the reviewers talk, and a claim
    that has ended may still need a word. When a reviewer asked for information, the
    comment answers it and the claim goes back to review.

    Comments are the one thing that can be added to a submitted claim besides the PoE a
    reviewer asks for; they are never edited or deleted.
    """
    partner = _filer_partner(user)
    body = body.strip()
    if not body:
        raise ClaimError(_("Write a comment first."))
    with transaction.atomic():
        claim = _lock_own_claim(partner, claim_id)
        comment = Comment.objects.create(claim=claim, author=user, body=body, is_internal=False)
        record_event(claim, action=EventAction.COMMENT_ADDED, actor=user, data={"comment": comment.pk})
        _answer_information_request(claim, user)
    return comment


def _answer_information_request(claim: Claim, user) -> None:
    if claim.status == ClaimStatus.ACTION_REQUIRED:
        claim.response_due_at = None
        transition(
            claim,
            ClaimStatus.UNDER_REVIEW,
            action=EventAction.PARTNER_RESPONDED,
            actor=user,
            fields=["response_due_at"],
        )


# --- After the decision: dispute a rejection, disassociate a customer -----------------------


def items_lost_in_arbitration(claim: Claim):
    """The claim's items rejected because another partner was chosen in arbitration."""
    lost = claim.events.filter(
        action=EventAction.ITEM_REJECTED, data__rejection_reason=RejectionReason.LOST_ARBITRATION
    )
    return claim.items.filter(pk__in=_lost_item_ids(lost), outcome=ItemOutcome.REJECTED)


def items_lost_in_arbitration_among(claim: Claim, events: Sequence[ClaimEvent]) -> list[ClaimItem]:
    """The same items, found in what a page already read: `events`, the claim's History
    (item rejections are never internal notes, so a partner's History holds them all), and the
    claim's items (prefetched by `selectors.claim_get_for_user`). No query of its own."""
    item_ids = _lost_item_ids(events)
    return [item for item in claim.items.all() if item.pk in item_ids and item.outcome == ItemOutcome.REJECTED]


def _lost_item_ids(events) -> set[int]:
    """The items these events say were lost in arbitration."""
    item_ids = set()
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        lost = data.get("rejection_reason") == RejectionReason.LOST_ARBITRATION
        if event.action == EventAction.ITEM_REJECTED and lost and isinstance(data.get("item"), int):
            item_ids.add(data["item"])
    return item_ids


def has_disputable_rejection(claim: Claim, *, lost: Sequence[ClaimItem] | None = None) -> bool:
    """A rejected claim, or an approved one with an item lost in arbitration. `lost`: those
    items when the caller has them already (items_lost_in_arbitration_among)."""
    if claim.status == ClaimStatus.REJECTED:
        return True
    if claim.status != ClaimStatus.APPROVED:
        return False
    return bool(lost) if lost is not None else items_lost_in_arbitration(claim).exists()


def dispute_deadline(claim: Claim, *, lost: Sequence[ClaimItem] | None = None):
    """30 days after the rejection: of the claim, or of its last item lost in arbitration."""
    if claim.status == ClaimStatus.APPROVED:
        lost = items_lost_in_arbitration(claim) if lost is None else lost
        last = max((item.decided_at for item in lost if item.decided_at), default=None)
        return last + DISPUTE_WINDOW if last else None
    return claim.dispute_due_at


def dispute_refusal(claim: Claim, now=None, *, lost: Sequence[ClaimItem] | None = None) -> str | None:
    """Why this claim's rejection cannot be disputed (now), or None if it can: the same
    sentence the claim page shows instead of the Dispute button."""
    now = now or timezone.now()
    if claim.status == ClaimStatus.DISPUTED:
        return _("This rejection is already disputed: the reviewers answer within five business days.")
    if claim.dispute_final or claim.disputed_at is not None:
        return _(
            "This rejection was already disputed once and the decision is final. If the situation has changed, "
            "file a new claim."
        )
    if not has_disputable_rejection(claim, lost=lost):
        return _("Only a rejected claim, or an item another partner was chosen for, can be disputed.")
    deadline = dispute_deadline(claim, lost=lost)
    if deadline is None or now > deadline:
        return _("A rejection can be disputed only within 30 days. If the situation has changed, file a new claim.")
    return None


def claim_dispute(*, user, claim_id, justification: str, files: Sequence = ()) -> Claim:
    """Dispute a rejection, once, within 30 days of it, with a required justification and
    optionally new proof of execution: Rejected → Disputed, or Approved → Disputed for an
    item of the claim that another partner was chosen for in arbitration. The justification is posted as
    the partner's comment; reviewers answer within five business days."""
    from .review import claim_time_zone

    partner = _filer_partner(user)
    justification = (justification or "").strip()
    if not justification:
        raise ClaimError(_("Explain why the rejection should be reconsidered."))
    content_types = [uploads.check_poe(upload) for upload in files]
    with transaction.atomic():
        claim = _lock_own_claim(partner, claim_id)
        now = timezone.now()
        refusal = dispute_refusal(claim, now)
        if refusal:
            raise ClaimError(refusal)
        if files:
            _store_proofs(claim, user, files, content_types)
        comment = Comment.objects.create(claim=claim, author=user, body=justification, is_internal=False)
        claim.disputed_at = now
        claim.dispute_answer_due_at = deadlines.partner_deadline(
            now, partner=claim.partner, days=deadlines.DISPUTE_ANSWER_BUSINESS_DAYS, time_zone=claim_time_zone(claim)
        )
        transition(
            claim,
            ClaimStatus.DISPUTED,
            action=EventAction.DISPUTED,
            actor=user,
            reason=justification,
            data={"comment": comment.pk, "dispute_answer_due_at": claim.dispute_answer_due_at.isoformat()},
            fields=["disputed_at", "dispute_answer_due_at"],
        )
    return claim


def claim_disassociate(*, user, claim_id, reason: str) -> Claim:
    """On an approved claim, end the association with the customer, with a required reason:
    its items end (free for other partners), usage data stops, the claim shows who
    disassociated it, and the customer's contacts are emailed."""
    from .followup import queue_disassociation_emails

    partner = _filer_partner(user)
    reason = (reason or "").strip()
    if not reason:
        raise ClaimError(_("Give the reason for the disassociation."))
    with transaction.atomic():
        claim = _lock_own_claim(partner, claim_id)
        if claim.status != ClaimStatus.APPROVED:
            raise ClaimError(
                _("Only an approved claim can be disassociated; this one is %(status)s.")
                % {"status": claim.get_status_display()}
            )
        now = timezone.now()
        items = item_move(
            claim.items.filter(outcome=ItemOutcome.APPROVED).select_related("product", "subscription", "workload"),
            ItemOutcome.ENDED,
            now=now,
        )
        claim.disassociated_at = now
        claim.disassociated_by = user
        claim.disassociation_reason = reason
        transition(
            claim,
            ClaimStatus.ENDED,
            action=EventAction.DISASSOCIATED,
            actor=user,
            reason=reason,
            data={"items": [item.pk for item in items]},
            fields=["disassociated_at", "disassociated_by", "disassociation_reason"],
        )
        queue_disassociation_emails(claim)
    return claim


# --- Submission ------------------------------------------------------------------------


def claim_missing_for_submission(claim: Claim) -> list[str]:
    """What a draft still lacks before **Submit claim**, in the partner's words.

    A claim needs items, every contact field and at least one proof-of-execution file:
    reviewers verify the PoE, and a claim cannot be edited once submitted.
    """
    missing = []
    if not claim.name:
        missing.append(_("a name"))
    if not claim.items.exists():
        missing.append(_("products") if claim.solution_area == SolutionArea.BUSINESS_APPLICATIONS else _("workloads"))
    required = [field for field in CONTACT_FIELDS if field not in TECHNICAL_CONTACT_FIELDS]
    if claim.needs_technical_contact:
        required += TECHNICAL_CONTACT_FIELDS
    if any(not getattr(claim, field) for field in required):
        missing.append(_("contacts"))
    if not claim.proofs.exists():
        missing.append(_("proof of execution"))
    return missing


def claim_submit(*, user, claim_id) -> Claim:
    """**Submit claim**: the claim freezes and validation is queued (section 5, step 1).

    Only a complete Draft of the user's partner can be submitted. The status is checked
    under the row lock, so a double click or two tabs submit once and the second is told
    so. Validation starts only once the submission is committed, through the single entry
    point `tasks.enqueue_validation`.
    """
    partner = _filer_partner(user)
    with transaction.atomic():
        claim = _lock_own_claim(partner, claim_id)
        if claim.status != ClaimStatus.DRAFT:
            raise ClaimError(_("This claim has already been submitted."))
        missing = claim_missing_for_submission(claim)
        if missing:
            raise ClaimError(_("Before you submit, add %(missing)s.") % {"missing": ", ".join(missing)})
        claim.submitted_at = timezone.now()
        transition(claim, ClaimStatus.SUBMITTED, action=EventAction.SUBMITTED, actor=user, fields=["submitted_at"])
        claim_pk = claim.pk
        transaction.on_commit(lambda: tasks.enqueue_validation(claim_pk))
    return claim


# --- Helpers -----------------------------------------------------------------------------


def _display(value) -> str:
    if isinstance(value, MpnId):
        return value.mpn_id
    if value is None:
        return ""
    if isinstance(value, Tenant):
        return value.name
    return str(value)


def _unique(values: list) -> list:
    return list(dict.fromkeys(values))
