"""After the decision (issue 9): the answer deadline and its reminders, disputes of a
rejection, disassociation and newer proof on approved claims. Deadlines are checked under
a moved clock (time_machine) across French weekends and holidays: the partners here are in
France, their customers in Europe/Paris."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import translation

from claims import followup, pipeline, review, services
from claims.events import EventAction
from claims.lifecycle import ClaimError
from claims.models import (
    ClaimItem,
    ClaimReminder,
    ClaimStatus,
    CustomerEmail,
    ItemOutcome,
    RejectionReason,
)
from claims.selectors import review as review_selectors
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_review import make_reviewer, put_approved, put_under_review
from cpor.models import Role
from cpor.periodic import periodic_jobs_run
from cpor.tests.factories import partner_user

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def paris(*args):
    return datetime.datetime(*args, tzinfo=PARIS)


def pdf(name="sow.pdf"):
    return SimpleUploadedFile(name, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf")


@pytest.fixture
def reviewer():
    return make_reviewer()


@pytest.fixture
def filer(partner):
    return partner_user(partner, Role.INCENTIVES_ADMIN)


@pytest.fixture
def claim(mpn, filer):
    claim = ClaimFactory(mpn=mpn, created_by=filer)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim, window_closed=True)


def rejected(claim, reviewer, reason=RejectionReason.INSUFFICIENT_POE):
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=reason)
    claim.refresh_from_db()
    return claim


def snapshot(claim):
    claim.refresh_from_db()
    return (
        claim.status,
        claim.disputed_at,
        claim.dispute_final,
        claim.disassociated_at,
        list(claim.items.values_list("outcome", flat=True)),
        claim.events.count(),
    )


# --- 1. Partner action required has a deadline ------------------------------------------------------


def test_the_answer_is_due_14_business_days_later_skipping_french_weekends_and_holidays(claim, reviewer):
    # Wednesday 29 April 2026: 1, 8 and 14 May (Ascension) are holidays in France.
    with time_machine.travel(paris(2026, 4, 29, 10, 0), tick=False):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The signed SOW, please.")
    claim.refresh_from_db()
    assert claim.response_due_at == paris(2026, 5, 22, 23, 59, 59)


def test_answering_clears_the_deadline(claim, reviewer, filer):
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The SOW.")
    services.claim_add_comment(user=filer, claim_id=claim.pk, body="Attached to the CRM.")
    claim.refresh_from_db()
    assert (claim.status, claim.response_due_at) == (ClaimStatus.UNDER_REVIEW, None)


def test_reminders_go_out_7_and_2_business_days_before_and_once_each(claim, reviewer):
    with time_machine.travel(paris(2026, 4, 29, 10, 0), tick=False):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The SOW.")
    # Monday 11 May, 23:59: the seventh business day before 22 May is Tuesday 12 May.
    for moment, expected in [
        (paris(2026, 5, 11, 23, 59), []),
        (paris(2026, 5, 12, 0, 1), [7]),
        (paris(2026, 5, 19, 23, 0), [7]),
        (paris(2026, 5, 20, 0, 1), [7, 2]),
        (paris(2026, 5, 22, 23, 0), [7, 2]),
    ]:
        with time_machine.travel(moment, tick=False):
            periodic_jobs_run(now=moment)
            periodic_jobs_run(now=moment)  # a second pass changes nothing
        events = claim.events.filter(action=EventAction.RESPONSE_REMINDER).order_by("pk")
        assert [event.data["days"] for event in events] == expected, moment
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ACTION_REQUIRED
    assert ClaimReminder.objects.filter(claim=claim).count() == 2


def test_a_late_job_sends_only_the_nearest_reminder(claim, reviewer):
    with time_machine.travel(paris(2026, 4, 29, 10, 0), tick=False):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The SOW.")
    moment = paris(2026, 5, 21, 9, 0)
    assert followup.response_reminders_send(now=moment) == 1
    assert followup.response_reminders_send(now=moment) == 0
    assert [event.data["days"] for event in claim.events.filter(action=EventAction.RESPONSE_REMINDER)] == [2]


def test_a_reminder_is_sent_once_per_claim_kind_and_deadline_by_the_database(claim, reviewer):
    review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The SOW.")
    claim.refresh_from_db()
    ClaimReminder.objects.create(claim=claim, kind="response_7", due_at=claim.response_due_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimReminder.objects.create(claim=claim, kind="response_7", due_at=claim.response_due_at)


def test_an_unanswered_request_rejects_the_undecided_items_with_no_response_after_the_deadline(claim, reviewer):
    with time_machine.travel(paris(2026, 4, 29, 10, 0), tick=False):
        review.claim_request_information(reviewer=reviewer, claim_id=claim.pk, message="The SOW.")
    with time_machine.travel(paris(2026, 5, 22, 23, 59), tick=False):
        periodic_jobs_run(now=paris(2026, 5, 22, 23, 59))
    assert snapshot(claim)[0] == ClaimStatus.ACTION_REQUIRED
    # Saturday 23 May, just past midnight.
    moment = paris(2026, 5, 23, 0, 0, 1)
    with time_machine.travel(moment, tick=False):
        periodic_jobs_run(now=moment)
        after_first = snapshot(claim)
        periodic_jobs_run(now=moment)
    assert snapshot(claim) == after_first
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason, claim.response_due_at) == (
        ClaimStatus.REJECTED,
        RejectionReason.NO_RESPONSE,
        None,
    )
    assert set(claim.items.values_list("outcome", flat=True)) == {ItemOutcome.REJECTED}
    event = claim.events.get(action="rejected")
    assert event.actor is None and event.reason == "No response"


# --- 2. Dispute a rejection, once ----------------------------------------------------------------


def test_a_rejection_can_be_disputed_within_30_days_and_the_reviewers_answer_within_5_business_days(
    claim, reviewer, filer
):
    with time_machine.travel(paris(2026, 4, 7, 10, 0), tick=False):
        rejected(claim, reviewer)
    with time_machine.travel(paris(2026, 5, 7, 10, 0), tick=False):  # day 30
        services.claim_dispute(
            user=filer, claim_id=claim.pk, justification="The customer signed the SOW.", files=[pdf()]
        )
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DISPUTED
    assert claim.dispute_answer_due_at == paris(2026, 5, 18, 23, 59, 59)  # 8 and 14 May are holidays
    assert claim.proofs.filter(original_name="sow.pdf").exists()
    assert claim.comments.filter(body="The customer signed the SOW.", author=filer).exists()
    assert claim.events.filter(action=EventAction.DISPUTED).exists()


def test_a_dispute_after_30_days_is_refused_and_changes_nothing(claim, reviewer, filer):
    with time_machine.travel(paris(2026, 4, 7, 10, 0), tick=False):
        rejected(claim, reviewer)
    before = snapshot(claim)
    with time_machine.travel(paris(2026, 5, 7, 10, 1), tick=False), pytest.raises(ClaimError) as error:
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Late.")
    assert "30 days" in error.value.message and "new claim" in error.value.message
    assert snapshot(claim) == before


def test_a_second_dispute_is_refused(claim, reviewer, filer):
    rejected(claim, reviewer)
    services.claim_dispute(user=filer, claim_id=claim.pk, justification="Please look again.")
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="already disputed"):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Again.")
    assert snapshot(claim) == before


def test_an_upheld_rejection_is_final_and_cannot_be_disputed_again(claim, reviewer, filer):
    rejected(claim, reviewer)
    services.claim_dispute(user=filer, claim_id=claim.pk, justification="Please look again.")
    review.dispute_uphold(reviewer=reviewer, claim_id=claim.pk, note="The SOW is unsigned.")
    claim.refresh_from_db()
    assert (claim.status, claim.dispute_final) == (ClaimStatus.REJECTED, True)
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="final"):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Again.")
    assert snapshot(claim) == before
    with translation.override("fr"):
        refusal = services.dispute_refusal(claim)
    assert "nouvelle" in refusal


def test_only_a_rejected_claim_can_be_disputed(claim, filer):
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="Only a rejected claim"):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Why?")
    assert snapshot(claim) == before


def test_a_dispute_needs_a_justification(claim, reviewer, filer):
    rejected(claim, reviewer)
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="Explain"):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="   ")
    assert snapshot(claim) == before


def test_only_the_incentives_admin_of_the_claims_partner_disputes(claim, reviewer, partner, other_partner):
    rejected(claim, reviewer)
    with pytest.raises(PermissionDenied):
        services.claim_dispute(user=partner_user(partner, Role.BILLING_ADMIN), claim_id=claim.pk, justification="Why?")
    with pytest.raises(Http404):
        services.claim_dispute(
            user=partner_user(other_partner, Role.INCENTIVES_ADMIN), claim_id=claim.pk, justification="Why?"
        )


def test_overturning_sends_the_items_back_to_review_and_the_timer_approves_them(claim, reviewer, filer):
    rejected(claim, reviewer)
    services.claim_dispute(user=filer, claim_id=claim.pk, justification="Please look again.")
    review.dispute_overturn(reviewer=reviewer, claim_id=claim.pk, note="The SOW is signed after all.")
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.UNDER_REVIEW, "")
    assert set(claim.items.values_list("outcome", flat=True)) == {ItemOutcome.PENDING}
    pipeline.claims_approve_due()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    # Rejected again later, it cannot be disputed a second time.
    with pytest.raises(ClaimError):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Again.")


def test_overturning_contests_an_item_another_partner_took_meanwhile(claim, reviewer, filer, other_partner):
    rejected(claim, reviewer)
    item = claim.items.get()
    rival = ClaimFactory(mpn__partner=other_partner, tenant=claim.tenant)
    SubscriptionItemFactory(claim=rival, subscription=item.subscription, outcome=ItemOutcome.APPROVED)
    put_approved(rival)
    services.claim_dispute(user=filer, claim_id=claim.pk, justification="We were first.")
    review.dispute_overturn(reviewer=reviewer, claim_id=claim.pk, note="Both partners have a signed SOW.")
    item.refresh_from_db()
    assert item.outcome == ItemOutcome.CONTESTED
    assert review_selectors.arbitration_for(reviewer=reviewer, item_id=item.pk).in_arbitration


def test_only_a_disputed_claim_can_be_upheld_or_overturned(claim, reviewer):
    rejected(claim, reviewer)
    before = snapshot(claim)
    for service in (review.dispute_uphold, review.dispute_overturn):
        with pytest.raises(ClaimError, match="Only a disputed claim"):
            service(reviewer=reviewer, claim_id=claim.pk, note="No.")
    assert snapshot(claim) == before


def test_a_partner_cannot_answer_a_dispute(claim, reviewer, filer):
    rejected(claim, reviewer)
    services.claim_dispute(user=filer, claim_id=claim.pk, justification="Please look again.")
    with pytest.raises(PermissionDenied):
        review.dispute_overturn(reviewer=filer, claim_id=claim.pk, note="Mine now.")


# --- 3. Disassociate ----------------------------------------------------------------------------


def test_disassociating_ends_the_items_frees_them_and_emails_the_customers_contacts(
    claim, reviewer, filer, django_capture_on_commit_callbacks
):
    pipeline.claims_approve_due()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.claim_disassociate(user=filer, claim_id=claim.pk, reason="The customer moved to another partner.")
    claim.refresh_from_db()
    assert (claim.status, claim.disassociated_by, claim.disassociation_reason) == (
        ClaimStatus.ENDED,
        filer,
        "The customer moved to another partner.",
    )
    assert set(claim.items.values_list("outcome", flat=True)) == {ItemOutcome.ENDED}
    notices = CustomerEmail.objects.filter(claim=claim, purpose=CustomerEmail.Purpose.DISASSOCIATION)
    assert {notice.recipient for notice in notices} == {claim.customer_contact_email, claim.technical_contact_email}
    assert all(notice.sent_at for notice in notices)
    assert sorted(message.to[0] for message in mail.outbox) == sorted(notice.recipient for notice in notices)
    # In the customer's language (the tenant's, French here).
    assert mail.outbox[0].subject == f"{claim.partner.name} n'est plus votre partenaire attitré"
    assert "ne voit plus vos données" in mail.outbox[0].body
    # A second pass of the retry job sends nothing more.
    assert followup.disassociation_emails_retry() == 0
    # The item is free: another partner's claim on it can be approved.
    item = claim.items.get()
    other = ClaimFactory(tenant=claim.tenant)
    ClaimItem.objects.create(
        claim=other,
        program=item.program,
        product=item.product,
        subscription=item.subscription,
        item_key=item.item_key,
        outcome=ItemOutcome.APPROVED,
    )
    assert claim.events.filter(action=EventAction.DISASSOCIATED).exists()


def test_only_an_approved_claim_can_be_disassociated(claim, filer):
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="Only an approved claim"):
        services.claim_disassociate(user=filer, claim_id=claim.pk, reason="Done.")
    assert snapshot(claim) == before


def test_a_claim_cannot_be_disassociated_twice(claim, filer):
    pipeline.claims_approve_due()
    services.claim_disassociate(user=filer, claim_id=claim.pk, reason="Done.")
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="Only an approved claim"):
        services.claim_disassociate(user=filer, claim_id=claim.pk, reason="Again.")
    assert snapshot(claim) == before


def test_disassociation_needs_a_reason(claim, filer):
    pipeline.claims_approve_due()
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="reason"):
        services.claim_disassociate(user=filer, claim_id=claim.pk, reason=" ")
    assert snapshot(claim) == before


def test_the_disassociation_email_does_not_replace_the_opt_out_notice(claim, filer):
    pipeline.claims_approve_due()
    CustomerEmail.objects.create(claim=claim, recipient=claim.customer_contact_email, role="customer")
    services.claim_disassociate(user=filer, claim_id=claim.pk, reason="Done.")
    assert CustomerEmail.objects.filter(claim=claim, recipient=claim.customer_contact_email).count() == 2


# --- 4. Newer proof on approved claims ------------------------------------------------------------


def test_an_approved_claim_accepts_newer_proof_shown_first_in_arbitration(claim, filer, reviewer):
    pipeline.claims_approve_due()
    services.claim_add_proofs(user=filer, claim_id=claim.pk, files=[pdf("newer.pdf")])
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    item = claim.items.get()
    arbitration = review_selectors.arbitration_for(reviewer=reviewer, item_id=item.pk)
    assert arbitration.claim_items[0].claim.proofs.all()[0].original_name == "newer.pdf"


def test_a_claim_under_review_still_refuses_unrequested_proof(claim, filer):
    with pytest.raises(ClaimError, match="approved claim"):
        services.claim_add_proofs(user=filer, claim_id=claim.pk, files=[pdf()])


# --- 2b. Dispute an item lost in arbitration, on a claim that keeps its other items ------------------


def approved_but_lost_an_item(mpn, filer, reviewer, other_partner):
    """Our claim, approved for one item, contended (pending) for another that another partner
    holds: the reviewer kept the holder. Returns the claim, the kept item and the lost one."""
    claim = ClaimFactory(mpn=mpn, created_by=filer)
    kept = SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.APPROVED)
    lost = SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.CONTESTED)
    holder = ClaimFactory(mpn__partner=other_partner, tenant=claim.tenant)
    holder_item = SubscriptionItemFactory(claim=holder, subscription=lost.subscription, outcome=ItemOutcome.APPROVED)
    put_approved(holder)
    put_under_review(claim, window_closed=True)
    review.item_decide(reviewer=reviewer, item_id=holder_item.pk, approve=True, note="The holder's SOW is newer.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    return claim, kept, lost


def test_an_item_lost_in_arbitration_by_a_contender_is_disputed_and_overturned_into_arbitration_again(
    mpn, filer, reviewer, other_partner
):
    claim, kept, lost = approved_but_lost_an_item(mpn, filer, reviewer, other_partner)
    assert services.dispute_refusal(claim) is None

    services.claim_dispute(user=filer, claim_id=claim.pk, justification="Our SOW covers this subscription.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DISPUTED
    kept.refresh_from_db()
    assert kept.outcome == ItemOutcome.APPROVED  # the claim keeps its other item meanwhile

    review.dispute_overturn(reviewer=reviewer, claim_id=claim.pk, note="Both SOWs are signed: compare again.")
    claim.refresh_from_db()
    lost.refresh_from_db()
    assert (claim.status, lost.outcome) == (ClaimStatus.UNDER_REVIEW, ItemOutcome.CONTESTED)
    review.item_decide(reviewer=reviewer, item_id=lost.pk, approve=True, note="Our SOW is the newest.")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert set(claim.items.values_list("outcome", flat=True)) == {ItemOutcome.APPROVED}


def test_an_upheld_dispute_of_an_item_returns_the_claim_to_approved_for_good(mpn, filer, reviewer, other_partner):
    claim, _kept, _lost = approved_but_lost_an_item(mpn, filer, reviewer, other_partner)
    services.claim_dispute(user=filer, claim_id=claim.pk, justification="Look again.")
    review.dispute_uphold(reviewer=reviewer, claim_id=claim.pk, note="The holder's SOW stands.")
    claim.refresh_from_db()
    assert (claim.status, claim.dispute_final) == (ClaimStatus.APPROVED, True)
    with pytest.raises(ClaimError, match="final"):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Again.")


def test_an_approved_claim_without_a_lost_item_cannot_be_disputed(claim, filer):
    pipeline.claims_approve_due()
    before = snapshot(claim)
    with pytest.raises(ClaimError, match="Only a rejected claim"):
        services.claim_dispute(user=filer, claim_id=claim.pk, justification="Why?")
    assert snapshot(claim) == before
