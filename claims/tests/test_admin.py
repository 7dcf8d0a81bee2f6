"""The reviewers' back office in the Django admin: who reaches it, what it shows, and that
its forms go through the review services."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims import review
from claims.events import EventAction
from claims.models import Claim, ClaimEvent, ClaimStatus, Comment, ItemOutcome, RejectionReason
from claims.tests.factories import PDF_BYTES, ClaimFactory, ProofFactory, SubscriptionItemFactory
from claims.tests.test_review import competing_claims, make_reviewer, put_under_review
from cpor.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return make_reviewer()


@pytest.fixture
def claim():
    claim = ClaimFactory(name="Contoso rollout")
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim)


def as_user(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def admin_urls(claim, item, proof):
    """Every admin URL this part adds or relies on, with the method it answers."""
    return [
        ("get", reverse("admin:claims_claim_changelist")),
        ("get", reverse("admin:claims_claim_change", args=[claim.pk])),
        ("post", reverse("admin:claims_claim_comment", args=[claim.pk])),
        ("post", reverse("admin:claims_claim_internal_note", args=[claim.pk])),
        ("post", reverse("admin:claims_claim_request_information", args=[claim.pk])),
        ("post", reverse("admin:claims_claim_reject", args=[claim.pk])),
        ("post", reverse("admin:claims_claim_take", args=[claim.pk])),
        ("post", reverse("admin:claims_claim_release", args=[claim.pk])),
        ("get", reverse("admin:claims_claim_dashboard")),
        ("get", reverse("admin:claims_claim_arbitrate", args=[item.pk])),
        ("post", reverse("admin:claims_claim_arbitrate", args=[item.pk])),
        ("get", reverse("admin:claims_claim_arbitration_queue")),
        ("get", reverse("admin:claims_claim_proof_download", args=[proof.pk])),
        ("get", reverse("admin:claims_claimevent_changelist")),
        ("get", reverse("admin:claims_comment_changelist")),
    ]


@pytest.fixture
def world():
    winner, loser = competing_claims()
    proof = ProofFactory(claim=winner.claim)
    return winner.claim, winner, proof


# --- Who reaches it -------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_admin_sign_in(world):
    claim, item, proof = world
    for method, url in admin_urls(claim, item, proof):
        response = getattr(as_user(None), method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


def test_partner_users_cannot_reach_the_back_office(world, incentives_admin):
    claim, item, proof = world
    client = as_user(incentives_admin)
    for method, url in admin_urls(claim, item, proof):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    item.refresh_from_db()
    assert item.outcome == ItemOutcome.CONTESTED


def test_staff_who_are_not_reviewers_are_refused(world):
    claim, item, proof = world
    client = as_user(UserFactory(is_staff=True))
    for method, url in admin_urls(claim, item, proof):
        response = getattr(client, method)(url, {"body": "x", "message": "x", "reason": "no_response", "item": item.pk})
        assert response.status_code == 403, url
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert claim.assigned_to is None
    assert not Comment.objects.exists()


def test_non_reviewer_staff_do_not_see_the_claims_app(reviewer):
    index = as_user(UserFactory(is_staff=True)).get(reverse("admin:index"))
    assert reverse("admin:claims_claim_changelist") not in index.content.decode()
    index = as_user(reviewer).get(reverse("admin:index"))
    assert reverse("admin:claims_claim_changelist") in index.content.decode()


def test_review_actions_answer_only_post(reviewer, claim):
    client = as_user(reviewer)
    for name in ("comment", "internal_note", "request_information", "reject", "take", "release"):
        assert client.get(reverse(f"admin:claims_claim_{name}", args=[claim.pk])).status_code == 405


def test_review_actions_need_the_csrf_token(reviewer, claim):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    response = client.post(reverse("admin:claims_claim_request_information", args=[claim.pk]), {"message": "More"})
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW


def test_reviewers_cannot_add_change_or_delete_claims(reviewer, claim):
    client = as_user(reviewer)
    assert client.get(reverse("admin:claims_claim_add")).status_code == 403
    assert client.get(reverse("admin:claims_claim_delete", args=[claim.pk])).status_code == 403
    response = client.post(reverse("admin:claims_claim_change", args=[claim.pk]), {"name": "Renamed"})
    assert response.status_code == 403
    claim.refresh_from_db()
    assert claim.name == "Contoso rollout"


def test_events_and_comments_are_read_only_for_audit(reviewer, claim):
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="note", internal=True)
    client = as_user(reviewer)
    event = ClaimEvent.objects.filter(claim=claim).first()
    comment = Comment.objects.get()
    assert client.get(reverse("admin:claims_claimevent_add")).status_code == 403
    assert client.get(reverse("admin:claims_claimevent_delete", args=[event.pk])).status_code == 403
    assert client.get(reverse("admin:claims_comment_delete", args=[comment.pk])).status_code == 403
    assert client.get(reverse("admin:claims_claimevent_change", args=[event.pk])).status_code == 200
    assert client.post(reverse("admin:claims_comment_change", args=[comment.pk]), {"body": "x"}).status_code == 403
    comment.refresh_from_db()
    assert comment.body == "note"


# --- The list -------------------------------------------------------------------------------------


def test_changelist_lists_submitted_claims_not_drafts(reviewer, claim):
    draft = ClaimFactory(name="Secret draft")
    response = as_user(reviewer).get(reverse("admin:claims_claim_changelist"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Contoso rollout" in content
    assert draft.name not in content


def test_changelist_finds_a_claim_by_upper_case_tenant_guid(reviewer, claim):
    other = ClaimFactory(name="Other customer")
    put_under_review(other)
    response = as_user(reviewer).get(reverse("admin:claims_claim_changelist"), {"q": str(claim.tenant_guid).upper()})
    assert list(response.context["cl"].result_list) == [claim]


@pytest.mark.parametrize(
    "term",
    [
        lambda claim: str(claim.pk),
        lambda claim: f"#{claim.pk}",
        lambda claim: "CONTOSO ROLL",
        lambda claim: claim.domain.upper(),
        lambda claim: claim.partner.partner_id,
        lambda claim: claim.partner.name,
        lambda claim: claim.mpn.mpn_id,
    ],
    ids=["id", "hash-id", "name", "domain", "partner-id", "partner-name", "mpn-id"],
)
def test_changelist_search(reviewer, claim, term):
    other = ClaimFactory(name="Other customer")
    put_under_review(other)
    response = as_user(reviewer).get(reverse("admin:claims_claim_changelist"), {"q": term(claim)})
    assert claim in list(response.context["cl"].result_list)
    assert other not in list(response.context["cl"].result_list)


def test_changelist_flags_and_filters_overdue_reviews(reviewer, claim):
    late = ClaimFactory(name="Late one")
    SubscriptionItemFactory(claim=late)
    put_under_review(late, review_due_at=timezone.now() - timedelta(hours=2))
    client = as_user(reviewer)
    response = client.get(reverse("admin:claims_claim_changelist"))
    assert response.content.decode().count('class="review-overdue"') == 1
    response = client.get(reverse("admin:claims_claim_changelist"), {"overdue": "yes"})
    assert list(response.context["cl"].result_list) == [late]
    response = client.get(reverse("admin:claims_claim_changelist"), {"overdue": "no"})
    assert list(response.context["cl"].result_list) == [claim]


def test_every_time_on_the_reviewers_claim_pages_names_its_zone(reviewer, claim):
    claim.review_due_at = claim.opt_out_deadline = timezone.make_aware(timezone.datetime(2026, 11, 30, 22, 59, 59))
    claim.save(update_fields=["review_due_at", "opt_out_deadline"])
    client = as_user(reviewer)

    listing = client.get(reverse("admin:claims_claim_changelist")).content.decode()
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()

    paris = "Nov. 30, 2026, 11:59 p.m. (Europe/Paris)"
    assert listing.count(paris) == 2  # the opt-out deadline and review due columns
    assert f"<strong>Opt-out deadline:</strong> {paris}" in page
    assert f"<strong>Review due:</strong> {paris}" in page
    assert page.count(paris) == 4  # and in the Dates fieldset
    assert "10:59 p.m." not in page  # never the same moment in UTC without saying so
    assert "(UTC)" in page  # what happened (Submitted, the History), in the reader's zone


def test_changelist_filters_claims_with_contested_items(reviewer, claim):
    winner, loser = competing_claims()
    response = as_user(reviewer).get(reverse("admin:claims_claim_changelist"), {"contested": "yes"})
    assert set(response.context["cl"].result_list) == {winner.claim, loser.claim}


def test_changelist_filters_by_status(reviewer, claim):
    other = ClaimFactory()
    SubscriptionItemFactory(claim=other)
    put_under_review(other)
    review.claim_request_information(reviewer=reviewer, claim_id=other.pk, message="More")
    response = as_user(reviewer).get(reverse("admin:claims_claim_changelist"), {"status__exact": "action_required"})
    assert list(response.context["cl"].result_list) == [other]


def test_changelist_costs_the_same_queries_for_many_claims(reviewer, claim):
    client = as_user(reviewer)
    url = reverse("admin:claims_claim_changelist")
    client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(5):
        more = ClaimFactory()
        SubscriptionItemFactory(claim=more)
        put_under_review(more)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


# --- The claim's page -----------------------------------------------------------------------------


def test_change_page_shows_fields_items_proofs_comments_history_and_actions(reviewer, claim):
    ProofFactory(claim=claim, original_name="signed-sow.pdf")
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="Visible remark", internal=False)
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="Private remark", internal=True)
    response = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[claim.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    item = claim.items.get()
    for text in (
        "Contoso rollout",
        claim.customer_contact_email,
        item.label,
        "signed-sow.pdf",
        reverse("admin:claims_claim_proof_download", args=[claim.proofs.get().pk]),
        "Visible remark",
        "Private remark",
        "Internal note",
        "History",
        reverse("admin:claims_claim_comment", args=[claim.pk]),
        reverse("admin:claims_claim_internal_note", args=[claim.pk]),
        reverse("admin:claims_claim_request_information", args=[claim.pk]),
        reverse("admin:claims_claim_reject", args=[claim.pk]),
    ):
        assert text in content, text
    assert content.count('class="review-comment review-internal"') == 1
    assert 'name="_save"' not in content  # read-only: nothing to save


def test_change_page_links_a_contested_item_to_arbitration(reviewer):
    winner, _ = competing_claims()
    response = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[winner.claim_id]))
    assert reverse("admin:claims_claim_arbitrate", args=[winner.pk]) in response.content.decode()
    assert "Arbitrate" in response.content.decode()


def test_change_page_of_a_decided_claim_offers_only_comments(reviewer, claim):
    review.claim_reject(reviewer=reviewer, claim_id=claim.pk, reason=RejectionReason.PARTNER_REQUEST)
    content = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert reverse("admin:claims_claim_reject", args=[claim.pk]) not in content
    assert reverse("admin:claims_claim_request_information", args=[claim.pk]) not in content
    assert reverse("admin:claims_claim_comment", args=[claim.pk]) in content


def test_a_draft_has_no_page_in_the_back_office(reviewer):
    draft = ClaimFactory()
    client = as_user(reviewer)
    response = client.get(reverse("admin:claims_claim_change", args=[draft.pk]))
    assert response.status_code == 302  # the admin's "doesn't exist" redirect
    assert client.post(reverse("admin:claims_claim_comment", args=[draft.pk]), {"body": "x"}).status_code == 404


# --- Customer notices (issue 7): who was notified, when, and any send failure -----------------------


def notices_claim(settings):
    """A claim the pipeline validated, whose notices met a mail server refusing connections."""
    from claims import notices, pipeline
    from claims.tests.test_pipeline import refuse_connections, submitted_claim

    claim = submitted_claim(name="Contoso unsent")
    pipeline.claim_validate(claim_id=claim.pk)
    refuse_connections(settings)
    with pytest.raises(OSError):
        notices.customer_emails_send(claim_id=claim.pk)
    claim.refresh_from_db()
    return claim


def test_change_page_shows_each_customer_notice_with_its_send_failure(reviewer, settings):
    claim = notices_claim(settings)
    content = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'id="customer-not-notified"' in content
    assert "Customer not yet notified: the opt-out window starts when the customer contact" in content
    for text in (claim.customer_contact_email, claim.technical_contact_email, "Customer contact", "Technical contact"):
        assert text in content, text
    assert content.count('class="customer-notice notice-unsent"') == 2
    assert content.count("Not sent") == 2
    assert "Connection refused" in content or "Errno" in content  # the mail server's answer, as recorded


def test_change_page_shows_when_each_notice_was_sent(reviewer, settings):
    from claims import notices

    claim = notices_claim(settings)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notices.customer_emails_retry()
    content = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'id="customer-not-notified"' not in content
    assert content.count('class="customer-notice notice-sent"') == 2
    assert "Not sent" not in content


def test_changelist_filters_claims_whose_customer_is_not_yet_notified(reviewer, settings, claim):
    unsent = notices_claim(settings)
    client = as_user(reviewer)
    url = reverse("admin:claims_claim_changelist")
    assert list(client.get(url, {"customer_notified": "no"}).context["cl"].result_list) == [unsent]
    page = client.get(url).content.decode()
    assert "Customer not yet notified" in page


def test_the_customer_notice_display_reads_in_french(settings):
    from django.utils import translation

    claim = notices_claim(settings)
    reviewer = make_reviewer(language="fr")
    with translation.override("fr"):
        content = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert "Client pas encore averti" in content and "Avis au client" in content and "Non envoyé" in content


# --- Actions --------------------------------------------------------------------------------------


def test_posting_request_information_changes_the_status_and_writes_the_event(reviewer, claim):
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_request_information", args=[claim.pk]), {"message": "Send the signed SOW."}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:claims_claim_change", args=[claim.pk])
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ACTION_REQUIRED
    event = claim.events.get(action=EventAction.INFORMATION_REQUESTED)
    assert (event.actor, event.to_status) == (reviewer, ClaimStatus.ACTION_REQUIRED)
    assert claim.comments.get(is_internal=False).body == "Send the signed SOW."


def test_posting_an_internal_note_keeps_it_internal(reviewer, claim):
    as_user(reviewer).post(reverse("admin:claims_claim_internal_note", args=[claim.pk]), {"body": "Call the CIO"})
    note = claim.comments.get()
    assert note.is_internal
    assert claim.events.get(action=EventAction.REVIEWER_COMMENT).data["internal"] is True


def test_posting_a_comment_to_the_partner(reviewer, claim):
    response = as_user(reviewer).post(reverse("admin:claims_claim_comment", args=[claim.pk]), {"body": "Thanks"})
    assert not claim.comments.get().is_internal
    assert "Comment sent to the partner." in messages_of(response)


def test_posting_a_rejection_with_its_reason(reviewer, claim):
    as_user(reviewer).post(
        reverse("admin:claims_claim_reject", args=[claim.pk]), {"reason": RejectionReason.CUSTOMER_DECLINED}
    )
    claim.refresh_from_db()
    assert (claim.status, claim.rejection_reason) == (ClaimStatus.REJECTED, RejectionReason.CUSTOMER_DECLINED)


def test_a_rejection_for_other_without_note_is_refused_with_a_message(reviewer, claim):
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_reject", args=[claim.pk]), {"reason": RejectionReason.OTHER, "note": ""}
    )
    assert response.status_code == 302
    assert any("note is required" in message for message in messages_of(response))
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert not claim.events.filter(action="rejected").exists()


def test_a_domain_error_is_shown_as_an_admin_message(reviewer, claim):
    client = as_user(reviewer)
    client.post(reverse("admin:claims_claim_request_information", args=[claim.pk]), {"message": "First"})
    response = client.post(reverse("admin:claims_claim_request_information", args=[claim.pk]), {"message": "Again"})
    assert any("not answered the previous request" in message for message in messages_of(response))
    assert claim.comments.count() == 1


def test_an_empty_form_is_refused_with_a_message(reviewer, claim):
    response = as_user(reviewer).post(reverse("admin:claims_claim_comment", args=[claim.pk]), {"body": ""})
    assert messages_of(response)
    assert not claim.comments.exists()


# --- Arbitration page -----------------------------------------------------------------------------


def test_arbitration_page_shows_every_partner_side_by_side_with_the_holder(reviewer):
    first, second = competing_claims()
    ProofFactory(claim=first.claim, original_name="first-sow.pdf")
    ProofFactory(claim=second.claim, original_name="second-sow.pdf")
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=second.claim_id, body="Hmm", internal=True)
    response = as_user(reviewer).get(reverse("admin:claims_claim_arbitrate", args=[first.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    for entry in (first, second):
        assert f'id="side-{entry.pk}"' in content
        assert entry.claim.partner.name in content
        assert entry.claim.mpn.mpn_id in content
        assert f'name="item" value="{entry.pk}"' in content
    assert "first-sow.pdf" in content and "second-sow.pdf" in content
    assert "Internal note" in content
    assert content.count("Approve this partner") == 2
    assert content.count("Window closed: approving approves the item now.") == 2


def test_posting_approve_on_the_arbitration_page_decides_the_item(reviewer):
    first, second = competing_claims(window_closed=True)
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    response = as_user(reviewer).post(url, {"item": second.pk, "decision": "approve", "note": "Clear SOW"})
    assert response.status_code == 302 and response["Location"] == url
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.APPROVED)
    assert Claim.objects.get(pk=second.claim_id).status == ClaimStatus.APPROVED
    page = as_user(reviewer).get(url).content.decode()
    assert "Already decided" in page
    assert "Approve this partner" not in page


def test_posting_reject_on_the_arbitration_page_rejects_only_that_item(reviewer):
    first, second = competing_claims()
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    as_user(reviewer).post(url, {"item": first.pk, "decision": "reject"})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.outcome, second.outcome) == (ItemOutcome.REJECTED, ItemOutcome.CONTESTED)


def test_arbitration_page_refuses_an_item_from_another_comparison(reviewer):
    first, _ = competing_claims()
    elsewhere, _ = competing_claims()
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_arbitrate", args=[first.pk]),
        {"item": elsewhere.pk, "decision": "approve", "note": "Clear SOW"},
    )
    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.outcome == ItemOutcome.CONTESTED


def test_a_decision_already_taken_is_shown_as_a_message(reviewer):
    first, second = competing_claims()
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    client = as_user(reviewer)
    client.post(url, {"item": first.pk, "decision": "approve", "note": "Clear SOW"})
    response = client.post(url, {"item": second.pk, "decision": "approve", "note": "Clear SOW"})
    assert any("no longer waiting for arbitration" in message for message in messages_of(response))


def test_request_information_from_the_arbitration_page_comes_back_to_it(reviewer):
    first, second = competing_claims()
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_request_information", args=[second.claim_id]), {"message": "More", "next": url}
    )
    assert response["Location"] == url
    second.claim.refresh_from_db()
    assert second.claim.status == ClaimStatus.ACTION_REQUIRED


def test_an_outside_next_address_is_ignored(reviewer, claim):
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_comment", args=[claim.pk]), {"body": "Hi", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("admin:claims_claim_change", args=[claim.pk])


# --- Proof of execution ---------------------------------------------------------------------------


def test_reviewers_download_proof_as_an_attachment(reviewer, claim):
    proof = ProofFactory(claim=claim, original_name="signed-sow.pdf")
    response = as_user(reviewer).get(reverse("admin:claims_claim_proof_download", args=[proof.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert "signed-sow.pdf" in response["Content-Disposition"]
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_a_drafts_proof_is_not_downloadable_in_the_back_office(reviewer):
    proof = ProofFactory()
    response = as_user(reviewer).get(reverse("admin:claims_claim_proof_download", args=[proof.pk]))
    assert response.status_code == 404


def test_audit_lists_search_by_claim_id_or_text(reviewer, claim):
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="Checked the SOW", internal=True)
    client = as_user(reviewer)
    for url in (reverse("admin:claims_claimevent_changelist"), reverse("admin:claims_comment_changelist")):
        assert client.get(url, {"q": str(claim.pk)}).status_code == 200
        assert client.get(url, {"q": "sow"}).status_code == 200
    response = client.get(reverse("admin:claims_comment_changelist"), {"q": "sow"})
    assert [comment.body for comment in response.context["cl"].result_list] == ["Checked the SOW"]


# --- Arbitration: every claim may win, with a rationale; the queue ------------------------------------


def test_arbitration_page_offers_approve_for_the_holder_the_legacy_holder_and_every_contender(reviewer):
    from claims.tests.test_review import holder_and_challengers, legacy_holder_of

    holder, (first, second) = holder_and_challengers(2)
    legacy = legacy_holder_of(holder.subscription)
    content = as_user(reviewer).get(reverse("admin:claims_claim_arbitrate", args=[first.pk])).content.decode()
    for entry in (holder, first, second):
        assert f'name="item" value="{entry.pk}"' in content
    assert f'id="legacy-{legacy.pk}"' in content and f'name="legacy" value="{legacy.pk}"' in content
    assert legacy.partner.name in content
    assert content.count("Approve this partner") == 4
    assert content.count('name="decision" value="reject"') == 2  # contenders only
    assert "Rationale (required to approve" in content


def test_arbitration_page_lists_proof_of_execution_newest_first_with_upload_dates(reviewer):
    from claims.models import ProofOfExecution

    first, _ = competing_claims()
    older = ProofFactory(claim=first.claim, original_name="older-sow.pdf")
    ProofFactory(claim=first.claim, original_name="newer-sow.pdf")
    ProofOfExecution.objects.filter(pk=older.pk).update(uploaded_at=timezone.now() - timedelta(days=40))
    content = as_user(reviewer).get(reverse("admin:claims_claim_arbitrate", args=[first.pk])).content.decode()
    assert content.index("newer-sow.pdf") < content.index("older-sow.pdf")
    assert "Proof of execution, newest first" in content


def test_approving_without_a_rationale_is_refused_with_a_message_and_nothing_changes(reviewer):
    first, second = competing_claims()
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    response = as_user(reviewer).post(url, {"item": first.pk, "decision": "approve", "note": "  "})
    assert response.status_code == 302 and response["Location"] == url
    assert any("Write the rationale" in message for message in messages_of(response))
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.outcome, second.outcome) == (ItemOutcome.CONTESTED, ItemOutcome.CONTESTED)
    assert not Comment.objects.filter(claim_id__in=[first.claim_id, second.claim_id]).exists()


def test_the_refusal_reads_in_french_for_a_french_reviewer(reviewer):
    reviewer.language = "fr"
    reviewer.save(update_fields=["language"])
    first, _ = competing_claims()
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    response = as_user(reviewer).post(
        url, {"item": first.pk, "decision": "approve", "note": ""}, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert any("Rédigez la justification" in message for message in messages_of(response))


def test_posting_approve_for_the_legacy_holder_rejects_every_contender(reviewer):
    from claims.tests.test_review import legacy_holder_of

    first, second = competing_claims()
    legacy = legacy_holder_of(first.subscription)
    url = reverse("admin:claims_claim_arbitrate", args=[second.pk])
    response = as_user(reviewer).post(url, {"legacy": legacy.pk, "decision": "approve", "note": "Long-standing SOW"})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    legacy.refresh_from_db()
    assert (first.outcome, second.outcome, legacy.ended_at) == (ItemOutcome.REJECTED, ItemOutcome.REJECTED, None)
    assert "Long-standing SOW" in Comment.objects.get(claim_id=first.claim_id).body


def test_a_legacy_association_of_another_item_is_not_found_on_the_page(reviewer):
    from claims.tests.test_review import legacy_holder_of
    from tenants.tests.factories import SubscriptionFactory

    first, _ = competing_claims()
    elsewhere = legacy_holder_of(SubscriptionFactory())
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_arbitrate", args=[first.pk]),
        {"legacy": elsewhere.pk, "decision": "approve", "note": "Why not"},
    )
    assert response.status_code == 404
    first.refresh_from_db()
    assert first.outcome == ItemOutcome.CONTESTED


def test_a_legacy_association_cannot_be_rejected_from_the_page(reviewer):
    from claims.tests.test_review import legacy_holder_of

    first, _ = competing_claims()
    legacy = legacy_holder_of(first.subscription)
    response = as_user(reviewer).post(
        reverse("admin:claims_claim_arbitrate", args=[first.pk]), {"legacy": legacy.pk, "decision": "reject"}
    )
    assert any("can only be approved" in message for message in messages_of(response))
    legacy.refresh_from_db()
    assert legacy.ended_at is None


def test_the_arbitration_queue_lists_items_oldest_first_and_links_to_each_comparison(reviewer):
    recent, _ = competing_claims()
    oldest, *_ = competing_claims(3)
    Claim.objects.filter(pk=oldest.claim_id).update(submitted_at=timezone.now() - timedelta(days=30))
    response = as_user(reviewer).get(reverse("admin:claims_claim_arbitration_queue"))
    assert response.status_code == 200
    content = response.content.decode()
    first_link = reverse("admin:claims_claim_arbitrate", args=[oldest.pk])
    second_link = reverse("admin:claims_claim_arbitrate", args=[recent.pk])
    assert first_link in content and second_link in content
    assert content.index(first_link) < content.index(second_link)
    assert [entry.contenders for entry in response.context["queue"]] == [3, 2]


def test_the_arbitration_queue_says_when_nothing_waits(reviewer, claim):
    response = as_user(reviewer).get(reverse("admin:claims_claim_arbitration_queue"))
    assert "No item is waiting for arbitration." in response.content.decode()


def test_the_claims_list_links_to_the_arbitration_queue(reviewer):
    content = as_user(reviewer).get(reverse("admin:claims_claim_changelist")).content.decode()
    assert reverse("admin:claims_claim_arbitration_queue") in content


def test_reviewers_see_claims_left_in_submitted_for_more_than_five_minutes(reviewer, claim):
    from claims.tests.test_pipeline import submitted_claim

    stuck, recent = submitted_claim(), submitted_claim()
    Claim.objects.filter(pk=stuck.pk).update(submitted_at=timezone.now() - timedelta(minutes=6))
    Claim.objects.filter(pk=recent.pk).update(submitted_at=timezone.now() - timedelta(minutes=4))
    client = as_user(reviewer)
    url = reverse("admin:claims_claim_changelist")
    assert list(client.get(url, {"stuck": "yes"}).context["cl"].result_list) == [stuck]
    assert "Stuck in Submitted (&gt; 5 min)" in client.get(url).content.decode()
    page = client.get(reverse("admin:claims_claim_change", args=[stuck.pk])).content.decode()
    assert 'id="stuck-in-submitted"' in page
    for other in (recent, claim):
        page = client.get(reverse("admin:claims_claim_change", args=[other.pk])).content.decode()
        assert 'id="stuck-in-submitted"' not in page
    french = as_user(make_reviewer(language="fr")).get(reverse("admin:claims_claim_change", args=[stuck.pk]))
    assert "Bloquée à l’état Soumise depuis plus de 5 minutes" in french.content.decode()
