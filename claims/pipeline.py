"""The background pipeline (PRODUCT.md sections 4 to 6): validation of submitted claims,
the customer notice, the customer's opt-out, the approval timer and the subscription
status checks.

Every service re-reads the claim under a row lock and checks its status first, so running
it twice, or racing another service on the same claim, ends with exactly one outcome.
The database is the only source of truth: deadlines are stored on the claim and compared
with the clock, never held by the broker.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from cpor.periodic import each_on_its_own
from tenants.models import (
    LIVE_SUBSCRIPTION_STATUSES,
    LegacyAssociation,
    SolutionArea,
    Subscription,
)

from . import deadlines, notices, validation
from .events import EventAction
from .lifecycle import (
    ClaimError,
    item_move,
    items_move_from,
    lock_claim,
    lock_claims_in_order,
    record_event,
    record_event_rows,
    settle,
    transition,
    transition_many,
)
from .models import (
    REVIEW_STATUSES,
    Claim,
    ClaimItem,
    ClaimStatus,
    Comment,
    CustomerEmail,
    ItemOutcome,
    RejectionReason,
)
from .validation import Problem

logger = logging.getLogger(__name__)


# --- Validation ------------------------------------------------------------------------


def _rival_claim_ids(claim_id: int) -> set[int]:
    """Other open claims (submitted or in review) with an undecided item on one of this
    claim's exclusive items: the claims a validation may have to contest too."""
    same_item = ClaimItem.objects.filter(claim_id=claim_id, item_key=OuterRef("item_key"), program=OuterRef("program"))
    return set(
        ClaimItem.objects.filter(
            Exists(same_item),
            claim__status__in=(ClaimStatus.SUBMITTED, *REVIEW_STATUSES),
            outcome__in=(ItemOutcome.PENDING, ItemOutcome.CONTESTED),
        )
        .exclude(program="")
        .exclude(claim_id=claim_id)
        .values_list("claim_id", flat=True)
    )


def _lock_claim_and_rivals(claim_id: int) -> dict[int, Claim]:
    """Lock and read the claim and its rival claims (`_rival_claim_ids`).

    The rows are locked in primary-key order by one statement (PostgreSQL locks the rows of
    `SELECT ... ORDER BY ... FOR UPDATE` in the order it returns them), as
    `lifecycle.lock_claims_in_order` does one by one: two validations of competing claims
    wait for each other, never deadlock. The rivals are read first, apart, so that the lock
    reads the claims by primary key.
    """
    claims = (
        Claim.objects.select_for_update(of=("self",))
        .select_related("mpn", "partner", "created_by")
        .filter(pk__in={claim_id, *_rival_claim_ids(claim_id)})
        .order_by("pk")
    )
    return {claim.pk: claim for claim in claims}


def _rival_items_to_contest(claim: Claim, contested: list[ClaimItem]) -> list[ClaimItem]:
    """Other partners' pending items, on claims in review, that compete with `contested`.

    An approved item stays with its holder until a reviewer decides; a rival on a claim
    still Submitted is contested when its own validation finds this claim's item."""
    same_thing = Q()
    for item in contested:
        same_thing |= Q(item_key=item.item_key, program=item.program)
    return list(
        ClaimItem.objects.on_reviewers_desk()
        .filter(same_thing, outcome=ItemOutcome.PENDING)
        .exclude(claim__partner_id=claim.partner_id)
        .select_related("product", "subscription", "workload")
        .order_by("claim_id", "pk")
    )


def _contest(claim: Claim, contested: list[ClaimItem], locked: dict[int, Claim]) -> None:
    """Every open claim on a competing item is contested, whichever was filed first: this
    claim's items, and the pending items of the other partners' claims in review. Each
    partner is told in their own claim's comments."""
    rivals = _rival_items_to_contest(claim, contested)
    missing = {rival.claim_id for rival in rivals} - locked.keys()
    if missing:
        # A rival reached review between the first read and the locks: lock it too (after
        # the others, a rare out-of-order lock) and read its items again under the lock.
        locked.update(lock_claims_in_order(missing))
        rivals = _rival_items_to_contest(claim, contested)
    item_move(contested, ItemOutcome.CONTESTED)
    _tell_partner_of_competition(claim, contested)
    by_claim: dict[int, list[ClaimItem]] = {}
    for rival in rivals:
        by_claim.setdefault(rival.claim_id, []).append(rival)
    for rival_claim_id, rival_items in sorted(by_claim.items()):
        item_move(rival_items, ItemOutcome.CONTESTED)
        _tell_partner_of_competition(locked[rival_claim_id], rival_items)


def claim_validate(*, claim_id: int) -> str | None:
    """Validate a submitted claim against the directory as it is now.

    Fails: Validation failed, with the reasons. Passes: Under review, and the customer's
    notices are queued; the opt-out window starts only when the customer contact's notice
    has actually been sent (`customer_emails_send`), so until then the claim has no
    deadline and the timer leaves it alone. Items another partner holds or claims are
    contested and go to arbitration, on every open claim that holds them, whoever filed
    first (each partner is told in the comments). A claim that is no longer Submitted is
    left alone, so the task may run any number of times.
    """
    if not Claim.objects.filter(pk=claim_id, status=ClaimStatus.SUBMITTED).exists():
        return None  # validated already (by a set, say): one query, no transaction, no lock
    with transaction.atomic():
        locked = _lock_claim_and_rivals(claim_id)
        claim = locked.get(claim_id)
        if claim is None or claim.status != ClaimStatus.SUBMITTED:
            return None
        facts = validation.claims_facts([claim])[claim.pk]
        problems, contested = validation.submitted_claim_problems(claim, facts)
        if problems:
            _fail(claim, problems)
            return claim.status

        _passed(claim, facts.tenant)
        transition(
            claim,
            ClaimStatus.UNDER_REVIEW,
            action=EventAction.VALIDATED,
            fields=["tenant", "validation_errors", "review_due_at"],
        )
        if contested:
            _contest(claim, contested, locked)
        notices.queue_customer_notices(claim)
    return claim.status


# Claims a set validates in one transaction: a few hundred rows locked for well under a second.
SET_SIZE = 200
# Sets one validation task goes through before leaving the rest to the next task, so that a
# task stays well within its time limit however many claims wait.
SETS_PER_TASK = 10


def claims_validate_in_sets(*, size: int = SET_SIZE, sets: int = SETS_PER_TASK) -> int:
    """Validate the claims still Submitted, oldest first, a set at a time
    (`claims_validate_set`), until none is left or after `sets` sets. Returns the claims
    validated."""
    validated = 0
    for _set in range(sets):
        taken, moved = claims_validate_set(size=size)
        validated += moved
        if taken < size:
            break
    return validated


def claims_validate_set(*, size: int = SET_SIZE) -> tuple[int, int]:
    """`claim_validate` for up to `size` Submitted claims at once, oldest first: the same
    checks (`validation.submitted_claim_problems`) on what a few queries read for the whole
    set, the passed claims moved to Under review together (`lifecycle.transition_many`) and
    their customer notices inserted together. Returns (claims taken, claims validated).

    The set takes only the claims nobody holds a lock on (`SKIP LOCKED`: another set, a
    one-claim validation), and decides only the uncontested ones. A claim whose items anything
    else holds or claims (another claim, whoever's, or a legacy association) goes through
    `claim_validate` once the set has committed, since deciding it means locking its rivals;
    so does a claim the set could not decide (its tenant's time zone no longer exists, say),
    so that its error is the one-claim path's.
    """
    with transaction.atomic():
        claims = list(
            Claim.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("mpn", "partner", "created_by")
            .filter(status=ClaimStatus.SUBMITTED)
            .order_by("pk")[:size]
        )
        if not claims:
            return 0, 0
        facts = validation.claims_facts(claims)
        passed, one_by_one = [], []
        for claim in claims:
            claim_facts = facts[claim.pk]
            if claim_facts.competition:
                one_by_one.append(claim.pk)
                continue
            problems, contested = validation.submitted_claim_problems(claim, claim_facts)
            if contested:  # not without holders; said again so that the set never decides one
                one_by_one.append(claim.pk)
            elif problems:
                _fail(claim, problems)
            else:
                try:
                    _passed(claim, claim_facts.tenant)
                except Exception:
                    one_by_one.append(claim.pk)
                    continue
                passed.append(claim)
        _transition_to_under_review(passed)
        notices.queue_customer_notices_of_many(passed)
    validated = (
        len(claims)
        - len(one_by_one)
        + each_on_its_own(
            one_by_one,
            lambda claim_id: claim_validate(claim_id=claim_id) is not None,
            failure="Claim %s could not be validated; it stays Submitted.",
            log=logger,
        )
    )
    logger.info("Validated %s of a set of %s claims.", validated, len(claims))
    return len(claims), validated


def _transition_to_under_review(claims: list[Claim]) -> None:
    """`transition` to Under review (action validated) for claims that passed together, with
    the fields `_passed` gave each: two UPDATEs and one INSERT of their events, announced
    together (`lifecycle.record_events`)."""
    if claims:
        Claim.objects.bulk_update(claims, ["tenant", "review_due_at"])
        transition_many(
            claims, ClaimStatus.UNDER_REVIEW, action=EventAction.VALIDATED, changes={"validation_errors": []}
        )


def _fail(claim: Claim, problems: list[Problem]) -> None:
    claim.validation_errors = [problem.as_dict() for problem in problems]
    transition(
        claim,
        ClaimStatus.VALIDATION_FAILED,
        action=EventAction.VALIDATION_FAILED,
        reason="; ".join(problem.message for problem in problems),
        data={"problems": claim.validation_errors},
        fields=["validation_errors"],
    )


def _passed(claim: Claim, tenant) -> None:
    """The fields a claim that passes validation takes with it to Under review: its tenant,
    and the reviewers' due date (the opt-out deadline counted from the submission)."""
    claim.tenant = tenant
    claim.validation_errors = []
    claim.review_due_at = deadlines.opt_out_deadline(claim.submitted_at or timezone.now(), tenant=tenant)


def _tell_partner_of_competition(claim: Claim, contested: list[ClaimItem]) -> None:
    """In the claim's comments, in the language of whoever filed it, and as a
    `competing_claim` event (the partner's notification); never naming the other partner."""
    labels = sorted({item.label for item in contested})
    language = getattr(claim.created_by, "language", None) or settings.LANGUAGE_CODE
    with translation.override(language):
        body = _(
            "Another partner already holds or claims %(items)s. Your claim goes to arbitration: we review each "
            "partner's proof of execution to decide, and may ask you for more information here. Your claim may "
            "stay Under review for longer than five business days while this happens."
        ) % {"items": ", ".join(labels)}
    Comment.objects.create(claim=claim, author=None, body=body)
    record_event(claim, action=EventAction.COMPETING_CLAIM, data={"items": [item.pk for item in contested]})


# --- Opt-out ---------------------------------------------------------------------------


class OptOutNotApplicable(ClaimError):
    pass


def opt_out_refusal(claim: Claim, now: datetime.datetime | None = None) -> str | None:
    """Why the customer can no longer opt out of this claim, or None if they can."""
    now = now or timezone.now()
    if claim.status == ClaimStatus.OPTED_OUT:
        return _("You have already opted out of this association.")
    if claim.status not in REVIEW_STATUSES or claim.opt_out_deadline is None:
        return _("This association has already been decided.")
    if now > claim.opt_out_deadline:
        return _("The opt-out period for this association has ended.")
    return None


def claim_opt_out(*, token: str, now: datetime.datetime | None = None) -> Claim:
    """The customer refuses the claim before the deadline: Opted out, the partner is told.

    The link's token is checked here, against the claim as locked, and not against a copy
    read earlier: only the link we sent, still naming the claim's current nonce, opts out.
    Before the deadline the opt-out wins over the approval timer: both lock the claim, and
    the timer only acts once the deadline has passed.
    """
    now = now or timezone.now()
    data = notices.opt_out_token_data(token)
    if data is None:
        raise OptOutNotApplicable(_("This link is not valid."))
    claim_id, nonce = data
    with transaction.atomic():
        claim = Claim.objects.select_for_update().filter(pk=claim_id).first()
        if claim is None or not constant_time_compare(claim.opt_out_nonce.hex, nonce):
            raise OptOutNotApplicable(_("This link is not valid."))
        refusal = opt_out_refusal(claim, now)
        if refusal:
            raise OptOutNotApplicable(refusal)
        item_move(
            claim.items.filter(outcome__in=(ItemOutcome.PENDING, ItemOutcome.CONTESTED)).select_related(
                "product", "subscription", "workload"
            ),
            ItemOutcome.REJECTED,
            now=now,
        )
        claim.decided_at = now
        claim.rejection_reason = RejectionReason.CUSTOMER_DECLINED
        transition(
            claim,
            ClaimStatus.OPTED_OUT,
            action=EventAction.OPTED_OUT,
            reason=_("The customer opted out."),
            data={"by": "customer"},
            fields=["decided_at", "rejection_reason"],
        )
    return claim


# --- The approval timer ----------------------------------------------------------------


def claim_approve_if_due(*, claim_id: int, now: datetime.datetime | None = None) -> str | None:
    """Section 5, step 6: once the window has closed without opt-out, every item that is
    neither contested, rejected nor waiting on an information request becomes approved.

    A claim waiting on an information request (Partner action required) approves nothing
    until the partner answers. Contested items wait for arbitration.
    """
    now = now or timezone.now()
    with transaction.atomic():
        claim = lock_claim(claim_id)
        if claim.status != ClaimStatus.UNDER_REVIEW or claim.opt_out_deadline is None:
            return None
        if now <= claim.opt_out_deadline:
            return None
        if claim.customer_emails.filter(sent_at__isnull=True).exists():
            return None  # a notice the customer never received: the reviewers see it, the timer waits
        approved, contested = [], []
        pending = claim.items.filter(outcome=ItemOutcome.PENDING).select_related("product", "subscription", "workload")
        for item in pending:
            try:
                with transaction.atomic():
                    item_move([item], ItemOutcome.APPROVED, now=now)
                approved.append(item.pk)
            except IntegrityError:
                # Another partner holds the item (a race the validation could not see): it
                # goes to arbitration rather than being approved twice.
                logger.warning("Item %s of claim %s already has a holder; contested.", item.pk, claim.pk)
                contested.append(item)
        if contested:
            item_move(contested, ItemOutcome.CONTESTED, now=now)
            _tell_partner_of_competition(claim, contested)
        if approved:
            record_event(claim, action=EventAction.ITEMS_APPROVED, data={"items": approved})
        if claim.items.filter(outcome__in=(ItemOutcome.PENDING, ItemOutcome.CONTESTED)).exists():
            return claim.status
        claim.decided_at = now
        settle(claim, action=EventAction.APPROVED, reason=_("The opt-out period ended."), fields=["decided_at"])
    return claim.status


# What a set reads of its claims: their events' receivers read more only if they need it.
CLAIM_FIELDS_FOR_SETS = ("pk", "status", "partner_id")
# Subscription IDs a query of the subscription checks names (SQLite allows 32,766 parameters).
SUBSCRIPTIONS_PER_QUERY = 10_000
# How many claims one transaction of the timer or the subscription checks decides: enough
# that round trips and commits are a small part of the cost, few enough that the locks are
# brief (a set of 2,000 takes about a second; an opt-out of one of its claims waits that long).
BATCH = 2_000
# Sets decided at once (`_in_sets`), each on its own connection: two filled the waits of one
# on a 2-core machine (100,000 due: 29.8 s against 39.8 s); three did no better under load.
SET_WORKERS = 2


def claims_due_for_approval(*, now: datetime.datetime | None = None) -> list[int]:
    """IDs, in primary-key order, of the claims under review whose window has closed, with
    every notice sent. Read through `claim_status_deadline`: what is due, not the table."""
    now = now or timezone.now()
    unsent = CustomerEmail.objects.filter(claim=OuterRef("pk"), sent_at__isnull=True)
    due = (
        Claim.objects.filter(status=ClaimStatus.UNDER_REVIEW, opt_out_deadline__lt=now)
        .exclude(Exists(unsent))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(due)


def claims_approve_due(*, now: datetime.datetime | None = None) -> int:
    """The timer's pass: claims under review whose window has closed. A claim without a
    deadline (its customer was never notified) or with any notice still unsent is never
    approved.

    Claims are approved in sets of `BATCH` (`_claims_approve_batch`); what a set leaves
    aside (a claim locked by an opt-out at this very moment, contested items, an item that
    has a holder) goes through `claim_approve_if_due` one claim at a time, as it always has."""
    now = now or timezone.now()
    due = claims_due_for_approval(now=now)
    return _in_sets(
        functools.partial(_claims_approve_set, now=now), [due[i : i + BATCH] for i in range(0, len(due), BATCH)]
    )


def _claims_approve_set(batch: list[int], *, now: datetime.datetime) -> int:
    def approve_alone(claim_id: int) -> int:
        return claim_approve_if_due(claim_id=claim_id, now=now) == ClaimStatus.APPROVED

    return _decide_set(batch, functools.partial(_claims_approve_batch, now=now), approve_alone, job="approved")


def _decide_set(
    batch: list[int], decide_together: Callable[[list[int]], tuple[int, list[int]]], decide_alone, *, job: str
) -> int:
    """Decide a set of claims together; the claims it leaves aside, or all of them if it
    failed (whatever went wrong, a holder that appeared after the check say, was rolled back
    with the set), go one at a time. Returns what was decided (claims approved, items ended)."""
    try:
        decided, one_by_one = decide_together(batch)
    except Exception:
        logger.warning("Periodic job %s: a set of claims went one by one.", job, exc_info=True)
        decided, one_by_one = 0, batch
    return decided + each_on_its_own(
        one_by_one, decide_alone, failure=f"Periodic job {job}: claim %s could not be decided; will retry.", log=logger
    )


def _in_sets(decide: Callable[[list], int], sets: list[list]) -> int:
    """`decide` each set, `SET_WORKERS` sets at a time, each worker a thread with its own
    connection; the sum of what they return. A set waits on the database most of its time
    (its claims' random index pages), which another set's work fills; SKIP LOCKED keeps two
    sets' claims apart. One set at a time inside a caller's transaction, which every set
    must see (and on SQLite, one writer at a time)."""
    if SET_WORKERS < 2 or len(sets) < 2 or connection.in_atomic_block or connection.vendor != "postgresql":
        return sum(map(decide, sets))

    def worker(own_sets: list[list]) -> int:
        try:
            return sum(map(decide, own_sets))
        finally:
            connection.close()  # this thread's own

    with ThreadPoolExecutor(max_workers=SET_WORKERS) as pool:
        return sum(pool.map(worker, [sets[start::SET_WORKERS] for start in range(SET_WORKERS)]))


def _claims_approve_batch(claim_ids: list[int], *, now: datetime.datetime) -> tuple[int, list[int]]:
    """Approve, in one transaction, those of `claim_ids` that `claim_approve_if_due` would
    approve whole: locked without waiting, still under review past their deadline with
    every notice sent, with pending items, none contested, and none that another claim holds
    or that two claims of the set claim. Their items and the claims move in one UPDATE each,
    their events in one INSERT.

    Returns (claims approved, IDs left to `claim_approve_if_due`): those another transaction
    holds (an opt-out: the one-claim path waits for it and checks again) and those that need
    a decision of their own (arbitration, a status other than Approved). A claim with a
    notice unsent is in neither: the timer leaves it alone."""
    with transaction.atomic():
        claims = list(
            Claim.objects.select_for_update(skip_locked=True)
            .only(*CLAIM_FIELDS_FOR_SETS)
            .filter(pk__in=claim_ids, status=ClaimStatus.UNDER_REVIEW, opt_out_deadline__lt=now)
            .order_by("pk")
        )
        locked = {claim.pk for claim in claims}
        one_by_one = [claim_id for claim_id in claim_ids if claim_id not in locked]
        # Read under the locks: a notice queued since the selection keeps its claim waiting.
        unsent = set(
            CustomerEmail.objects.filter(claim_id__in=locked, sent_at__isnull=True).values_list("claim_id", flat=True)
        )
        claims = [claim for claim in claims if claim.pk not in unsent]
        items = _items_by_claim([claim.pk for claim in claims])
        whole, aside = _approvable_whole(claims, items)
        one_by_one += aside
        items_move_from(
            [item.pk for claim in whole for item in items[claim.pk]], ItemOutcome.PENDING, ItemOutcome.APPROVED, now=now
        )
        record_event_rows(
            (claim, EventAction.ITEMS_APPROVED, "", "", "", {"items": [item.pk for item in items[claim.pk]]})
            for claim in whole
        )
        transition_many(
            whole,
            ClaimStatus.APPROVED,
            action=EventAction.APPROVED,
            reason=_("The opt-out period ended."),
            changes={"decided_at": now},
        )
    return len(whole), sorted(one_by_one)


class _Item(NamedTuple):
    """What a set reads of an item: a tuple, not a model instance (thousands a set)."""

    pk: int
    claim_id: int
    outcome: str
    item_key: str
    program: str


def _items_by_claim(claim_ids: list[int]) -> dict[int, list[_Item]]:
    """Every item of these claims, by claim, in primary-key order (one query)."""
    items: dict[int, list[_Item]] = {claim_id: [] for claim_id in claim_ids}
    rows = ClaimItem.objects.filter(claim_id__in=claim_ids).order_by("pk").values_list(*_Item._fields)
    for item in map(_Item._make, rows):
        items[item.claim_id].append(item)
    return items


def _approvable_whole(claims: list[Claim], items: dict[int, list[_Item]]) -> tuple[list[Claim], list[int]]:
    """Split locked due claims into those whose every undecided item is pending and free
    (approving them approves the claim, as `claim_approve_if_due` would) and the IDs of the
    others. `items` keeps only the pending items of the first."""
    whole, aside = [], []
    for claim in claims:
        outcomes = {item.outcome for item in items[claim.pk]}
        if ItemOutcome.PENDING in outcomes and ItemOutcome.CONTESTED not in outcomes:
            items[claim.pk] = [item for item in items[claim.pk] if item.outcome == ItemOutcome.PENDING]
            whole.append(claim)
        else:
            aside.append(claim.pk)
    # The one-holder constraint: an item another claim already holds, or that two claims of
    # the set would both approve, is the one-claim path's (it contests instead).
    wanted = Counter((item.item_key, item.program) for claim in whole for item in items[claim.pk] if item.program)
    held = set(
        ClaimItem.objects.filter(outcome=ItemOutcome.APPROVED, item_key__in={key for key, _program in wanted})
        .exclude(program="")
        .values_list("item_key", "program")
    )
    taken = held | {thing for thing, count in wanted.items() if count > 1}
    if taken:
        conflicting = {claim.pk for claim in whole if any((i.item_key, i.program) in taken for i in items[claim.pk])}
        whole = [claim for claim in whole if claim.pk not in conflicting]
        aside += conflicting
    return whole, aside


# --- Subscription status checks --------------------------------------------------------


def _items_no_longer_live() -> list[tuple[int, int]]:
    """(claim ID, item ID) of the approved items nothing live backs any more: a subscription
    that is no longer active or in grace, or a Microsoft 365 workload that no live
    subscription of the tenant carries.

    The subscriptions that are not live come first, through their partial index
    (`subscription_not_live`, declared on tenants.Subscription), then their approved items through
    `claim_item_approved_sub`, looked up by subscription: what ended is read, not every
    approved item (one query joining the two walked the whole approved index whenever a
    late subscription had ended). The workload items are read through
    `claim_item_approved_workload`."""
    approved = ClaimItem.objects.filter(outcome=ItemOutcome.APPROVED)
    not_live = list(
        Subscription.objects.exclude(status__in=LIVE_SUBSCRIPTION_STATUSES).order_by("pk").values_list("pk", flat=True)
    )
    dead_subscriptions = []
    for start in range(0, len(not_live), SUBSCRIPTIONS_PER_QUERY):
        chunk = not_live[start : start + SUBSCRIPTIONS_PER_QUERY]
        dead_subscriptions += approved.filter(subscription__in=chunk).order_by().values_list("claim_id", "pk")
    live_workload = Subscription.objects.filter(
        tenant=OuterRef("claim__tenant"),
        status__in=LIVE_SUBSCRIPTION_STATUSES,
        product__solution_area=SolutionArea.MICROSOFT_365,
        product__workloads=OuterRef("workload"),
    )
    dead_workloads = approved.filter(~Exists(live_workload), workload__isnull=False)
    return [
        *sorted(dead_subscriptions, key=lambda pair: pair[1]),
        *dead_workloads.order_by("pk").values_list("claim_id", "pk"),
    ]


def subscriptions_check(*, now: datetime.datetime | None = None) -> int:
    """Section 5, step 8: an approved item whose subscription is no longer active or in
    grace (or, for Microsoft 365, whose workload no live subscription carries) ends; the
    claim ends with its last item. Legacy Dynamics 365 and Power BI associations end with
    their subscription. Returns the number of items ended.

    Approved claims are handled in sets of `BATCH` (`_claims_items_end_batch`); any other
    claim, or one locked at this moment, one at a time (`_claim_items_end`)."""
    now = now or timezone.now()
    by_claim: dict[int, list[int]] = {}
    for claim_id, item_id in _items_no_longer_live():
        by_claim.setdefault(claim_id, []).append(item_id)
    claim_ids = sorted(by_claim)
    sets = [claim_ids[start : start + BATCH] for start in range(0, len(claim_ids), BATCH)]
    ended = _in_sets(functools.partial(_claims_items_end_set, by_claim=by_claim, now=now), sets)
    LegacyAssociation.objects.filter(subscription__isnull=False, ended_at__isnull=True).exclude(
        subscription__status__in=LIVE_SUBSCRIPTION_STATUSES
    ).update(ended_at=now)
    return ended


def _claims_items_end_set(claim_ids: list[int], *, by_claim: dict[int, list[int]], now: datetime.datetime) -> int:
    def end_together(claim_ids: list[int]) -> tuple[int, list[int]]:
        return _claims_items_end_batch({claim_id: by_claim[claim_id] for claim_id in claim_ids}, now=now)

    def end_alone(claim_id: int) -> int:
        return _claim_items_end(claim_id, by_claim[claim_id], now=now)

    return _decide_set(claim_ids, end_together, end_alone, job="ended")


def _claims_items_end_batch(item_ids_by_claim: dict[int, list[int]], *, now: datetime.datetime):
    """End, in one transaction, the given items of the approved claims among these, as
    `_claim_items_end` would: one UPDATE of the items, one INSERT of the `item_ended`
    events, and the claims left without an approved item Ended in one UPDATE.

    Returns (items ended, IDs left to `_claim_items_end`): claims another transaction holds
    and claims in any other status (their items' summary needs `settle`)."""
    claim_ids = list(item_ids_by_claim)
    with transaction.atomic():
        claims = list(
            Claim.objects.select_for_update(skip_locked=True)
            .only(*CLAIM_FIELDS_FOR_SETS)
            .filter(pk__in=claim_ids, status=ClaimStatus.APPROVED)
            .order_by("pk")
        )
        locked = {claim.pk for claim in claims}
        one_by_one = [claim_id for claim_id in claim_ids if claim_id not in locked]
        items = _items_by_claim(sorted(locked))
        ending = {claim_id: set(item_ids) for claim_id, item_ids in item_ids_by_claim.items()}
        dead = {
            item.pk
            for claim in claims
            for item in items[claim.pk]
            if item.pk in ending[claim.pk] and item.outcome == ItemOutcome.APPROVED
        }
        items_move_from(sorted(dead), ItemOutcome.APPROVED, ItemOutcome.ENDED, now=now)
        touched = {claim.pk for claim in claims if ending[claim.pk] & dead}
        reason = _("The subscription is no longer active or in grace.")
        record_event_rows(
            (claim, EventAction.ITEM_ENDED, "", "", reason, {"items": item_ids_by_claim[claim.pk]})
            for claim in claims
            if claim.pk in touched
        )
        # `settle`'s rule for an approved claim: Ended once none of its items is approved.
        last = [
            claim
            for claim in claims
            if claim.pk in touched
            and not any(item.outcome == ItemOutcome.APPROVED and item.pk not in dead for item in items[claim.pk])
        ]
        transition_many(last, ClaimStatus.ENDED, action=EventAction.ENDED, reason=reason)
    return len(dead), one_by_one


def _claim_items_end(claim_id: int, item_ids: list[int], *, now: datetime.datetime) -> int:
    with transaction.atomic():
        claim = lock_claim(claim_id)
        items = item_move(
            ClaimItem.objects.filter(pk__in=item_ids, outcome=ItemOutcome.APPROVED).select_related(
                "product", "subscription", "workload"
            ),
            ItemOutcome.ENDED,
            now=now,
        )
        if not items:
            return 0
        record_event(
            claim,
            action=EventAction.ITEM_ENDED,
            reason=_("The subscription is no longer active or in grace."),
            data={"items": item_ids},
        )
        settle(claim, action=EventAction.ENDED, reason=_("The subscription is no longer active or in grace."))
    return len(items)


# --- One pass of every periodic job ----------------------------------------------------


def claims_validate_submitted() -> int:
    """Validate every claim left in Submitted (the broker was down, a worker died). A claim
    that fails (a tenant's time zone no longer exists, say) is logged and stays Submitted for
    the reviewers; the others go on. Returns the claims that moved out of Submitted."""
    ids = list(Claim.objects.filter(status=ClaimStatus.SUBMITTED).order_by("pk").values_list("pk", flat=True))
    return each_on_its_own(
        ids,
        lambda claim_id: claim_validate(claim_id=claim_id) is not None,
        failure="Periodic job validated: claim %s could not be validated; it stays Submitted.",
        log=logger,
    )
