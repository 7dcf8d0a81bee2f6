"""Partner notifications and emails (PRODUCT.md section 6): who is told, once, in which
language, and what happens when the mail server fails."""

from smtplib import SMTPException

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.test import override_settings

from claims import lifecycle, review
from claims.events import EventAction
from claims.models import ClaimEvent, ClaimStatus, RejectionReason
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_review import make_reviewer, put_under_review
from cpor.models import Role
from cpor.tests.factories import partner_user
from notifications import services, tasks
from notifications.models import Notification, PartnerEmail

pytestmark = pytest.mark.django_db

SITE_URL = "https://cpor.example.test"
FAILING_BACKEND = "notifications.tests.test_services.FailingSMTPBackend"


class FailingSMTPBackend(BaseEmailBackend):
    """A mail server that is down: every send fails the way smtplib does."""

    def send_messages(self, email_messages):
        raise SMTPException("421 Service not available")


@pytest.fixture
def team(partner):
    """The claim's partner: its creator (French), a colleague, a deactivated user; and a
    user of another partner."""
    creator = partner_user(partner, Role.INCENTIVES_ADMIN, email="creator@partner.example", language="fr")
    colleague = partner_user(partner, Role.INCENTIVES_USER, email="colleague@partner.example")
    gone = partner_user(partner, Role.BILLING_ADMIN, email="gone@partner.example", is_active=False)
    outsider = partner_user(None, Role.INCENTIVES_ADMIN, email="outsider@other.example")
    return {"creator": creator, "colleague": colleague, "gone": gone, "outsider": outsider}


@pytest.fixture
def claim(partner, team):
    claim = ClaimFactory(
        mpn__partner=partner, created_by=team["creator"], partner_contact_email="contact@partner.example"
    )
    SubscriptionItemFactory(claim=claim)
    return claim


def submitted(claim):
    with transaction.atomic():
        return lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.SUBMITTED, action="submitted")


def event_on(claim, action, *, from_status="", to_status="", data=None):
    with transaction.atomic():
        return lifecycle.record_event(claim, action=action, from_status=from_status, to_status=to_status, data=data)


# Every kind of event the partner contact is told about: the status changes and the item
# events of validation and arbitration.
PARTNER_EVENTS = [
    ("submitted", ClaimStatus.DRAFT, ClaimStatus.SUBMITTED),
    ("validation_failed", ClaimStatus.SUBMITTED, ClaimStatus.VALIDATION_FAILED),
    ("validated", ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW),
    ("information_requested", ClaimStatus.UNDER_REVIEW, ClaimStatus.ACTION_REQUIRED),
    ("partner_responded", ClaimStatus.ACTION_REQUIRED, ClaimStatus.UNDER_REVIEW),
    ("approved", ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED),
    ("rejected", ClaimStatus.UNDER_REVIEW, ClaimStatus.REJECTED),
    ("opted_out", ClaimStatus.UNDER_REVIEW, ClaimStatus.OPTED_OUT),
    ("ended", ClaimStatus.APPROVED, ClaimStatus.ENDED),
    ("competing_claim", "", ""),
    ("item_rejected", "", ""),
    ("item_ended", "", ""),
    ("arbitration_won", "", ""),
]


@pytest.mark.parametrize(("action", "from_status", "to_status"), PARTNER_EVENTS)
def test_each_partner_event_notifies_every_active_user_of_the_partner_and_emails_the_contacts(
    claim, team, action, from_status, to_status
):
    item = claim.items.get()
    event = event_on(claim, action, from_status=from_status, to_status=to_status, data={"item": item.pk})

    sent = services.event_emails_send(event_id=event.pk)

    notified = set(Notification.objects.filter(event=event).values_list("user__email", flat=True))
    assert notified == {"creator@partner.example", "colleague@partner.example"}
    assert sent == 2
    assert sorted(message.to[0] for message in mail.outbox) == ["contact@partner.example", "creator@partner.example"]
    assert all(len(message.to) == 1 for message in mail.outbox)
    assert PartnerEmail.objects.filter(event=event, sent_at__isnull=False).count() == 2


@pytest.mark.parametrize(
    ("action", "from_status", "to_status"),
    [
        ("draft_created", "", ClaimStatus.DRAFT),
        ("comment_added", "", ""),
        ("poe_added", "", ""),
        ("customer_notified", "", ""),
    ],
)
def test_events_the_partner_is_not_told_about_notify_nobody(claim, action, from_status, to_status):
    event = event_on(claim, action, from_status=from_status, to_status=to_status)

    assert services.event_emails_send(event_id=event.pk) == 0
    assert not Notification.objects.exists()
    assert not PartnerEmail.objects.exists()
    assert mail.outbox == []


def test_reviewer_internal_notes_are_never_notified(claim):
    put_under_review(claim)
    reviewer = make_reviewer()
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="Looks odd", internal=True)
    note = ClaimEvent.objects.get(action=EventAction.REVIEWER_COMMENT)
    # Even an internal event that looks like a notified one stays unsaid.
    internal_item_event = event_on(claim, "item_rejected", data={"internal": True})

    assert services.event_emails_send(event_id=note.pk) == 0
    assert services.event_emails_send(event_id=internal_item_event.pk) == 0
    services.notify_pending_events()

    assert not Notification.objects.filter(event__in=[note, internal_item_event]).exists()
    assert not PartnerEmail.objects.filter(event__in=[note, internal_item_event]).exists()
    assert not any("Looks odd" in message.body for message in mail.outbox)


def test_reviewers_taking_or_releasing_a_claim_is_never_notified(claim):
    put_under_review(claim)
    first, second = make_reviewer(), make_reviewer()
    review.claim_take(reviewer=first, claim_id=claim.pk)
    review.claim_take(reviewer=second, claim_id=claim.pk, take_over=True)
    review.claim_release(reviewer=second, claim_id=claim.pk)
    desk = list(
        ClaimEvent.objects.filter(
            action__in=[EventAction.CLAIM_TAKEN, EventAction.CLAIM_TAKEN_OVER, EventAction.CLAIM_RELEASED]
        )
    )
    assert len(desk) == 3

    for event in desk:
        assert services.event_emails_send(event_id=event.pk) == 0
    services.notify_pending_events()

    assert not Notification.objects.filter(event__in=desk).exists()
    assert not PartnerEmail.objects.filter(event__in=desk).exists()


def test_handling_an_event_twice_creates_and_sends_nothing_twice(claim):
    event = submitted(claim)

    tasks.notify_event(event.pk)
    tasks.notify_event(event.pk)
    services.notify_pending_events()
    services.emails_retry_unsent()

    assert Notification.objects.filter(event=event).count() == 2
    assert PartnerEmail.objects.filter(event=event).count() == 2
    assert len(mail.outbox) == 2


def test_one_email_when_the_partner_contact_is_the_creator(claim, team):
    claim.partner_contact_email = "Creator@Partner.example"
    claim.save(update_fields=["partner_contact_email"])

    services.event_emails_send(event_id=submitted(claim).pk)

    assert [message.to for message in mail.outbox] == [["creator@partner.example"]]


def test_each_recipient_reads_the_email_in_their_own_language(claim, team):
    # The contact is the (English-speaking) colleague; the creator reads French.
    claim.partner_contact_email = team["colleague"].email
    claim.save(update_fields=["partner_contact_email"])

    services.event_emails_send(event_id=submitted(claim).pk)

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert "Submitted" in by_recipient["colleague@partner.example"].subject
    assert "Soumise" in by_recipient["creator@partner.example"].subject
    assert "Bonjour" in by_recipient["creator@partner.example"].body


def test_a_contact_who_is_no_user_reads_the_creators_language(claim):
    services.event_emails_send(event_id=submitted(claim).pk)

    contact = next(message for message in mail.outbox if message.to == ["contact@partner.example"])
    assert PartnerEmail.objects.get(recipient="contact@partner.example").language == "fr"
    assert "Bonjour" in contact.body


@override_settings(SITE_URL=SITE_URL)
def test_the_email_has_text_and_html_parts_linking_to_the_claim_from_site_url(claim):
    services.event_emails_send(event_id=submitted(claim).pk)

    message = mail.outbox[0]
    html, mimetype = message.alternatives[0]
    link = f"{SITE_URL}/incentives/customer-associations/{claim.pk}/"
    assert mimetype == "text/html"
    assert link in message.body
    assert f'href="{link}"' in html
    assert claim.name in message.subject


def test_validation_failed_email_lists_the_reasons(claim, team):
    claim.validation_errors = [{"code": "csp", "subject": "Dynamics 365 Sales"}]
    claim.save(update_fields=["validation_errors"])
    submitted(claim)
    with transaction.atomic():
        event = lifecycle.transition(
            lifecycle.lock_claim(claim.pk), ClaimStatus.VALIDATION_FAILED, action="validation_failed"
        )

    services.event_emails_send(event_id=event.pk)

    contact = next(message for message in mail.outbox if message.to == ["contact@partner.example"])
    assert "Dynamics 365 Sales" in contact.body
    # In French, since the contact reads the creator's language.
    assert "CSP" in contact.body and "Échec de la validation" in contact.subject


def test_rejected_email_gives_the_reason(claim, team):
    put_under_review(claim)
    review.claim_reject(reviewer=make_reviewer(), claim_id=claim.pk, reason=RejectionReason.INSUFFICIENT_POE)
    event = ClaimEvent.objects.get(action="rejected")
    team["creator"].language = "en"
    team["creator"].save(update_fields=["language"])

    services.event_emails_send(event_id=event.pk)

    assert all("Insufficient proof of execution" in message.body for message in mail.outbox)


def test_arbitration_email_names_only_the_partners_own_item(claim):
    put_under_review(claim)
    item = claim.items.get()
    event = event_on(claim, "item_rejected", data={"item": 999999, "winner_claim": 424242, "label": "Other"})
    event_own = event_on(claim, "arbitration_won", data={"item": item.pk, "winner_claim": claim.pk})

    services.event_emails_send(event_id=event.pk)
    services.event_emails_send(event_id=event_own.pk)

    assert not any("424242" in message.body or "999999" in message.body for message in mail.outbox)
    assert any(str(item.subscription.subscription_id) in message.body for message in mail.outbox)


@override_settings(EMAIL_BACKEND=FAILING_BACKEND)
def test_a_mail_server_failure_leaves_the_email_unsent_and_the_retry_sends_it_later(claim):
    event = submitted(claim)

    with pytest.raises(SMTPException):
        services.event_emails_send(event_id=event.pk)

    emails = PartnerEmail.objects.filter(event=event)
    assert emails.count() == 2
    assert all(email.sent_at is None and email.attempts == 1 and "421" in email.last_error for email in emails)
    assert Notification.objects.filter(event=event).count() == 2
    assert services.emails_retry_unsent() == 0  # still down

    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        assert services.emails_retry_unsent() == 2
        assert services.emails_retry_unsent() == 0
        tasks.notify_event(event.pk)

    assert len(mail.outbox) == 2
    assert not PartnerEmail.objects.filter(sent_at__isnull=True).exists()


@override_settings(EMAIL_BACKEND=FAILING_BACKEND)
def test_the_task_retries_a_mail_server_failure_five_times_then_gives_up_to_the_periodic_job(claim):
    event = submitted(claim)

    result = tasks.notify_event.apply(args=[event.pk])

    assert isinstance(result.result, SMTPException)
    # The first run and five retries, each counted on the still-unsent rows.
    assert set(PartnerEmail.objects.values_list("attempts", flat=True)) == {6}
    assert not PartnerEmail.objects.filter(sent_at__isnull=False).exists()


def test_notify_pending_events_catches_up_events_whose_task_never_ran(claim):
    first = submitted(claim)
    ended = event_on(claim, "item_ended", data={})
    event_on(claim, "comment_added", data={"comment": 1})
    event_on(claim, "item_ended", data={"internal": True})

    assert services.notify_pending_events() == 2
    assert services.notify_pending_events() == 0
    assert services.emails_retry_unsent() == 4
    assert Notification.objects.filter(event__in=[first, ended]).count() == 4
    assert Notification.objects.count() == 4


def test_enqueueing_waits_for_the_commit(claim, django_capture_on_commit_callbacks):
    event = event_on(claim, "item_ended", data={})

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        tasks.enqueue_event_notification(event.pk)

    assert len(callbacks) == 1
    assert not Notification.objects.exists()  # nothing happens inside the writer's transaction


def test_another_partners_claim_notifies_only_that_partners_users(claim, team):
    other = ClaimFactory(created_by=team["outsider"], mpn__partner=team["outsider"].membership.partner)
    services.event_emails_send(event_id=submitted(other).pk)

    assert set(Notification.objects.values_list("user__email", flat=True)) == {"outsider@other.example"}
    assert not Notification.objects.filter(claim=claim).exists()


def test_the_subject_is_plain_text_never_html_escaped(claim, team):
    # A subject is not HTML: quotes, ampersands and angle brackets stay as typed, in both
    # languages (the French title "Échec …" and the claim's own name alike).
    claim.name = 'Contoso "CRM" & <Sales> l\'été'
    claim.save(update_fields=["name"])

    services.event_emails_send(event_id=submitted(claim).pk)

    subjects = {message.to[0]: message.subject for message in mail.outbox}
    for subject in subjects.values():
        assert 'Contoso "CRM" & <Sales> l\'été' in subject
        assert "&quot;" not in subject and "&amp;" not in subject and "&#x27;" not in subject
    html = mail.outbox[0].alternatives[0][0]
    assert "Contoso &quot;CRM&quot; &amp; &lt;Sales&gt;" in html


def test_events_recorded_together_are_notified_after_the_commit_in_a_few_tasks(
    claim, team, django_capture_on_commit_callbacks
):
    """The approval timer records its sets' events together (`lifecycle.record_events`):
    the ones the partner is told about are queued once the set commits, a task for several."""
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        items, approved = lifecycle.record_events(
            [
                ClaimEvent(claim=claim, action="items_approved", data={"items": []}),
                ClaimEvent(claim=claim, action="approved", from_status="under_review", to_status="approved"),
            ]
        )

    assert len(callbacks) == 1
    assert not Notification.objects.exists()  # nothing happens inside the writer's transaction
    assert tasks.notify_events([approved.pk]) == 2
    notified = set(Notification.objects.values_list("event__action", "user__email"))
    assert notified == {("approved", "creator@partner.example"), ("approved", "colleague@partner.example")}
    assert tasks.notify_events([approved.pk]) == 0  # a retry sends nothing twice
    assert not services.notify_pending_events()  # and items_approved is no partner event
