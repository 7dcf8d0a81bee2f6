"""The state machine's one mechanism and the invariants the database holds."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from claims import lifecycle
from claims.models import (
    DECIDED_OUTCOMES,
    ITEM_TRANSITIONS,
    TRANSITIONS,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    ItemOutcome,
)
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from cpor.models import Program

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)

TERMINAL = {ClaimStatus.VALIDATION_FAILED, ClaimStatus.OPTED_OUT, ClaimStatus.ENDED}


def test_every_status_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(ClaimStatus.values)


def test_terminal_statuses_lead_nowhere():
    for status in TERMINAL:
        assert TRANSITIONS[status] == frozenset()


def test_a_rejection_leads_only_to_a_dispute_answered_by_review_or_a_final_decision():
    assert TRANSITIONS[ClaimStatus.REJECTED] == {ClaimStatus.DISPUTED}
    # Upheld: back to what the items summarise (an item lost in arbitration leaves the claim
    # Approved, or Ended); overturned: back to review.
    assert TRANSITIONS[ClaimStatus.DISPUTED] == {
        ClaimStatus.UNDER_REVIEW,
        ClaimStatus.REJECTED,
        ClaimStatus.APPROVED,
        ClaimStatus.ENDED,
    }
    assert TRANSITIONS[ClaimStatus.APPROVED] == {ClaimStatus.ENDED, ClaimStatus.DISPUTED}


def test_a_submitted_claim_cannot_go_back_to_draft():
    for status in ClaimStatus.values:
        assert not lifecycle.can_transition(status, ClaimStatus.DRAFT)


def test_transition_changes_the_status_and_records_who_when_from_to_and_why(incentives_admin):
    claim = ClaimFactory()
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        event = lifecycle.transition(
            locked, ClaimStatus.SUBMITTED, action="submitted", actor=incentives_admin, reason="ready"
        )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    assert (event.actor, event.from_status, event.to_status, event.reason) == (
        incentives_admin,
        ClaimStatus.DRAFT,
        ClaimStatus.SUBMITTED,
        "ready",
    )


def test_a_transition_the_table_forbids_changes_nothing():
    claim = ClaimFactory()
    with pytest.raises(lifecycle.InvalidTransition), transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.APPROVED, action="approved")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DRAFT
    assert not ClaimEvent.objects.filter(claim=claim).exists()


@pytest.mark.django_db(transaction=True)
def test_transition_refuses_to_run_outside_a_transaction():
    claim = ClaimFactory()
    with pytest.raises(RuntimeError):
        lifecycle.transition(claim, ClaimStatus.SUBMITTED, action="submitted")


def test_transition_many_moves_every_claim_in_one_update_and_records_each_ones_event():
    claims = [ClaimFactory(), ClaimFactory()]
    with transaction.atomic():
        locked = [lifecycle.lock_claim(claim.pk) for claim in claims]
        events = lifecycle.transition_many(
            locked, ClaimStatus.SUBMITTED, action="submitted", reason="ready", changes={"submitted_at": NOW}
        )
    assert [(event.claim_id, event.from_status, event.to_status, event.reason) for event in events] == [
        (claim.pk, ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, "ready") for claim in claims
    ]
    for claim in claims:
        claim.refresh_from_db()
        assert (claim.status, claim.submitted_at) == (ClaimStatus.SUBMITTED, NOW)


def test_transition_many_refuses_the_whole_set_when_one_claim_may_not_move():
    draft, submitted = ClaimFactory(), ClaimFactory()
    with transaction.atomic():
        lifecycle.transition(lifecycle.lock_claim(submitted.pk), ClaimStatus.SUBMITTED, action="submitted")
    with pytest.raises(lifecycle.InvalidTransition), transaction.atomic():
        locked = [lifecycle.lock_claim(claim.pk) for claim in (draft, submitted)]
        lifecycle.transition_many(locked, ClaimStatus.SUBMITTED, action="submitted")
    draft.refresh_from_db()
    assert draft.status == ClaimStatus.DRAFT
    assert ClaimEvent.objects.filter(action="submitted").count() == 1


def test_record_events_refuses_an_action_history_does_not_know():
    with pytest.raises(ValueError), transaction.atomic():
        lifecycle.record_events([ClaimEvent(claim=ClaimFactory(), action="made_up")])
    assert not ClaimEvent.objects.filter(action="made_up").exists()


def test_event_rows_are_written_and_announced_together_as_record_events_writes_events():
    from claims import signals

    first, second = ClaimFactory(), ClaimFactory()
    rows = [
        (first, "items_approved", "", "", "", {"items": [1, 2]}),
        (second, "approved", ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED, "The opt-out period ended.", {}),
    ]
    announced = []

    def receiver(sender, *, events, **kwargs):
        announced.append(events)

    signals.claim_events_recorded.connect(receiver)
    try:
        with transaction.atomic():
            events = lifecycle.record_event_rows(rows)
    finally:
        signals.claim_events_recorded.disconnect(receiver)

    assert announced == [events]
    assert [(event.claim, event.action, event.data) for event in events] == [
        (first, "items_approved", {"items": [1, 2]}),
        (second, "approved", {}),
    ]
    stored = ClaimEvent.objects.filter(pk__in=[event.pk for event in events]).order_by("pk")
    fields = ("claim", "action", "from_status", "to_status", "reason", "data")
    assert list(stored.values_list(*fields)) == [(claim.pk, *rest) for claim, *rest in rows]
    assert [event.created_at for event in stored] == [event.created_at for event in events]


def test_event_rows_refuse_an_action_history_does_not_know():
    with pytest.raises(ValueError), transaction.atomic():
        lifecycle.record_event_rows([(ClaimFactory(), "made_up", "", "", "", {})])
    assert not ClaimEvent.objects.filter(action="made_up").exists()


def test_items_moved_as_a_set_move_together_or_not_at_all_when_one_is_no_longer_as_read():
    claim = ClaimFactory()
    read_pending = [SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.PENDING) for _ in range(2)]
    ClaimItem.objects.filter(pk=read_pending[1].pk).update(outcome=ItemOutcome.CONTESTED)  # moved since read
    ids = [item.pk for item in read_pending]

    with transaction.atomic():
        with pytest.raises(RuntimeError):
            lifecycle.items_move_from(ids, ItemOutcome.PENDING, ItemOutcome.APPROVED, now=NOW)
        assert list(ClaimItem.objects.filter(pk__in=ids).order_by("pk").values_list("outcome", flat=True)) == [
            ItemOutcome.PENDING,
            ItemOutcome.CONTESTED,
        ]
        lifecycle.items_move_from(ids[:1], ItemOutcome.PENDING, ItemOutcome.APPROVED, now=NOW)
    assert ClaimItem.objects.filter(pk=ids[0]).values_list("outcome", "decided_at").get() == (ItemOutcome.APPROVED, NOW)
    with pytest.raises(ValueError), transaction.atomic():
        lifecycle.items_move_from(ids[:1], ItemOutcome.APPROVED, ItemOutcome.PENDING, now=NOW)


def test_every_app_told_of_one_event_is_told_of_events_recorded_together():
    from claims import signals

    assert len(signals.claim_events_recorded.receivers) == len(signals.claim_event_recorded.receivers) > 0


def _under_review(claim):
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        lifecycle.transition(locked, ClaimStatus.SUBMITTED, action="submitted")
        lifecycle.transition(locked, ClaimStatus.UNDER_REVIEW, action="validated")
    claim.refresh_from_db()
    return claim


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([ItemOutcome.PENDING, ItemOutcome.APPROVED], ClaimStatus.UNDER_REVIEW),
        ([ItemOutcome.CONTESTED, ItemOutcome.APPROVED], ClaimStatus.UNDER_REVIEW),
        ([ItemOutcome.APPROVED, ItemOutcome.REJECTED], ClaimStatus.APPROVED),
        ([ItemOutcome.REJECTED, ItemOutcome.REJECTED], ClaimStatus.REJECTED),
    ],
)
def test_the_claim_status_summarises_its_items(outcomes, expected):
    claim = _under_review(ClaimFactory())
    for outcome in outcomes:
        SubscriptionItemFactory(claim=claim, outcome=outcome)
    assert lifecycle.status_from_items(claim) == expected


def test_an_approved_claim_with_no_approved_item_left_has_ended():
    claim = _under_review(ClaimFactory())
    item = SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.APPROVED)
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        assert lifecycle.settle(locked, action="approved").to_status == ClaimStatus.APPROVED
    item.outcome = ItemOutcome.ENDED
    item.save()
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        assert lifecycle.settle(locked, action="ended").to_status == ClaimStatus.ENDED
        assert lifecycle.settle(locked, action="ended") is None


def test_the_database_holds_at_most_one_approved_holder_per_item_and_programme():
    first = SubscriptionItemFactory(outcome=ItemOutcome.APPROVED)
    rival = ClaimFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        SubscriptionItemFactory(
            claim=rival, subscription=first.subscription, program=first.program, outcome=ItemOutcome.APPROVED
        )
    # The same subscription in another programme has its own holder.
    SubscriptionItemFactory(
        claim=rival, subscription=first.subscription, program=Program.OSA_SELL, outcome=ItemOutcome.APPROVED
    )


# --- Item outcomes: one table, one function -----------------------------------------------------

ITEM_MOVES = [(from_outcome, to_outcome) for from_outcome in ItemOutcome.values for to_outcome in ItemOutcome.values]
ALLOWED_ITEM_MOVES = [move for move in ITEM_MOVES if move[1] in ITEM_TRANSITIONS[move[0]]]
FORBIDDEN_ITEM_MOVES = [move for move in ITEM_MOVES if move[1] not in ITEM_TRANSITIONS[move[0]]]


def test_every_outcome_has_a_row_in_the_item_transition_table():
    assert set(ITEM_TRANSITIONS) == set(ItemOutcome.values)


def test_ended_items_lead_nowhere_rejected_ones_only_back_to_review_and_an_approved_item_can_only_end():
    assert ITEM_TRANSITIONS[ItemOutcome.ENDED] == frozenset()
    # A dispute overturned sends rejected items back to review (pending, or contested).
    assert ITEM_TRANSITIONS[ItemOutcome.REJECTED] == {ItemOutcome.PENDING, ItemOutcome.CONTESTED}
    assert ITEM_TRANSITIONS[ItemOutcome.APPROVED] == {ItemOutcome.ENDED}


@pytest.mark.parametrize(("from_outcome", "to_outcome"), ALLOWED_ITEM_MOVES)
def test_every_move_the_item_table_allows_works_and_stamps_decided_at_for_a_decision(from_outcome, to_outcome):
    item = SubscriptionItemFactory(outcome=from_outcome)
    moment = timezone.now() - timedelta(minutes=5)
    with transaction.atomic():
        (moved,) = lifecycle.item_move(ClaimItem.objects.filter(pk=item.pk), to_outcome, now=moment)
    item.refresh_from_db()
    assert item.outcome == moved.outcome == to_outcome
    assert item.decided_at == moved.decided_at == (moment if to_outcome in DECIDED_OUTCOMES else None)


@pytest.mark.parametrize(("from_outcome", "to_outcome"), FORBIDDEN_ITEM_MOVES)
def test_every_move_the_item_table_forbids_is_refused_and_changes_nothing(from_outcome, to_outcome):
    item = SubscriptionItemFactory(outcome=from_outcome)
    with pytest.raises(lifecycle.InvalidTransition), transaction.atomic():
        lifecycle.item_move([item], to_outcome)
    item.refresh_from_db()
    assert (item.outcome, item.decided_at) == (from_outcome, None)


def test_one_forbidden_item_refuses_the_whole_move_in_english_and_french():
    claim = ClaimFactory()
    pending = SubscriptionItemFactory(claim=claim)
    rejected = SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.REJECTED)
    for language, words in (("en", "cannot go from Rejected to Approved"), ("fr", "passer de Rejetée à Approuvée")):
        with (
            translation.override(language),
            pytest.raises(lifecycle.InvalidTransition, match=words),
            transaction.atomic(),
        ):
            lifecycle.item_move([pending, rejected], ItemOutcome.APPROVED)
    assert list(ClaimItem.objects.filter(claim=claim).order_by("pk").values_list("outcome", flat=True)) == [
        ItemOutcome.PENDING,
        ItemOutcome.REJECTED,
    ]


def test_item_move_checks_the_outcome_in_the_database_not_the_callers_copy():
    item = SubscriptionItemFactory(outcome=ItemOutcome.PENDING)
    ClaimItem.objects.filter(pk=item.pk).update(outcome=ItemOutcome.REJECTED)
    with pytest.raises(lifecycle.InvalidTransition), transaction.atomic():
        lifecycle.item_move([item], ItemOutcome.APPROVED)
    item.refresh_from_db()
    assert item.outcome == ItemOutcome.REJECTED


@pytest.mark.django_db(transaction=True)
def test_item_move_refuses_to_run_outside_a_transaction():
    item = SubscriptionItemFactory()
    with pytest.raises(RuntimeError):
        lifecycle.item_move([item], ItemOutcome.APPROVED)
    item.refresh_from_db()
    assert item.outcome == ItemOutcome.PENDING


def test_only_the_lifecycle_writes_an_items_outcome():
    """Ten places once wrote `outcome` directly; every change now goes through `item_move`."""
    import pathlib
    import re

    claims_dir = pathlib.Path(lifecycle.__file__).parent
    writes = re.compile(r"\.outcome\s*=[^=]|update\([^)]*outcome=")
    offenders = [
        f"{path.name}:{text.count(chr(10), 0, match.start()) + 1}"
        for path in claims_dir.glob("*.py")
        if path.name != "lifecycle.py"
        for text in [path.read_text()]
        for match in writes.finditer(text)
    ]
    assert offenders == []


def test_the_database_refuses_an_unknown_status():
    claim = ClaimFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(claim).objects.filter(pk=claim.pk).update(status="bogus")
