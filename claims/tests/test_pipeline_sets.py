"""Validation in sets (`pipeline.claims_validate_set`): the same outcomes as one claim at a
time, for many claims in a few statements, and never a decision that needs a rival locked."""

import ast
import threading

import pytest
import time_machine
from django.db import connection, transaction

from claims import notices, pipeline, tasks
from claims.events import EventAction
from claims.models import Claim, ClaimStatus, Comment, CustomerEmail, ItemOutcome
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_pipeline import (
    DEADLINE_UTC,
    MONDAY_MORNING,
    codes,
    rival_of,
    submit,
    submitted_claim,
    validated_claim,
)
from claims.tests.test_services import queued_tasks
from tenants.models import Channel

pytestmark = pytest.mark.django_db


def validate_set(**kwargs):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        return pipeline.claims_validate_set(**kwargs)


def test_a_set_puts_its_valid_claims_under_review_as_one_claim_at_a_time_does():
    claims = [submitted_claim() for _ in range(3)]

    assert validate_set() == (3, 3)

    for claim in claims:
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.tenant_id is not None and claim.validation_errors == []
        assert claim.review_due_at == DEADLINE_UTC
        assert claim.notified_at is None  # the window starts when the customer's notice is sent
        event = claim.events.get(action=EventAction.VALIDATED)
        assert (event.from_status, event.to_status, event.actor_id) == (
            ClaimStatus.SUBMITTED,
            ClaimStatus.UNDER_REVIEW,
            None,
        )
        recipients = set(CustomerEmail.objects.filter(claim=claim).values_list("recipient", "role"))
        assert recipients == {(claim.customer_contact_email, "customer"), (claim.technical_contact_email, "technical")}


def test_a_set_fails_a_claim_with_the_reasons_one_claim_at_a_time_gives():
    good = submitted_claim()
    csp = submitted_claim()
    type(csp.items.get().subscription).objects.filter(pk=csp.items.get().subscription_id).update(channel=Channel.CSP)
    mismatch = ClaimFactory(domain="someone-else.example")
    SubscriptionItemFactory(claim=mismatch)
    submit(mismatch)

    assert validate_set() == (3, 3)

    good.refresh_from_db()
    csp.refresh_from_db()
    mismatch.refresh_from_db()
    assert good.status == ClaimStatus.UNDER_REVIEW
    assert (csp.status, codes(csp)) == (ClaimStatus.VALIDATION_FAILED, ["csp"])
    assert csp.events.get(action=EventAction.VALIDATION_FAILED).data["problems"] == csp.validation_errors
    assert (mismatch.status, codes(mismatch)) == (ClaimStatus.VALIDATION_FAILED, ["domain_tenant_mismatch"])
    assert not CustomerEmail.objects.filter(claim__in=(csp, mismatch)).exists()


def test_claims_on_a_held_item_go_the_one_claim_path_and_are_contested_as_there():
    first = validated_claim()
    rival = rival_of(first)
    free = submitted_claim()

    assert validate_set() == (2, 2)

    rival.refresh_from_db()
    free.refresh_from_db()
    assert rival.status == free.status == ClaimStatus.UNDER_REVIEW
    assert rival.items.get().outcome == first.items.get().outcome == ItemOutcome.CONTESTED
    assert Comment.objects.filter(claim=rival).exists() and Comment.objects.filter(claim=first).exists()
    assert free.items.get().outcome == ItemOutcome.PENDING


def test_two_claims_of_one_set_on_the_same_item_contest_each_other():
    first = submitted_claim()
    rival = rival_of(first)

    assert validate_set() == (2, 2)

    for claim in (first, rival):
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.items.get().outcome == ItemOutcome.CONTESTED


def test_the_same_partner_claiming_twice_in_one_set_is_already_claimed_once():
    first = submitted_claim()
    second = ClaimFactory(mpn=first.mpn, tenant=first.tenant)
    SubscriptionItemFactory(claim=second, subscription=first.items.get().subscription)
    submit(second)

    assert validate_set() == (2, 2)

    statuses = dict(Claim.objects.filter(pk__in=(first.pk, second.pk)).values_list("pk", "status"))
    assert statuses == {first.pk: ClaimStatus.VALIDATION_FAILED, second.pk: ClaimStatus.UNDER_REVIEW}
    first.refresh_from_db()
    assert codes(first) == ["already_claimed"]


def test_a_set_takes_the_oldest_claims_first_up_to_its_size():
    claims = [submitted_claim() for _ in range(3)]

    assert validate_set(size=2) == (2, 2)

    statuses = [Claim.objects.get(pk=claim.pk).status for claim in claims]
    assert statuses == [ClaimStatus.UNDER_REVIEW, ClaimStatus.UNDER_REVIEW, ClaimStatus.SUBMITTED]
    assert pipeline.claims_validate_in_sets(size=2) == 1


def test_a_claim_a_set_validated_costs_its_own_task_one_query(django_assert_num_queries):
    claim = submitted_claim()
    validate_set()

    with django_assert_num_queries(1):
        assert pipeline.claim_validate(claim_id=claim.pk) is None
    with django_assert_num_queries(1):
        tasks.validate_claim(claim.pk)


def test_a_set_reads_and_writes_in_statements_that_do_not_grow_with_it(django_assert_max_num_queries):
    for _ in range(20):
        submitted_claim()

    # Its transaction, the lock, six reads, two UPDATEs, the events, their webhook endpoints and
    # the notices: thirteen statements for 20 claims as for 200.
    with django_assert_max_num_queries(13):
        assert validate_set() == (20, 20)


@pytest.mark.django_db(transaction=True)
def test_a_set_skips_a_claim_another_validation_holds_and_leaves_it_to_that_one():
    held = submitted_claim()
    other = submitted_claim()
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Claim.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        assert validate_set() == (1, 1)  # at once: SKIP LOCKED never waits
    finally:
        release.set()
        thread.join(timeout=30)

    held.refresh_from_db()
    other.refresh_from_db()
    assert (held.status, other.status) == (ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW)
    queued_tasks()  # leaves the broker empty for the next test


@pytest.mark.django_db(transaction=True)
def test_the_validation_task_validates_every_waiting_claim_and_queues_the_notices_it_leaves_in_one_task():
    claims = [submitted_claim() for _ in range(8)]
    queued_tasks()  # the submissions' notifications

    tasks.validate_claim(claims[0].pk)

    assert set(Claim.objects.values_list("status", flat=True)) == {ClaimStatus.UNDER_REVIEW}
    queued = queued_tasks()
    assert not [args for task, args in queued if task == "claims.send_customer_emails"]
    batches = [ast.literal_eval(args) for task, args in queued if task == "claims.send_customer_emails_of_many"]
    unsent = set(CustomerEmail.objects.filter(sent_at__isnull=True).values_list("claim_id", flat=True))
    # A few claims' notices went out in the task (the first claim's among them); the rest,
    # the set's last ones, in one task queued for them all.
    assert len(batches) == 1 and sorted(unsent) == batches[0][0]
    assert claims[0].pk not in unsent and 0 < len(unsent) < len(claims) - 1
    tasks.send_customer_emails_of_many(batches[0][0])
    assert not CustomerEmail.objects.filter(sent_at__isnull=True).exists()
    assert notices.customer_emails_retry() == 0
    queued_tasks()
