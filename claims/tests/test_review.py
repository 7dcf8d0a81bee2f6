"""The reviewers' services (PRODUCT.md section 5 steps 5 and 7, seed 003 "Competing claims")."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone, translation

from claims import lifecycle, review, selectors, services
from claims.events import EventAction
from claims.models import Activity, Claim, ClaimEvent, ClaimItem, ClaimStatus, Comment, ItemOutcome, RejectionReason
from claims.selectors import review as review_selectors
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory, WorkloadItemFactory
from cpor.models import Program
from cpor.tests.factories import MpnIdFactory, UserFactory
from tenants.models import LegacyAssociation
from tenants.tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db

# What a reviewer must write to approve a partner in arbitration; every partner reads it.
RATIONALE = "The signed statement of work is the most recent."


# --- Helpers (also used by test_admin) ------------------------------------------------------------


def make_reviewer(**fields):
    user = UserFactory(is_staff=True, **fields)
    user.groups.add(Group.objects.get_or_create(name="Reviewers")[0])
    return user


def put_under_review(claim, *, window_closed=False, review_due_at=None):
    """Submit and validate a claim the way the pipeline does, through the transition table."""
    now = timezone.now()
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        locked.submitted_at = now - timedelta(days=6)
        lifecycle.transition(locked, ClaimStatus.SUBMITTED, action="submitted", fields=["submitted_at"])
        locked.notified_at = now - timedelta(days=6)
        locked.opt_out_deadline = now - timedelta(hours=1) if window_closed else now + timedelta(days=3)
        locked.review_due_at = review_due_at or now + timedelta(days=1)
        lifecycle.transition(
            locked,
            ClaimStatus.UNDER_REVIEW,
            action="validated",
            fields=["notified_at", "opt_out_deadline", "review_due_at"],
        )
    claim.refresh_from_db()
    return claim


def put_approved(claim):
    """A claim whose items (created approved) the timer has approved."""
    put_under_review(claim, window_closed=True)
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.APPROVED, action="approved")
    claim.refresh_from_db()
    return claim


def competing_claims(count=2, *, window_closed=True, subscription=None, program=Program.OSU_BIZAPPS):
    """`count` partners' claims under review on the same subscription, each item contested."""
    subscription = subscription or SubscriptionFactory()
    items = []
    for _ in range(count):
        claim = ClaimFactory(tenant=subscription.tenant)
        items.append(
            SubscriptionItemFactory(
                claim=claim, subscription=subscription, program=program, outcome=ItemOutcome.CONTESTED
            )
        )
        put_under_review(claim, window_closed=window_closed)
    return items


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()
    return objects


def snapshot(*claims):
    """What a refused action must leave untouched."""
    return [
        (
            claim.pk,
            type(claim).objects.get(pk=claim.pk).status,
            list(ClaimItem.objects.filter(claim=claim).order_by("pk").values_list("outcome", flat=True)),
            ClaimEvent.objects.filter(claim=claim).count(),
            Comment.objects.filter(claim=claim).count(),
        )
        for claim in claims
    ]


@pytest.fixture
def reviewer():
    return make_reviewer()


@pytest.fixture
def claim():
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim)


# --- Who may review -------------------------------------------------------------------------------


def test_only_reviewers_may_use_the_review_services(claim, incentives_admin):
    other_staff = UserFactory(is_staff=True)
    before = snapshot(claim)
    for user in (incentives_admin, other_staff):
        with pytest.raises(PermissionDenied):
            review.claim_comment_add_by_reviewer(reviewer=user, claim_id=claim.pk, body="Hi", internal=False)
        with pytest.raises(PermissionDenied):
            review.claim_request_information(reviewer=user, claim_id=claim.pk, message="More")
        with pytest.raises(PermissionDenied):
            review.claim_reject(reviewer=user, claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)
        with pytest.raises(PermissionDenied):
            review.item_decide(reviewer=user, item_id=claim.items.get().pk, approve=True, note=RATIONALE)
        with pytest.raises(PermissionDenied):
            review_selectors.claims_for_review(reviewer=user)
    assert snapshot(claim) == before


def test_a_superuser_counts_as_a_reviewer(claim):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    review.claim_comment_add_by_reviewer(reviewer=superuser, claim_id=claim.pk, body="Looks fine", internal=True)
    assert claim.comments.get().author == superuser


def test_drafts_are_invisible_to_reviewers(reviewer):
    draft = ClaimFactory()
    with pytest.raises(Http404):
        review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=draft.pk, body="Hi", internal=False)
    with pytest.raises(Http404):
        review.claim_request_information(reviewer=reviewer, claim_id=draft.pk, message="More")
    assert not draft.comments.exists()
    assert draft.pk not in review_selectors.claims_for_review(reviewer=reviewer).values_list("pk", flat=True)


def test_a_missing_claim_is_not_found(reviewer):
    with pytest.raises(Http404):
        review.claim_reject(reviewer=reviewer, claim_id=999999, reason=RejectionReason.NO_RESPONSE)


# --- Comments and internal notes ------------------------------------------------------------------


def test_reviewer_comment_is_shown_to_the_partner_and_logged(reviewer, claim):
    partner_user = _partner_user_of(claim)
    comment = review.claim_comment_add_by_reviewer(
        reviewer=reviewer, claim_id=claim.pk, body="  Please confirm the signature date.  ", internal=False
    )
    assert (comment.body, comment.is_internal, comment.author) == (
        "Please confirm the signature date.",
        False,
        reviewer,
    )
    assert list(selectors.comments_visible_to(partner_user, claim)) == [comment]
    event = claim.events.get(action=EventAction.REVIEWER_COMMENT)
    assert (event.actor, event.data) == (reviewer, {"comment": comment.pk, "internal": False})
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW


def test_internal_note_is_marked_internal_and_hidden_from_the_partner(reviewer, claim):
    partner_user = _partner_user_of(claim)
    note = review.claim_comment_add_by_reviewer(
        reviewer=reviewer, claim_id=claim.pk, body="PoE signed by a reseller, check with the other team.", internal=True
    )
    assert note.is_internal
    assert not selectors.comments_visible_to(partner_user, claim).exists()
    assert list(selectors.comments_visible_to(reviewer, claim)) == [note]
    event = claim.events.get(action=EventAction.REVIEWER_COMMENT)
    assert event.data == {"comment": note.pk, "internal": True}


def test_an_empty_comment_is_refused_and_nothing_changes(reviewer, claim):
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError):
        review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="   ", internal=False)
    assert snapshot(claim) == before


def test_reviewers_may_comment_on_a_decided_claim(reviewer):
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.APPROVED)
    put_approved(claim)
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="FYI", internal=False)
    assert claim.comments.count() == 1


# --- Request information --------------------------------------------------------------------------


def test_request_information_asks_the_partner_in_a_comment_and_waits_for_them(reviewer, claim):
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="Upload the signed SOW.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ACTION_REQUIRED
    comment = claim.comments.get()
    assert (comment.body, comment.is_internal, comment.author) == ("Upload the signed SOW.", False, reviewer)
    event = claim.events.get(action=EventAction.INFORMATION_REQUESTED)
    assert (event.actor, event.from_status, event.to_status, event.reason, event.data) == (
        reviewer,
        ClaimStatus.UNDER_REVIEW,
        ClaimStatus.ACTION_REQUIRED,
        "Upload the signed SOW.",
        {"comment": comment.pk},
    )


def test_the_partner_answer_puts_the_claim_back_under_review(reviewer, claim):
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="Who signed?")
    services.claim_add_comment(user=_partner_user_of(claim), claim_id=claim.pk, body="The CIO did.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW


def test_request_information_twice_is_refused_until_the_partner_answers(reviewer, claim):
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="Who signed?")
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError, match="not answered"):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="Any news?")
    assert snapshot(claim) == before


@pytest.mark.parametrize("status", [ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.REJECTED])
def test_request_information_outside_review_is_refused_and_nothing_changes(reviewer, status):
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.APPROVED if status == ClaimStatus.APPROVED else "pending")
    _move_to(claim, status)
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="More please")
    assert snapshot(claim) == before


def test_request_information_needs_a_message(reviewer, claim):
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message=" ")
    assert snapshot(claim) == before


# --- Rejection ------------------------------------------------------------------------------------


def test_reject_rejects_every_undecided_item_and_the_claim_with_its_reason(reviewer):
    subscription = SubscriptionFactory()
    claim = ClaimFactory(tenant=subscription.tenant)
    pending = SubscriptionItemFactory(claim=claim, subscription=subscription)
    contested = SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.CONTESTED)
    put_under_review(claim)

    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)

    claim.refresh_from_db()
    refreshed(pending, contested)
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, RejectionReason.INSUFFICIENT_POE)
    assert claim.decided_at is not None
    assert {pending.outcome, contested.outcome} == {ItemOutcome.REJECTED}
    assert pending.decided_at is not None
    event = claim.events.get(action="rejected")
    assert (event.actor, event.from_status, event.to_status) == (reviewer, ClaimStatus.UNDER_REVIEW, "rejected")
    assert event.data["rejection_reason"] == RejectionReason.INSUFFICIENT_POE
    assert event.reason == "Insufficient proof of execution"
    assert not claim.comments.exists()


def test_a_claim_waiting_for_the_partner_can_be_rejected_for_no_response(reviewer, claim):
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="Upload the SOW.")
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.NO_RESPONSE)
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, RejectionReason.NO_RESPONSE)
    assert claim.events.get(action="rejected").from_status == ClaimStatus.ACTION_REQUIRED


def test_reject_for_other_reason_needs_a_note(reviewer, claim):
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError, match="note is required"):
        review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.OTHER, note="  ")
    assert snapshot(claim) == before


def test_the_rejection_note_is_told_to_the_partner(reviewer, claim):
    review.claim_reject(
        reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.OTHER, note="The SOW is for another tenant."
    )
    claim.refresh_from_db()
    assert claim.rejection_reason == RejectionReason.OTHER
    comment = claim.comments.get()
    assert not comment.is_internal
    assert "The SOW is for another tenant." in comment.body
    assert claim.events.get(action="rejected").reason == "Other: The SOW is for another tenant."


@pytest.mark.parametrize("reason", ["", "bogus", RejectionReason.LOST_ARBITRATION])
def test_reject_needs_one_of_the_reviewers_reasons(reviewer, claim, reason):
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError):
        review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=reason, note="x")
    assert snapshot(claim) == before


@pytest.mark.parametrize(
    "status", [ClaimStatus.SUBMITTED, ClaimStatus.APPROVED, ClaimStatus.REJECTED, ClaimStatus.VALIDATION_FAILED]
)
def test_reject_outside_review_is_refused_and_nothing_changes(reviewer, status):
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.APPROVED if status == ClaimStatus.APPROVED else "pending")
    _move_to(claim, status)
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError):
        review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.PARTNER_REQUEST)
    assert snapshot(claim) == before


def test_reject_keeps_an_item_already_won_in_arbitration_and_the_claim_is_approved_for_it(reviewer):
    winner, loser = competing_claims(window_closed=True)
    other = SubscriptionItemFactory(claim=winner.claim)
    review.claim_request_information(reviewer=reviewer, claim_id=winner.claim_id, message="And the other one?")
    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)
    assert winner.claim.items.get(pk=winner.pk).outcome == ItemOutcome.APPROVED

    review.claim_reject(reviewer=reviewer, claim_id=winner.claim_id, reason=RejectionReason.MISSING_PRODUCTS)

    claim = winner.claim
    claim.refresh_from_db()
    refreshed(winner, other)
    assert (winner.outcome, other.outcome) == (ItemOutcome.APPROVED, ItemOutcome.REJECTED)
    assert claim.status == ClaimStatus.APPROVED
    assert claim.events.filter(action=EventAction.ITEMS_REJECTED).exists()


# --- Arbitration ----------------------------------------------------------------------------------


def test_arbitration_winner_is_approved_at_once_when_its_window_has_closed(reviewer):
    winner, loser = competing_claims(window_closed=True)

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note="Stronger PoE")

    refreshed(winner, loser, winner.claim, loser.claim)
    assert winner.outcome == ItemOutcome.APPROVED and winner.decided_at is not None
    assert winner.claim.status == ClaimStatus.APPROVED
    assert winner.claim.events.filter(action=EventAction.ITEM_APPROVED, actor=reviewer, reason="Stronger PoE").exists()
    assert winner.claim.events.filter(action="approved", to_status=ClaimStatus.APPROVED).exists()
    told = winner.claim.comments.get().body
    assert "approved" in told and "Stronger PoE" in told


def test_arbitration_loser_is_rejected_and_told_in_the_comments(reviewer):
    winner, loser = competing_claims(window_closed=True)

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note="Their SOW is signed by the CIO.")

    refreshed(loser, loser.claim)
    assert loser.outcome == ItemOutcome.REJECTED
    assert (loser.claim.status, loser.claim.rejection_reason) == (
        ClaimStatus.REJECTED,
        RejectionReason.LOST_ARBITRATION,
    )
    event = loser.claim.events.get(action=EventAction.ITEM_REJECTED)
    assert event.data["rejection_reason"] == RejectionReason.LOST_ARBITRATION
    assert event.data["winner_claim"] == winner.claim_id
    comment = loser.claim.comments.get()
    assert not comment.is_internal and "chose the other partner" in comment.body
    # Every partner reads the reviewer's rationale; nothing the system writes names the winner.
    assert "Their SOW is signed by the CIO." in comment.body
    told = [
        comment.body.replace("Their SOW is signed by the CIO.", ""),
        *loser.claim.events.values_list("reason", flat=True),
    ]
    assert not any(winner.claim.partner.name in text for text in told)


def test_arbitration_winner_waits_for_the_opt_out_window_to_close(reviewer):
    winner, loser = competing_claims(window_closed=False)

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)

    refreshed(winner, loser, winner.claim, loser.claim)
    assert winner.outcome == ItemOutcome.PENDING and winner.decided_at is None
    assert winner.claim.status == ClaimStatus.UNDER_REVIEW
    assert winner.claim.events.filter(action=EventAction.ARBITRATION_WON).exists()
    assert "opt-out window closes" in winner.claim.comments.get().body
    assert loser.outcome == ItemOutcome.REJECTED
    assert loser.claim.status == ClaimStatus.REJECTED


def test_arbitration_rejects_every_other_contender(reviewer):
    winner, *losers = competing_claims(3)

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)

    assert {item.outcome for item in refreshed(*losers)} == {ItemOutcome.REJECTED}


def test_arbitration_ends_the_previous_holder_and_keeps_one_holder(reviewer):
    subscription = SubscriptionFactory()
    holder_claim = ClaimFactory(tenant=subscription.tenant)
    holder = SubscriptionItemFactory(claim=holder_claim, subscription=subscription, outcome=ItemOutcome.APPROVED)
    put_approved(holder_claim)
    (challenger,) = competing_claims(1, subscription=subscription, window_closed=True)

    review.item_decide(reviewer=reviewer, item_id=challenger.pk, approve=True, note=RATIONALE)

    refreshed(holder, challenger, holder_claim)
    assert holder.outcome == ItemOutcome.ENDED
    assert challenger.outcome == ItemOutcome.APPROVED
    assert holder_claim.status == ClaimStatus.ENDED
    assert holder_claim.events.filter(action=EventAction.ITEM_ENDED).exists()
    assert holder_claim.events.filter(action="ended", to_status=ClaimStatus.ENDED).exists()
    assert "has ended" in holder_claim.comments.get().body
    assert list(
        ClaimItem.objects.filter(item_key=challenger.item_key, program=challenger.program, outcome="approved")
    ) == [challenger]


def test_arbitration_for_an_open_window_still_ends_the_holder_so_the_timer_can_approve(reviewer):
    subscription = SubscriptionFactory()
    holder_claim = ClaimFactory(tenant=subscription.tenant)
    holder = SubscriptionItemFactory(claim=holder_claim, subscription=subscription, outcome=ItemOutcome.APPROVED)
    put_approved(holder_claim)
    (challenger,) = competing_claims(1, subscription=subscription, window_closed=False)

    review.item_decide(reviewer=reviewer, item_id=challenger.pk, approve=True, note=RATIONALE)

    refreshed(holder, challenger)
    assert (holder.outcome, challenger.outcome) == (ItemOutcome.ENDED, ItemOutcome.PENDING)


def test_the_holder_keeps_other_items_and_stays_approved(reviewer):
    subscription = SubscriptionFactory()
    holder_claim = ClaimFactory(tenant=subscription.tenant)
    holder = SubscriptionItemFactory(claim=holder_claim, subscription=subscription, outcome=ItemOutcome.APPROVED)
    kept = SubscriptionItemFactory(claim=holder_claim, outcome=ItemOutcome.APPROVED)
    put_approved(holder_claim)
    (challenger,) = competing_claims(1, subscription=subscription)

    review.item_decide(reviewer=reviewer, item_id=challenger.pk, approve=True, note=RATIONALE)

    refreshed(holder, kept, holder_claim)
    assert (holder.outcome, kept.outcome, holder_claim.status) == (
        ItemOutcome.ENDED,
        ItemOutcome.APPROVED,
        ClaimStatus.APPROVED,
    )


def test_arbitration_ends_another_partners_legacy_association(reviewer):
    subscription = SubscriptionFactory()
    (challenger,) = competing_claims(1, subscription=subscription)
    other_mpn = MpnIdFactory()
    legacy = LegacyAssociation.objects.create(
        partner=other_mpn.partner,
        mpn=other_mpn,
        tenant=subscription.tenant,
        subscription=subscription,
        since="2020-01-01",
    )
    own = LegacyAssociation.objects.create(
        partner=challenger.claim.partner,
        mpn=challenger.claim.mpn,
        tenant=subscription.tenant,
        subscription=subscription,
        since="2020-01-01",
    )

    review.item_decide(reviewer=reviewer, item_id=challenger.pk, approve=True, note=RATIONALE)

    refreshed(legacy, own, challenger)
    assert legacy.ended_at is not None
    assert own.ended_at is None
    assert challenger.claim.events.get(action=EventAction.ITEM_APPROVED).data["legacy_ended"] == [legacy.pk]


def test_arbitration_of_a_workload_ends_the_legacy_microsoft_365_association(reviewer):
    first = WorkloadItemFactory(outcome=ItemOutcome.CONTESTED)
    claim = first.claim
    second_claim = ClaimFactory(tenant=claim.tenant, solution_area=claim.solution_area, activity=Activity.USAGE)
    second = WorkloadItemFactory(
        claim=second_claim, workload=first.workload, product=first.product, outcome=ItemOutcome.CONTESTED
    )
    put_under_review(claim, window_closed=True)
    put_under_review(second_claim, window_closed=True)
    other_mpn = MpnIdFactory()
    legacy = LegacyAssociation.objects.create(
        partner=other_mpn.partner, mpn=other_mpn, tenant=claim.tenant, workload=first.workload, since="2019-06-01"
    )

    review.item_decide(reviewer=reviewer, item_id=second.pk, approve=True, note=RATIONALE)

    refreshed(first, second, legacy)
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.APPROVED)
    assert legacy.ended_at is not None


def test_arbitration_touches_only_the_same_programme(reviewer):
    subscription = SubscriptionFactory()
    winner, loser = competing_claims(subscription=subscription)
    presales = SubscriptionItemFactory(
        claim=loser.claim, subscription=subscription, program=Program.OSA_SELL, outcome=ItemOutcome.CONTESTED
    )

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)

    refreshed(loser, presales, loser.claim)
    assert (loser.outcome, presales.outcome) == (ItemOutcome.REJECTED, ItemOutcome.CONTESTED)
    assert loser.claim.status == ClaimStatus.UNDER_REVIEW


def test_the_winners_other_pending_items_keep_the_claim_under_review(reviewer):
    winner, loser = competing_claims(window_closed=True)
    SubscriptionItemFactory(claim=winner.claim)

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)

    refreshed(winner, winner.claim)
    assert winner.outcome == ItemOutcome.APPROVED
    assert winner.claim.status == ClaimStatus.UNDER_REVIEW


def test_arbitration_leaves_a_claim_not_yet_validated_to_the_pipeline(reviewer):
    subscription = SubscriptionFactory()
    winner, loser = competing_claims(subscription=subscription)
    late_claim = ClaimFactory(tenant=subscription.tenant)
    late = SubscriptionItemFactory(claim=late_claim, subscription=subscription)
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(late_claim.pk), ClaimStatus.SUBMITTED, action="submitted")

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)

    refreshed(late, late_claim)
    assert (late.outcome, late_claim.status) == (ItemOutcome.PENDING, ClaimStatus.SUBMITTED)


def test_rejecting_a_contested_item_rejects_only_that_item(reviewer):
    first, second = competing_claims()

    review.item_decide(reviewer=reviewer, item_id=first.pk, approve=False, note="PoE predates the tenant.")

    refreshed(first, second, first.claim, second.claim)
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.CONTESTED)
    assert (first.claim.status, first.claim.rejection_reason) == (
        ClaimStatus.REJECTED,
        RejectionReason.LOST_ARBITRATION,
    )
    assert second.claim.status == ClaimStatus.UNDER_REVIEW
    assert "PoE predates the tenant." in first.claim.comments.get().body
    assert not second.claim.comments.exists()


def test_rejecting_the_last_contender_with_no_rival_left_says_other(reviewer):
    first, second = competing_claims()
    review.item_decide(reviewer=reviewer, item_id=first.pk, approve=False)
    review.item_decide(reviewer=reviewer, item_id=second.pk, approve=False, note="Neither PoE holds.")
    second.claim.refresh_from_db()
    assert (second.claim.status, second.claim.rejection_reason) == (ClaimStatus.REJECTED, RejectionReason.OTHER)


def test_deciding_an_item_that_is_not_contested_is_refused_and_nothing_changes(reviewer, claim):
    item = claim.items.get()
    before = snapshot(claim)
    with pytest.raises(lifecycle.ClaimError, match="no longer waiting for arbitration"):
        review.item_decide(reviewer=reviewer, item_id=item.pk, approve=True, note=RATIONALE)
    assert snapshot(claim) == before


def test_a_decided_arbitration_cannot_be_decided_again(reviewer):
    winner, loser = competing_claims()
    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)
    before = snapshot(winner.claim, loser.claim)
    with pytest.raises(lifecycle.ClaimError):
        review.item_decide(reviewer=reviewer, item_id=loser.pk, approve=True, note=RATIONALE)
    assert snapshot(winner.claim, loser.claim) == before


def test_an_item_of_a_claim_that_left_review_cannot_be_decided(reviewer):
    winner, loser = competing_claims()
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(winner.claim_id), ClaimStatus.OPTED_OUT, action="opted_out")
    before = snapshot(winner.claim, loser.claim)
    with pytest.raises(lifecycle.ClaimError):
        review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)
    assert snapshot(winner.claim, loser.claim) == before


def test_an_item_of_a_draft_is_not_found(reviewer):
    item = SubscriptionItemFactory(outcome=ItemOutcome.CONTESTED)
    with pytest.raises(Http404):
        review.item_decide(reviewer=reviewer, item_id=item.pk, approve=True, note=RATIONALE)
    with pytest.raises(Http404):
        review_selectors.arbitration_for(reviewer=reviewer, item_id=item.pk)


# --- Reads ----------------------------------------------------------------------------------------


def test_review_list_flags_overdue_reviews_and_contested_claims(reviewer):
    late = ClaimFactory()
    SubscriptionItemFactory(claim=late)
    put_under_review(late, review_due_at=timezone.now() - timedelta(hours=1))
    on_time = ClaimFactory()
    SubscriptionItemFactory(claim=on_time)
    put_under_review(on_time)
    contested, _ = competing_claims()

    rows = {claim.pk: claim for claim in review_selectors.claims_for_review(reviewer=reviewer)}

    assert (rows[late.pk].is_overdue, rows[on_time.pk].is_overdue) == (True, False)
    assert (rows[contested.claim_id].has_contested, rows[on_time.pk].has_contested) == (True, False)
    assert review_selectors.is_review_overdue(rows[late.pk])
    assert not review_selectors.is_review_overdue(rows[on_time.pk])


def test_a_decided_claim_past_its_review_date_is_not_overdue(reviewer):
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim)
    put_under_review(claim, review_due_at=timezone.now() - timedelta(days=1))
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.PARTNER_REQUEST)
    row = review_selectors.claims_for_review(reviewer=reviewer).get(pk=claim.pk)
    assert not row.is_overdue


def test_arbitration_shows_holder_contenders_and_decided_claims(reviewer):
    subscription = SubscriptionFactory()
    holder_claim = ClaimFactory(tenant=subscription.tenant)
    holder = SubscriptionItemFactory(claim=holder_claim, subscription=subscription, outcome=ItemOutcome.APPROVED)
    put_approved(holder_claim)
    first, second, third = competing_claims(3, subscription=subscription)
    review.item_decide(reviewer=reviewer, item_id=third.pk, approve=False)

    arbitration = review_selectors.arbitration_for(reviewer=reviewer, item_id=first.pk)

    assert arbitration.holders == [holder]
    assert {entry.pk for entry in arbitration.contenders} == {first.pk, second.pk}
    assert [entry.pk for entry in arbitration.decided] == [third.pk]
    assert arbitration.decidable_ids == {first.pk, second.pk}


def test_arbitration_reads_a_constant_number_of_queries(reviewer, django_assert_max_num_queries):
    items = competing_claims(6)
    with django_assert_max_num_queries(8):
        arbitration = review_selectors.arbitration_for(reviewer=reviewer, item_id=items[0].pk)
        for entry in arbitration.claim_items:
            _ = (entry.label, entry.claim.partner.name, entry.claim.mpn.mpn_id)
            list(entry.claim.proofs.all())
            [comment.author for comment in entry.claim.comments.all()]


# --- Every claim on the item may win, with a rationale every partner reads -------------------------


def holder_and_challengers(count=1, *, window_closed=True):
    """A claim approved on a subscription, and `count` other partners' claims contesting it."""
    subscription = SubscriptionFactory()
    holder_claim = ClaimFactory(tenant=subscription.tenant)
    holder = SubscriptionItemFactory(claim=holder_claim, subscription=subscription, outcome=ItemOutcome.APPROVED)
    put_approved(holder_claim)
    return holder, competing_claims(count, subscription=subscription, window_closed=window_closed)


def legacy_holder_of(subscription, mpn=None):
    mpn = mpn or MpnIdFactory()
    return LegacyAssociation.objects.create(
        partner=mpn.partner, mpn=mpn, tenant=subscription.tenant, subscription=subscription, since="2020-01-01"
    )


@pytest.mark.parametrize(("language", "words"), [("en", "Write the rationale"), ("fr", "Rédigez la justification")])
def test_approving_in_arbitration_needs_a_rationale_and_without_one_nothing_changes(reviewer, language, words):
    winner, loser = competing_claims()
    legacy = legacy_holder_of(winner.subscription)
    before = snapshot(winner.claim, loser.claim)
    with translation.override(language):
        with pytest.raises(lifecycle.ClaimError, match=words):
            review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note="   ")
        with pytest.raises(lifecycle.ClaimError, match=words):
            review.legacy_holder_approve(reviewer=reviewer, item_id=winner.pk, legacy_id=legacy.pk, rationale="")
    assert snapshot(winner.claim, loser.claim) == before
    legacy.refresh_from_db()
    assert legacy.ended_at is None


def test_every_partner_is_told_in_their_claims_comments_with_the_rationale(reviewer):
    holder, (winner, loser) = holder_and_challengers(2)

    review.item_decide(reviewer=reviewer, item_id=winner.pk, approve=True, note=RATIONALE)

    for claim in (holder.claim, winner.claim, loser.claim):
        (comment,) = claim.comments.filter(is_internal=False)
        assert RATIONALE in comment.body
    assert "approved another partner" in holder.claim.comments.get().body
    assert "chose the other partner" in loser.claim.comments.get().body
    assert "approved" in winner.claim.comments.get().body


def test_the_current_holder_can_be_approved_and_keeps_its_item_while_every_contender_loses(reviewer):
    holder, (first, second) = holder_and_challengers(2)

    review.item_decide(reviewer=reviewer, item_id=holder.pk, approve=True, note=RATIONALE)

    refreshed(holder, first, second, holder.claim, first.claim, second.claim)
    assert (holder.outcome, holder.claim.status) == (ItemOutcome.APPROVED, ClaimStatus.APPROVED)
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.REJECTED)
    assert {first.claim.rejection_reason, second.claim.rejection_reason} == {RejectionReason.LOST_ARBITRATION}
    event = holder.claim.events.get(action=EventAction.ARBITRATION_WON)
    assert (event.reason, sorted(event.data["rejected_items"])) == (RATIONALE, sorted([first.pk, second.pk]))
    assert "confirmed" in holder.claim.comments.get().body


def test_a_holder_with_nobody_contesting_it_cannot_be_approved_again(reviewer):
    holder, (challenger,) = holder_and_challengers(1)
    review.item_decide(reviewer=reviewer, item_id=challenger.pk, approve=False)
    before = snapshot(holder.claim, challenger.claim)
    with pytest.raises(lifecycle.ClaimError, match="no longer waiting for arbitration"):
        review.item_decide(reviewer=reviewer, item_id=holder.pk, approve=True, note=RATIONALE)
    assert snapshot(holder.claim, challenger.claim) == before


def test_a_legacy_holder_can_be_approved_every_contender_loses_and_its_association_stands(reviewer):
    first, second = competing_claims()
    legacy = legacy_holder_of(first.subscription)
    other_legacy = legacy_holder_of(first.subscription)

    review.legacy_holder_approve(reviewer=reviewer, item_id=first.pk, legacy_id=legacy.pk, rationale=RATIONALE)

    refreshed(first, second, first.claim, second.claim, legacy, other_legacy)
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.REJECTED)
    assert (first.claim.status, first.claim.rejection_reason) == (
        ClaimStatus.REJECTED,
        RejectionReason.LOST_ARBITRATION,
    )
    assert legacy.ended_at is None and other_legacy.ended_at is not None
    assert first.claim.events.get(action=EventAction.ITEM_REJECTED).data["winner_legacy"] == legacy.pk
    assert RATIONALE in second.claim.comments.get().body
    assert legacy.partner.name not in second.claim.comments.get().body


def test_approving_a_legacy_holder_ends_a_claims_holder_too(reviewer):
    holder, (challenger,) = holder_and_challengers(1)
    legacy = legacy_holder_of(holder.subscription)

    review.legacy_holder_approve(reviewer=reviewer, item_id=challenger.pk, legacy_id=legacy.pk, rationale=RATIONALE)

    refreshed(holder, challenger, holder.claim)
    assert (holder.outcome, challenger.outcome, holder.claim.status) == (
        ItemOutcome.ENDED,
        ItemOutcome.REJECTED,
        ClaimStatus.ENDED,
    )


def test_a_legacy_holder_of_another_item_or_with_nothing_in_arbitration_is_refused(reviewer):
    first, second = competing_claims()
    elsewhere = legacy_holder_of(SubscriptionFactory())
    with pytest.raises(Http404):
        review.legacy_holder_approve(reviewer=reviewer, item_id=first.pk, legacy_id=elsewhere.pk, rationale=RATIONALE)
    legacy = legacy_holder_of(first.subscription)
    review.item_decide(reviewer=reviewer, item_id=first.pk, approve=False)
    review.item_decide(reviewer=reviewer, item_id=second.pk, approve=False)
    before = snapshot(first.claim, second.claim)
    with pytest.raises(lifecycle.ClaimError, match="no longer waiting for arbitration"):
        review.legacy_holder_approve(reviewer=reviewer, item_id=first.pk, legacy_id=legacy.pk, rationale=RATIONALE)
    assert snapshot(first.claim, second.claim) == before


def test_only_reviewers_may_approve_a_legacy_holder(incentives_admin):
    first, _ = competing_claims()
    legacy = legacy_holder_of(first.subscription)
    with pytest.raises(PermissionDenied):
        review.legacy_holder_approve(
            reviewer=incentives_admin, item_id=first.pk, legacy_id=legacy.pk, rationale=RATIONALE
        )
    legacy.refresh_from_db()
    assert legacy.ended_at is None


def test_approving_a_legacy_holder_leaves_a_claim_not_yet_validated_to_the_pipeline(reviewer):
    first, second = competing_claims()
    legacy = legacy_holder_of(first.subscription)
    late_claim = ClaimFactory(tenant=first.subscription.tenant)
    late = SubscriptionItemFactory(claim=late_claim, subscription=first.subscription)
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(late_claim.pk), ClaimStatus.SUBMITTED, action="submitted")

    review.legacy_holder_approve(reviewer=reviewer, item_id=late.pk, legacy_id=legacy.pk, rationale=RATIONALE)

    refreshed(first, second, late, late_claim)
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.REJECTED)
    assert (late.outcome, late_claim.status) == (ItemOutcome.PENDING, ClaimStatus.SUBMITTED)
    assert not late_claim.comments.exists()


def test_fabrikam_then_northwind_both_go_to_arbitration_and_either_may_win(reviewer):
    """Issue 7: Fabrikam files, Northwind files a minute later; both items are contested and
    the comparison offers "Approve this partner" for each."""
    from claims import pipeline

    subscription = SubscriptionFactory()
    claims = []
    for name in ("Fabrikam", "Northwind"):
        claim = ClaimFactory(tenant=subscription.tenant, name=name)
        SubscriptionItemFactory(claim=claim, subscription=subscription)
        with transaction.atomic():
            locked = lifecycle.lock_claim(claim.pk)
            locked.submitted_at = timezone.now()
            lifecycle.transition(locked, ClaimStatus.SUBMITTED, action="submitted", fields=["submitted_at"])
        pipeline.claim_validate(claim_id=claim.pk)
        claims.append(claim)
    fabrikam, northwind = (claim.items.get() for claim in claims)

    arbitration = review_selectors.arbitration_for(reviewer=reviewer, item_id=northwind.pk)

    assert (fabrikam.outcome, northwind.outcome) == (ItemOutcome.CONTESTED, ItemOutcome.CONTESTED)
    assert arbitration.decidable_ids == {fabrikam.pk, northwind.pk}
    assert all(arbitration.can_approve(entry) for entry in arbitration.claim_items)


def test_the_comparison_shows_proof_of_execution_newest_first(reviewer):
    from claims.models import ProofOfExecution
    from claims.tests.factories import ProofFactory

    first, _ = competing_claims()
    older = ProofFactory(claim=first.claim, original_name="older.pdf")
    newer = ProofFactory(claim=first.claim, original_name="newer.pdf")
    ProofOfExecution.objects.filter(pk=older.pk).update(uploaded_at=timezone.now() - timedelta(days=30))

    arbitration = review_selectors.arbitration_for(reviewer=reviewer, item_id=first.pk)

    entry = next(entry for entry in arbitration.claim_items if entry.pk == first.pk)
    assert [proof.pk for proof in entry.claim.proofs.all()] == [newer.pk, older.pk]


def test_the_arbitration_queue_lists_each_contested_item_once_oldest_first(reviewer):
    recent = competing_claims(2)
    oldest = competing_claims(3)
    Claim.objects.filter(pk=oldest[1].claim_id).update(submitted_at=timezone.now() - timedelta(days=20))
    uncontested = ClaimFactory()
    SubscriptionItemFactory(claim=uncontested)
    put_under_review(uncontested)
    decided = competing_claims(1)
    review.item_decide(reviewer=reviewer, item_id=decided[0].pk, approve=False)

    queue = review_selectors.arbitration_queue(reviewer=reviewer)

    assert [(entry.item.item_key, entry.contenders) for entry in queue] == [
        (oldest[0].item_key, 3),
        (recent[0].item_key, 2),
    ]
    assert queue[0].waiting_since == Claim.objects.get(pk=oldest[1].claim_id).submitted_at


def test_only_reviewers_see_the_arbitration_queue(incentives_admin):
    with pytest.raises(PermissionDenied):
        review_selectors.arbitration_queue(reviewer=incentives_admin)


# --- Local helpers --------------------------------------------------------------------------------


def _partner_user_of(claim):
    from cpor.models import Role
    from cpor.tests.factories import partner_user

    return partner_user(claim.partner, Role.INCENTIVES_ADMIN)


def _move_to(claim, status):
    """Walk a claim to `status` along the transition table."""
    if status == ClaimStatus.APPROVED:
        return put_approved(claim)
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        lifecycle.transition(locked, ClaimStatus.SUBMITTED, action="submitted")
        if status == ClaimStatus.VALIDATION_FAILED:
            lifecycle.transition(locked, ClaimStatus.VALIDATION_FAILED, action="validation_failed")
        if status == ClaimStatus.REJECTED:
            lifecycle.transition(locked, ClaimStatus.UNDER_REVIEW, action="validated")
            lifecycle.transition(locked, ClaimStatus.REJECTED, action="rejected")
    claim.refresh_from_db()
    return claim


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_once_approve_exactly_one_partner(reviewer):
    """The claims are locked in primary-key order: the second decision waits, then finds the
    item already decided and changes nothing."""
    first, second = competing_claims()
    other_reviewer = make_reviewer()
    start = threading.Barrier(2)
    outcomes = {}

    def decide(user, item):
        try:
            start.wait()
            review.item_decide(reviewer=user, item_id=item.pk, approve=True, note=RATIONALE)
            outcomes[item.pk] = "decided"
        except lifecycle.ClaimError:
            outcomes[item.pk] = "refused"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(reviewer, first)),
        threading.Thread(target=decide, args=(other_reviewer, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["decided", "refused"]
    refreshed(first, second)
    assert sorted([first.outcome, second.outcome]) == [ItemOutcome.APPROVED, ItemOutcome.REJECTED]
