"""The background pipeline's rules (PRODUCT.md sections 4 to 6), against the real database."""

import datetime
import io
import json
import smtplib
import threading
import time

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends import locmem
from django.core.management import call_command
from django.db import connection, transaction

from claims import deadlines, lifecycle, notices, pipeline
from claims.models import Activity, ClaimEvent, ClaimItem, ClaimStatus, Comment, CustomerEmail, ItemOutcome
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.validation import Problem
from cpor import outbox
from cpor.models import Program
from cpor.periodic import periodic_jobs_run
from cpor.tests.factories import MpnIdFactory
from tenants.models import Channel, SolutionArea, SubscriptionStatus
from tenants.tests.factories import M365ProductFactory, SubscriptionFactory, TenantFactory

pytestmark = pytest.mark.django_db

# A Tuesday in Paris; five business days later is Tuesday 1 December, 23:59:59 local.
MONDAY_MORNING = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)
DEADLINE_UTC = datetime.datetime(2026, 12, 1, 22, 59, 59, tzinfo=datetime.UTC)


def submit(claim):
    with transaction.atomic():
        locked = lifecycle.lock_claim(claim.pk)
        locked.submitted_at = MONDAY_MORNING
        lifecycle.transition(locked, ClaimStatus.SUBMITTED, action="submitted", fields=["submitted_at"])
    claim.refresh_from_db()
    return claim


def submitted_claim(**claim_fields):
    claim = ClaimFactory(**claim_fields)
    SubscriptionItemFactory(claim=claim)
    return submit(claim)


def validated_claim(*, send_notices=True, **claim_fields):
    """A claim validated on Monday morning and, unless `send_notices` is false, whose
    customer notices went out then too: its opt-out window runs from that moment."""
    claim = submitted_claim(**claim_fields)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        pipeline.claim_validate(claim_id=claim.pk)
        if send_notices:
            notices.customer_emails_send(claim_id=claim.pk)
    claim.refresh_from_db()
    return claim


def codes(claim):
    return [problem["code"] for problem in claim.validation_errors]


class TestValidation:
    def test_a_valid_claim_goes_under_review_with_its_deadline_stored(self):
        claim = validated_claim()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.notified_at == MONDAY_MORNING
        assert claim.opt_out_deadline == DEADLINE_UTC
        assert claim.review_due_at == DEADLINE_UTC
        assert claim.validation_errors == []

    def test_passing_validation_queues_one_notice_per_customer_recipient(self):
        claim = validated_claim(send_notices=False)
        recipients = set(CustomerEmail.objects.filter(claim=claim).values_list("recipient", "role"))
        assert recipients == {(claim.customer_contact_email, "customer"), (claim.technical_contact_email, "technical")}

    def test_microsoft_365_claims_notify_only_the_customer_contact(self):
        product = M365ProductFactory()
        subscription = SubscriptionFactory(product=product)
        claim = ClaimFactory(
            tenant=subscription.tenant, solution_area=SolutionArea.MICROSOFT_365, activity=Activity.USAGE
        )
        workload = product.workloads.get(name="Exchange Online")
        ClaimItem.objects.create(
            claim=claim,
            program=Program.OSU_M365,
            product=product,
            workload=workload,
            item_key=ClaimItem.key_for_workload(claim.tenant, workload),
        )
        submit(claim)
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert list(CustomerEmail.objects.filter(claim=claim).values_list("role", flat=True)) == ["customer"]

    def test_a_domain_tenant_mismatch_fails_validation(self):
        claim = ClaimFactory()
        SubscriptionItemFactory(claim=claim)
        claim.domain = "someone-else.example"
        claim.save()
        submit(claim)
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.VALIDATION_FAILED
        assert codes(claim) == ["domain_tenant_mismatch"]
        assert not CustomerEmail.objects.filter(claim=claim).exists()

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"channel": Channel.CSP}, "csp"),
            ({"provisioned": False}, "not_provisioned"),
            ({"status": SubscriptionStatus.DISABLED}, "subscription_not_active"),
        ],
    )
    def test_subscription_errors_found_at_submission_fail_validation_with_their_reason(self, fields, code):
        claim = submitted_claim()
        item = claim.items.get()
        type(item.subscription).objects.filter(pk=item.subscription_id).update(**fields)
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.VALIDATION_FAILED
        assert codes(claim) == [code]
        event = claim.events.get(action="validation_failed")
        assert event.data["problems"] == claim.validation_errors

    def test_an_mpn_no_longer_enrolled_fails_validation(self):
        claim = submitted_claim()
        type(claim.mpn).objects.filter(pk=claim.mpn_id).update(osu_bizapps=False)
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert codes(claim) == ["mpn_not_enrolled"]

    def test_the_same_partner_claiming_twice_is_already_claimed(self):
        first = validated_claim()
        subscription = first.items.get().subscription
        second = ClaimFactory(mpn=first.mpn, tenant=first.tenant)
        SubscriptionItemFactory(claim=second, subscription=subscription)
        submit(second)
        pipeline.claim_validate(claim_id=second.pk)
        second.refresh_from_db()
        assert codes(second) == ["already_claimed"]

    def test_another_partners_claim_on_the_item_makes_it_contested_and_tells_the_partner_in_comments(self):
        first = validated_claim()
        subscription = first.items.get().subscription
        rival = ClaimFactory(mpn=MpnIdFactory(), tenant=first.tenant)
        SubscriptionItemFactory(claim=rival, subscription=subscription)
        submit(rival)
        pipeline.claim_validate(claim_id=rival.pk)
        rival.refresh_from_db()
        assert rival.status == ClaimStatus.UNDER_REVIEW
        assert rival.items.get().outcome == ItemOutcome.CONTESTED
        assert rival.events.filter(action="competing_claim").exists()
        comment = Comment.objects.get(claim=rival)
        assert "arbitration" in comment.body
        assert first.partner.name not in comment.body
        # The earlier claim is contested too: filing first wins nothing (see TestCompetingClaims).
        assert first.items.get().outcome == ItemOutcome.CONTESTED

    def test_validation_runs_once_however_often_it_is_called(self):
        claim = validated_claim()
        assert pipeline.claim_validate(claim_id=claim.pk) is None
        assert claim.events.filter(action="validated").count() == 1
        assert CustomerEmail.objects.filter(claim=claim).count() == 2

    def test_a_draft_is_never_validated(self):
        claim = ClaimFactory()
        assert pipeline.claim_validate(claim_id=claim.pk) is None
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.DRAFT


class TestCustomerNotice:
    def test_exactly_one_email_per_recipient_even_when_sent_twice(self):
        claim = validated_claim(send_notices=False)
        assert notices.customer_emails_send(claim_id=claim.pk) == 2
        assert notices.customer_emails_send(claim_id=claim.pk) == 0
        assert notices.customer_emails_retry() == 0
        assert sorted(message.to[0] for message in mail.outbox) == sorted(
            [claim.customer_contact_email, claim.technical_contact_email]
        )

    def test_the_notice_names_partner_mpn_items_deadline_and_link_in_the_tenants_language(self, settings):
        settings.SITE_URL = "https://cpor.example"
        claim = validated_claim(send_notices=False)  # the factory's tenant is French, in Paris
        with time_machine.travel(MONDAY_MORNING, tick=False):
            notices.customer_emails_send(claim_id=claim.pk)
        message = mail.outbox[0]
        html = message.alternatives[0][0]
        assert claim.partner.name in message.subject
        assert claim.mpn.mpn_id in message.body
        assert str(claim.items.get().subscription.subscription_id) in message.body
        assert "1 décembre 2026 23:59" in message.body
        assert "Europe/Paris" in message.body
        assert "https://cpor.example/opt-out/" in message.body and "https://cpor.example/opt-out/" in html

    def test_an_smtp_failure_keeps_the_notice_for_a_retry(self, settings):
        claim = validated_claim(send_notices=False)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
        with pytest.raises(OSError):
            notices.customer_emails_send(claim_id=claim.pk)
        row = CustomerEmail.objects.filter(claim=claim).first()
        assert row.sent_at is None and row.attempts == 1 and row.last_error
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert notices.customer_emails_retry() == 2

    def test_a_notice_the_mail_server_keeps_refusing_fails_after_the_capped_attempts_and_starts_no_window(
        self, settings
    ):
        claim = validated_claim(send_notices=False)
        settings.OUTBOX_MAX_ATTEMPTS = 3
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
        with pytest.raises(OSError):
            notices.customer_emails_send(claim_id=claim.pk)
        assert notices.customer_emails_retry() == 0
        assert notices.customer_emails_retry() == 0
        row = CustomerEmail.objects.get(claim=claim, role=CustomerEmail.Role.CUSTOMER)
        assert row.attempts == 3 and row.sent_at is None
        assert notices.customer_emails_retry() == 0
        row.refresh_from_db()
        assert row.attempts == 3
        assert list(CustomerEmail.objects.filter(outbox.failed())) == [row]
        claim.refresh_from_db()
        assert claim.notified_at is None and claim.opt_out_deadline is None

        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        assert outbox.outbox_retry(CustomerEmail.objects.filter(pk=row.pk)) == 1
        assert notices.customer_emails_retry() == 2
        claim.refresh_from_db()
        assert claim.notified_at is not None and claim.opt_out_deadline is not None


class RefusingBackend(locmem.EmailBackend):
    """A mail server that refuses the recipients in REFUSED (as an SMTP server refuses an
    address) and delivers the rest to the test outbox."""

    def send_messages(self, email_messages):
        for message in email_messages:
            refused = [address for address in message.to if address in REFUSED]
            if refused:
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(refused, (550, b"Mailbox unavailable")))
        return super().send_messages(email_messages)


REFUSED: set[str] = set()


@pytest.fixture
def refusing(settings):
    settings.EMAIL_BACKEND = "claims.tests.test_pipeline.RefusingBackend"
    REFUSED.clear()
    yield REFUSED
    REFUSED.clear()


def refuse_connections(settings):
    """The mail server refuses connections (nothing listens on the discard port)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1


class TestContactsAreCheckedAgain:
    """Issue 7: the background validation checks the contacts' rules again, as the directory
    and the partner's users are when it runs, each with its own reason."""

    def test_a_customer_contact_no_longer_on_the_tenants_domains_fails_validation(self):
        from django.utils import translation

        tenant = TenantFactory(domains=["contoso.onmicrosoft.com", "contoso.fr"])
        claim = submitted_claim(
            tenant=tenant, domain="contoso.onmicrosoft.com", customer_contact_email="ada@contoso.fr"
        )
        tenant.domains.filter(name="contoso.fr").delete()  # the directory feed dropped the domain
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.VALIDATION_FAILED
        assert codes(claim) == ["customer_contact_off_domain"]
        assert not CustomerEmail.objects.filter(claim=claim).exists()
        with translation.override("fr"):
            assert "domaines vérifiés" in Problem.from_dict(claim.validation_errors[0]).message

    def test_a_technical_contact_off_the_tenants_domains_fails_validation(self):
        claim = submitted_claim(technical_contact_email="someone@fabrikam.example")
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert (claim.status, codes(claim)) == (ClaimStatus.VALIDATION_FAILED, ["technical_contact_off_domain"])

    def test_a_partner_contact_no_longer_an_active_user_fails_validation(self):
        from cpor.models import User

        claim = submitted_claim()
        User.objects.filter(email=claim.partner_contact_email).update(is_active=False)
        pipeline.claim_validate(claim_id=claim.pk)
        claim.refresh_from_db()
        assert (claim.status, codes(claim)) == (ClaimStatus.VALIDATION_FAILED, ["partner_contact_not_a_user"])
        assert claim.events.get(action="validation_failed").reason.startswith("Your contact's email address")


THURSDAY = MONDAY_MORNING + datetime.timedelta(days=2)
LONG_AFTER = DEADLINE_UTC + datetime.timedelta(days=60)


class TestTheWindowStartsWhenTheCustomerIsNotified:
    """Issue 7: the opt-out window starts when the customer contact's notice has actually
    been sent; a claim whose notices cannot be sent is never approved by the timer."""

    def test_validation_alone_starts_no_window(self):
        claim = validated_claim(send_notices=False)
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert (claim.notified_at, claim.opt_out_deadline) == (None, None)
        assert "opt_out_deadline" not in claim.events.get(action="validated").data
        assert pipeline.claims_approve_due(now=LONG_AFTER) == 0

    def test_the_window_runs_from_the_moment_the_customer_contacts_notice_is_sent(self):
        claim = validated_claim(send_notices=False)
        with time_machine.travel(THURSDAY, tick=False):
            assert notices.customer_emails_send(claim_id=claim.pk) == 2
        claim.refresh_from_db()
        deadline = deadlines.opt_out_deadline(THURSDAY, tenant=claim.tenant)
        assert deadline > DEADLINE_UTC
        assert (claim.notified_at, claim.opt_out_deadline) == (THURSDAY, deadline)
        customer_row = claim.customer_emails.get(role=CustomerEmail.Role.CUSTOMER)
        assert customer_row.sent_at == THURSDAY
        event = claim.events.get(action="customer_notified", data__role=CustomerEmail.Role.CUSTOMER)
        assert event.data["opt_out_deadline"] == deadline.isoformat()
        assert "3 décembre 2026 23:59" in mail.outbox[0].body  # the deadline the customer reads is the stored one
        assert pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1)) == 0
        assert pipeline.claims_approve_due(now=deadline + datetime.timedelta(seconds=1)) == 1

    def test_with_the_mail_server_refusing_connections_the_timer_never_approves(self, settings):
        claim = validated_claim(send_notices=False)
        refuse_connections(settings)
        with pytest.raises(OSError):
            notices.customer_emails_send(claim_id=claim.pk)
        jobs = periodic_jobs_run(now=LONG_AFTER)
        assert (jobs["customer_emails"], jobs["approved"]) == (0, 0)
        assert pipeline.claim_approve_if_due(claim_id=claim.pk, now=LONG_AFTER) is None
        claim.refresh_from_db()
        assert (claim.status, claim.notified_at, claim.opt_out_deadline) == (ClaimStatus.UNDER_REVIEW, None, None)
        assert claim.items.get().outcome == ItemOutcome.PENDING
        customer_row = claim.customer_emails.get(role=CustomerEmail.Role.CUSTOMER)
        assert customer_row.sent_at is None and customer_row.attempts == 2 and customer_row.last_error
        assert not claim.events.filter(action__in=("customer_notified", "approved")).exists()

    def test_the_other_notices_wait_for_the_customer_contacts_notice(self, refusing):
        claim = validated_claim(send_notices=False)
        refusing.add(claim.customer_contact_email)
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            notices.customer_emails_send(claim_id=claim.pk)
        technical = claim.customer_emails.get(role=CustomerEmail.Role.TECHNICAL)
        assert (technical.sent_at, technical.attempts) == (None, 0)
        assert mail.outbox == []

    def test_the_timer_never_approves_a_claim_any_of_whose_notices_is_unsent(self, refusing):
        claim = validated_claim(send_notices=False)
        refusing.add(claim.technical_contact_email)
        with time_machine.travel(MONDAY_MORNING, tick=False), pytest.raises(smtplib.SMTPRecipientsRefused):
            notices.customer_emails_send(claim_id=claim.pk)
        claim.refresh_from_db()
        assert claim.opt_out_deadline == DEADLINE_UTC  # the customer contact's notice went out
        after = DEADLINE_UTC + datetime.timedelta(seconds=1)
        assert pipeline.claims_approve_due(now=after) == 0
        assert pipeline.claim_approve_if_due(claim_id=claim.pk, now=after) is None
        refusing.clear()
        assert notices.customer_emails_retry() == 1
        assert pipeline.claims_approve_due(now=after) == 1

    def test_every_notice_also_goes_to_the_tenants_notification_addresses_once_per_address(self):
        claim = submitted_claim()
        tenant = claim.tenant
        tenant.notification_emails = ["it-notify@contoso.example", "legal@contoso.example", "ada@" + claim.domain]
        tenant.save(update_fields=["notification_emails"])
        with time_machine.travel(MONDAY_MORNING, tick=False):
            pipeline.claim_validate(claim_id=claim.pk)
            pipeline.claim_validate(claim_id=claim.pk)
            assert notices.customer_emails_send(claim_id=claim.pk) == 4
        assert notices.customer_emails_send(claim_id=claim.pk) == 0
        assert set(claim.customer_emails.values_list("recipient", "role")) == {
            (claim.customer_contact_email, "customer"),
            (claim.technical_contact_email, "technical"),
            ("it-notify@contoso.example", "directory"),
            ("legal@contoso.example", "directory"),
        }
        assert sorted(message.to[0] for message in mail.outbox) == sorted(
            claim.customer_emails.values_list("recipient", flat=True)
        )
        assert all("/opt-out/" in message.body for message in mail.outbox)

    def test_a_claim_decided_before_its_customer_was_notified_is_never_announced(self):
        claim = validated_claim(send_notices=False)
        with transaction.atomic():
            lifecycle.transition(lifecycle.lock_claim(claim.pk), ClaimStatus.REJECTED, action="rejected")
        assert notices.customer_emails_send(claim_id=claim.pk) == 0
        assert notices.customer_emails_retry() == 0
        assert mail.outbox == []
        claim.refresh_from_db()
        assert claim.opt_out_deadline is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_at_once_send_each_notice_once_and_start_the_window_once():
    claim = validated_claim(send_notices=False)
    barrier = threading.Barrier(2)
    errors = []

    def send():
        barrier.wait()
        try:
            notices.customer_emails_send(claim_id=claim.pk)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    notices.customer_emails_retry()  # whatever a skipping worker left, the periodic pass sends

    assert errors == []
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [claim.customer_contact_email, claim.technical_contact_email]
    )
    assert claim.events.filter(action="customer_notified").count() == 2
    claim.refresh_from_db()
    assert claim.notified_at is not None
    assert claim.opt_out_deadline == deadlines.opt_out_deadline(claim.notified_at, tenant=claim.tenant)


class TestOptOut:
    def test_opening_the_link_changes_nothing(self, client):
        claim = validated_claim()
        with time_machine.travel(MONDAY_MORNING, tick=False):
            response = client.get(notices.opt_out_url(claim).split("8000", 1)[-1])
        assert response.status_code == 200
        assert claim.partner.name in response.content.decode()
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW

    def test_the_confirm_button_opts_out_once(self, client):
        claim = validated_claim()
        path = notices.opt_out_url(claim).split("8000", 1)[-1]
        with time_machine.travel(MONDAY_MORNING, tick=False):
            assert client.post(path).status_code == 200
            claim.refresh_from_db()
            assert claim.status == ClaimStatus.OPTED_OUT
            assert claim.items.get().outcome == ItemOutcome.REJECTED
            event = claim.events.get(action="opted_out")
            assert event.actor is None and event.data == {"by": "customer"}
            again = client.post(path)
        assert again.status_code == 410
        assert "no longer applies" in again.content.decode().lower() or "plus" in again.content.decode()
        assert claim.events.filter(action="opted_out").count() == 1

    def test_a_tampered_link_says_it_is_not_valid_and_changes_nothing(self, client):
        claim = validated_claim()
        path = notices.opt_out_url(claim).split("8000", 1)[-1]
        response = client.post(path[:-3] + "xyz/")
        assert response.status_code == 404
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW

    def test_a_link_with_a_revoked_nonce_no_longer_applies(self):
        claim = validated_claim()
        token = notices.opt_out_token(claim)
        type(claim).objects.filter(pk=claim.pk).update(opt_out_nonce="00000000-0000-0000-0000-000000000000")
        assert notices.claim_for_opt_out_token(token) is None

    def test_after_the_deadline_the_link_no_longer_applies(self, client):
        claim = validated_claim()
        path = notices.opt_out_url(claim).split("8000", 1)[-1]
        with time_machine.travel(DEADLINE_UTC + datetime.timedelta(seconds=1), tick=False):
            response = client.post(path)
        assert response.status_code == 410
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW


class TestApprovalTimer:
    def test_nothing_is_approved_before_the_deadline(self):
        claim = validated_claim()
        assert pipeline.claims_approve_due(now=DEADLINE_UTC) == 0
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW

    def test_after_the_deadline_pending_items_and_the_claim_are_approved(self):
        claim = validated_claim()
        after = DEADLINE_UTC + datetime.timedelta(seconds=1)
        assert pipeline.claims_approve_due(now=after) == 1
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.APPROVED
        assert claim.decided_at == after
        assert claim.items.get().outcome == ItemOutcome.APPROVED

    def test_running_the_timer_twice_approves_nothing_twice(self):
        claim = validated_claim()
        after = DEADLINE_UTC + datetime.timedelta(days=1)
        pipeline.claims_approve_due(now=after)
        assert pipeline.claims_approve_due(now=after) == 0
        assert claim.events.filter(action="approved").count() == 1

    def test_the_timer_never_approves_a_contested_item(self):
        first = validated_claim()
        rival = ClaimFactory(mpn=MpnIdFactory(), tenant=first.tenant)
        SubscriptionItemFactory(claim=rival, subscription=first.items.get().subscription)
        submit(rival)
        with time_machine.travel(MONDAY_MORNING, tick=False):
            pipeline.claim_validate(claim_id=rival.pk)
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(days=1))
        rival.refresh_from_db()
        assert rival.status == ClaimStatus.UNDER_REVIEW
        assert rival.items.get().outcome == ItemOutcome.CONTESTED

    def test_the_timer_never_approves_a_claim_waiting_on_an_information_request(self):
        claim = validated_claim()
        with transaction.atomic():
            locked = lifecycle.lock_claim(claim.pk)
            lifecycle.transition(locked, ClaimStatus.ACTION_REQUIRED, action="information_requested")
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(days=1))
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.ACTION_REQUIRED
        assert claim.items.get().outcome == ItemOutcome.PENDING

    def test_the_timer_never_approves_a_rejected_item(self):
        claim = validated_claim()
        SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.REJECTED)
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(days=1))
        outcomes = sorted(claim.items.values_list("outcome", flat=True))
        assert outcomes == [ItemOutcome.APPROVED, ItemOutcome.REJECTED]

    def test_the_periodic_command_moves_the_clock_with_now(self):
        claim = validated_claim()
        call_command("run_periodic_jobs", "--now", "2026-12-02T00:00:00Z")
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.APPROVED


@pytest.mark.django_db(transaction=True)
class TestOptOutRacesTheTimer:
    """Both lock the claim; before the deadline the opt-out wins, after it the timer."""

    def race(self, moment, timer=None):
        claim = validated_claim()
        timer_pass = timer or (lambda: pipeline.claim_approve_if_due(claim_id=claim.pk, now=moment))
        barrier = threading.Barrier(2)
        results = {}

        def opt_out():
            barrier.wait()
            try:
                pipeline.claim_opt_out(token=notices.opt_out_token(claim), now=moment)
                results["opt_out"] = True
            except pipeline.OptOutNotApplicable:
                results["opt_out"] = False
            finally:
                connection.close()

        def run_timer():
            barrier.wait()
            try:
                results["timer"] = timer_pass()
            finally:
                connection.close()

        threads = [threading.Thread(target=opt_out), threading.Thread(target=run_timer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        claim.refresh_from_db()
        return claim, results

    def test_at_the_deadline_the_opt_out_wins(self):
        claim, results = self.race(DEADLINE_UTC)
        assert claim.status == ClaimStatus.OPTED_OUT
        assert results == {"opt_out": True, "timer": None}
        assert not ClaimEvent.objects.filter(claim=claim, action="approved").exists()

    def test_a_second_after_the_deadline_the_timer_wins(self):
        claim, results = self.race(DEADLINE_UTC + datetime.timedelta(seconds=1))
        assert claim.status == ClaimStatus.APPROVED
        assert results["opt_out"] is False
        assert not ClaimEvent.objects.filter(claim=claim, action="opted_out").exists()

    def test_at_the_deadline_the_opt_out_wins_over_the_timers_pass(self):
        claim, results = self.race(DEADLINE_UTC, timer=lambda: pipeline.claims_approve_due(now=DEADLINE_UTC))
        assert claim.status == ClaimStatus.OPTED_OUT
        assert results == {"opt_out": True, "timer": 0}
        assert not ClaimEvent.objects.filter(claim=claim, action="approved").exists()

    def test_a_second_after_the_deadline_the_timers_pass_wins(self):
        after = DEADLINE_UTC + datetime.timedelta(seconds=1)
        claim, results = self.race(after, timer=lambda: pipeline.claims_approve_due(now=after))
        assert claim.status == ClaimStatus.APPROVED
        assert results == {"opt_out": False, "timer": 1}
        assert not ClaimEvent.objects.filter(claim=claim, action="opted_out").exists()

    def test_a_claim_being_opted_out_is_skipped_by_its_set_and_the_one_claim_path_waits_for_it(self):
        """The set locks without waiting: the claim an opt-out holds is left out of it, the
        others are approved, and `claim_approve_if_due` then waits for the opt-out and finds
        the claim decided."""
        opting_out, other = validated_claim(), validated_claim()
        after = DEADLINE_UTC + datetime.timedelta(seconds=1)
        held, release = threading.Event(), threading.Event()
        results = {}

        def opt_out():
            try:
                with transaction.atomic():
                    lifecycle.lock_claim(opting_out.pk)
                    held.set()
                    release.wait(timeout=30)
                    # The customer's click, a moment before the deadline, committed after the set.
                    pipeline.claim_opt_out(token=notices.opt_out_token(opting_out), now=DEADLINE_UTC)
            finally:
                connection.close()

        def timer():
            try:
                results["approved"] = pipeline.claims_approve_due(now=after)
            finally:
                connection.close()

        threads = [threading.Thread(target=opt_out), threading.Thread(target=timer)]
        threads[0].start()
        assert held.wait(timeout=30)
        threads[1].start()
        for _ in range(300):  # the set commits the other claim while the opt-out still holds its own
            other.refresh_from_db()
            if other.status == ClaimStatus.APPROVED:
                break
            time.sleep(0.05)
        release.set()
        for thread in threads:
            thread.join(timeout=30)

        opting_out.refresh_from_db()
        assert (other.status, opting_out.status) == (ClaimStatus.APPROVED, ClaimStatus.OPTED_OUT)
        assert results == {"approved": 1}
        assert opting_out.items.get().outcome == ItemOutcome.REJECTED
        assert not opting_out.events.filter(action__in=("items_approved", "approved")).exists()


class TestTheTimerApprovesInSets:
    """`claims_approve_due` approves due claims in sets (`_claims_approve_batch`); each claim
    ends exactly as `claim_approve_if_due` alone would leave it."""

    AFTER = DEADLINE_UTC + datetime.timedelta(days=1)

    @staticmethod
    def history(claim):
        return [
            (event.action, event.from_status, event.to_status, event.reason, event.actor_id)
            for event in claim.events.filter(action__in=("items_approved", "approved")).order_by("pk")
        ]

    def test_a_set_leaves_each_claim_as_the_one_claim_path_does(self):
        alone, in_a_set, also_in_a_set = validated_claim(), validated_claim(), validated_claim()
        SubscriptionItemFactory(claim=in_a_set, outcome=ItemOutcome.REJECTED)  # a reviewer's decision stays

        assert pipeline.claim_approve_if_due(claim_id=alone.pk, now=self.AFTER) == ClaimStatus.APPROVED
        assert pipeline.claims_approve_due(now=self.AFTER) == 2

        for claim in (alone, in_a_set, also_in_a_set):
            claim.refresh_from_db()
            assert (claim.status, claim.decided_at) == (ClaimStatus.APPROVED, self.AFTER)
            assert self.history(claim) == self.history(alone)
            pending_before = claim.items.exclude(outcome=ItemOutcome.REJECTED)
            assert claim.events.get(action="items_approved").data == {"items": [item.pk for item in pending_before]}
            assert {(item.outcome, item.decided_at) for item in pending_before} == {(ItemOutcome.APPROVED, self.AFTER)}
        assert in_a_set.items.filter(outcome=ItemOutcome.REJECTED).count() == 1
        assert self.history(alone) == [
            ("items_approved", "", "", "", None),
            ("approved", ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED, "The opt-out period ended.", None),
        ]

    def test_a_claim_whose_notice_was_queued_after_the_selection_waits_and_its_set_goes_on(self):
        late_notice, due = validated_claim(), validated_claim()
        CustomerEmail.objects.create(claim=late_notice, recipient="new@contoso.example", role="directory")

        assert pipeline._claims_approve_batch([late_notice.pk, due.pk], now=self.AFTER) == (1, [])

        late_notice.refresh_from_db()
        due.refresh_from_db()
        assert (late_notice.status, due.status) == (ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED)
        assert late_notice.items.get().outcome == ItemOutcome.PENDING
        assert not late_notice.events.filter(action__in=("items_approved", "approved")).exists()

    def test_a_claim_with_contested_items_goes_the_one_claim_way_and_the_rest_of_its_set_is_approved(self):
        fabrikam = submitted_claim()
        free = SubscriptionItemFactory(claim=fabrikam)
        fabrikam = validate(fabrikam)
        contested = fabrikam.items.exclude(pk=free.pk).get()
        northwind = ClaimFactory(mpn=MpnIdFactory(), tenant=fabrikam.tenant)
        SubscriptionItemFactory(claim=northwind, subscription=contested.subscription)
        validate(submit(northwind))
        plain = validated_claim()

        approved, one_by_one = pipeline._claims_approve_batch(sorted([fabrikam.pk, plain.pk]), now=self.AFTER)
        assert (approved, one_by_one) == (1, [fabrikam.pk])
        assert pipeline.claims_approve_due(now=self.AFTER) == 0  # the one-claim path approves the free item

        for claim in (fabrikam, plain):
            claim.refresh_from_db()
        free.refresh_from_db()
        contested.refresh_from_db()
        assert (free.outcome, contested.outcome) == (ItemOutcome.APPROVED, ItemOutcome.CONTESTED)
        assert (fabrikam.status, plain.status) == (ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED)

    def test_an_item_another_claim_holds_is_contested_never_approved_twice_and_the_set_goes_on(self):
        holder = validated_claim()
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
        late = validate(rival_of(holder))
        ClaimItem.objects.filter(claim=late).update(outcome=ItemOutcome.PENDING)  # as if validation missed it
        type(late).objects.filter(pk=late.pk).update(opt_out_deadline=DEADLINE_UTC)
        plain = validated_claim()

        assert pipeline.claims_approve_due(now=self.AFTER) == 1

        late.refresh_from_db()
        plain.refresh_from_db()
        assert (late.status, late.items.get().outcome) == (ClaimStatus.UNDER_REVIEW, ItemOutcome.CONTESTED)
        assert holder.items.get().outcome == ItemOutcome.APPROVED
        assert late.events.filter(action="competing_claim").count() == 2  # validation's, then the timer's
        assert plain.status == ClaimStatus.APPROVED

    def test_two_claims_of_one_set_on_the_same_item_approve_the_first_and_contest_the_second(self):
        first = validated_claim()
        second = validate(rival_of(first))
        ClaimItem.objects.filter(claim__in=[first, second]).update(outcome=ItemOutcome.PENDING)  # as if missed
        plain = validated_claim()

        assert pipeline.claims_approve_due(now=self.AFTER) == 2

        for claim in (first, second, plain):
            claim.refresh_from_db()
        assert [first.status, second.status, plain.status] == [
            ClaimStatus.APPROVED,
            ClaimStatus.UNDER_REVIEW,
            ClaimStatus.APPROVED,
        ]
        assert second.items.get().outcome == ItemOutcome.CONTESTED
        assert ClaimItem.objects.filter(outcome=ItemOutcome.APPROVED, item_key=first.items.get().item_key).count() == 1

    def test_a_pass_larger_than_a_set_approves_every_due_claim_once(self, monkeypatch):
        monkeypatch.setattr(pipeline, "BATCH", 2)
        claims = [validated_claim() for _ in range(5)]
        contested_one = validate(rival_of(claims[2]))

        assert pipeline.claims_approve_due(now=self.AFTER) == 4
        assert pipeline.claims_approve_due(now=self.AFTER) == 0

        statuses = [type(claim).objects.get(pk=claim.pk).status for claim in [*claims, contested_one]]
        assert statuses == [ClaimStatus.APPROVED] * 2 + [ClaimStatus.UNDER_REVIEW] + [ClaimStatus.APPROVED] * 2 + [
            ClaimStatus.UNDER_REVIEW
        ]
        assert ClaimEvent.objects.filter(action="approved").count() == 4


@pytest.mark.django_db(transaction=True)
def test_sets_decided_by_two_workers_at_once_approve_and_end_every_claim_once(monkeypatch):
    """Outside a transaction the sets run on `SET_WORKERS` connections at once (`_in_sets`):
    every due claim is approved once, with its two events, and every dead item ended once."""
    monkeypatch.setattr(pipeline, "BATCH", 2)
    threads_used = set()
    approve_set = pipeline._claims_approve_set

    def approve_and_note_the_thread(batch, **kwargs):
        threads_used.add(threading.get_ident())
        return approve_set(batch, **kwargs)

    monkeypatch.setattr(pipeline, "_claims_approve_set", approve_and_note_the_thread)
    claims = [validated_claim() for _ in range(7)]
    after = DEADLINE_UTC + datetime.timedelta(days=1)

    assert pipeline.claims_approve_due(now=after) == 7
    assert pipeline.claims_approve_due(now=after) == 0
    if connection.vendor == "postgresql":
        assert len(threads_used) == 2 and threading.get_ident() not in threads_used
    else:  # SQLite has one writer at a time: the sets run here, one after the other
        assert threads_used == {threading.get_ident()}
    for claim in claims:
        claim.refresh_from_db()
        assert (claim.status, claim.decided_at) == (ClaimStatus.APPROVED, after)
        assert [event.action for event in claim.events.filter(action__in=("items_approved", "approved"))] == [
            "items_approved",
            "approved",
        ]

    Subscription = type(claims[0].items.get().subscription)
    Subscription.objects.filter(claim_items__claim__in=claims).update(status=SubscriptionStatus.DELETED)
    assert pipeline.subscriptions_check(now=LONG_AFTER) == 7
    assert pipeline.subscriptions_check(now=LONG_AFTER) == 0
    assert {type(claim).objects.get(pk=claim.pk).status for claim in claims} == {ClaimStatus.ENDED}
    assert ClaimEvent.objects.filter(claim__in=claims, action="ended").count() == 7


class TestSubscriptionChecks:
    def approved_claim(self):
        claim = validated_claim()
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
        claim.refresh_from_db()
        return claim

    def test_a_subscription_that_stops_being_live_ends_its_items_and_the_claim(self):
        claim = self.approved_claim()
        item = claim.items.get()
        type(item.subscription).objects.filter(pk=item.subscription_id).update(status=SubscriptionStatus.DELETED)
        assert pipeline.subscriptions_check() == 1
        assert pipeline.subscriptions_check() == 0
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.ENDED
        assert claim.items.get().outcome == ItemOutcome.ENDED

    def test_a_set_ends_the_dead_items_of_approved_claims_and_leaves_others_to_the_one_claim_path(self):
        two_items = submitted_claim()
        kept = SubscriptionItemFactory(claim=two_items)
        two_items = validate(two_items)
        one_item, disputed = validated_claim(), validated_claim()
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
        type(disputed).objects.filter(pk=disputed.pk).update(status=ClaimStatus.DISPUTED)  # still holds its item
        dead = [two_items.items.exclude(pk=kept.pk).get(), one_item.items.get(), disputed.items.get()]
        Subscription = type(dead[0].subscription)
        Subscription.objects.filter(pk__in=[item.subscription_id for item in dead]).update(status="deleted")
        batch = {claim.pk: [item.pk] for claim, item in zip((two_items, one_item, disputed), dead, strict=True)}

        assert pipeline._claims_items_end_batch(batch, now=LONG_AFTER) == (2, [disputed.pk])
        assert pipeline.subscriptions_check(now=LONG_AFTER) == 1  # the disputed claim's, one by one

        for claim in (two_items, one_item, disputed):
            claim.refresh_from_db()
        assert (two_items.status, one_item.status) == (ClaimStatus.APPROVED, ClaimStatus.ENDED)
        assert [item.outcome for item in two_items.items.order_by("pk")] == [ItemOutcome.ENDED, ItemOutcome.APPROVED]
        assert set(
            ClaimItem.objects.filter(pk__in=[item.pk for item in dead]).values_list("decided_at", flat=True)
        ) == {LONG_AFTER}
        for claim, item in zip((two_items, one_item), dead[:2], strict=True):
            event = claim.events.get(action="item_ended")
            assert event.data == {"items": [item.pk]}
            assert event.reason == "The subscription is no longer active or in grace."
        assert not two_items.events.filter(action="ended").exists()
        ended = one_item.events.get(action="ended")
        assert (ended.from_status, ended.to_status) == (ClaimStatus.APPROVED, ClaimStatus.ENDED)
        assert disputed.items.get().outcome == ItemOutcome.ENDED

    def test_a_subscription_in_grace_keeps_its_items(self):
        claim = self.approved_claim()
        item = claim.items.get()
        type(item.subscription).objects.filter(pk=item.subscription_id).update(status=SubscriptionStatus.IN_GRACE)
        assert pipeline.subscriptions_check() == 0
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.APPROVED

    def test_a_workload_no_live_subscription_carries_any_more_ends(self):
        product = M365ProductFactory()
        subscription = SubscriptionFactory(product=product)
        spare = SubscriptionFactory(product=product, tenant=subscription.tenant)
        claim = ClaimFactory(
            tenant=subscription.tenant, solution_area=SolutionArea.MICROSOFT_365, activity=Activity.USAGE
        )
        workload = product.workloads.get(name="Exchange Online")
        ClaimItem.objects.create(
            claim=claim,
            program=Program.OSU_M365,
            product=product,
            workload=workload,
            item_key=ClaimItem.key_for_workload(claim.tenant, workload),
        )
        submit(claim)
        validate(claim)
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
        type(subscription).objects.filter(pk=subscription.pk).update(status=SubscriptionStatus.DELETED)
        assert pipeline.subscriptions_check() == 0  # the other subscription still carries it
        type(spare).objects.filter(pk=spare.pk).update(status=SubscriptionStatus.DISABLED)
        assert pipeline.subscriptions_check() == 1
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.ENDED

    def test_a_legacy_dynamics_association_ends_with_its_subscription(self):
        from tenants.models import LegacyAssociation

        subscription = SubscriptionFactory(tenant=TenantFactory())
        mpn = MpnIdFactory()
        legacy = LegacyAssociation.objects.create(
            partner=mpn.partner, mpn=mpn, tenant=subscription.tenant, subscription=subscription, since="2019-05-01"
        )
        pipeline.subscriptions_check()
        legacy.refresh_from_db()
        assert legacy.ended_at is None
        type(subscription).objects.filter(pk=subscription.pk).update(status=SubscriptionStatus.DISABLED)
        pipeline.subscriptions_check()
        legacy.refresh_from_db()
        assert legacy.ended_at is not None


def test_a_directory_import_that_ends_a_subscription_ends_the_items_it_held(tmp_path):
    claim = validated_claim()
    pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
    subscription = claim.items.get().subscription
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps(
            {
                "type": "subscription",
                "subscription_id": str(subscription.subscription_id).upper(),
                "tenant_id": str(subscription.tenant.tenant_id),
                "product": subscription.product.code,
                "channel": subscription.channel,
                "status": "disabled",
                "provisioned": True,
                "start_date": subscription.start_date.isoformat(),
                "end_date": subscription.end_date.isoformat(),
            }
        )
        + "\n"
    )
    call_command("import_directory", str(feed), stdout=io.StringIO())
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.ENDED
    assert claim.events.filter(action="item_ended").exists()


def test_the_partner_sees_the_stored_deadline_in_the_tenants_time_zone_and_usage_once_approved(client):
    from django.urls import reverse

    from cpor.models import Role
    from cpor.tests.factories import partner_user

    claim = validated_claim()
    client.force_login(partner_user(claim.partner, Role.BILLING_ADMIN))
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert "Dec. 1, 2026, 11:59 p.m. (Europe/Paris)" in page
    assert 'data-testid="usage-link"' not in page
    pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    assert f'href="/incentives/usage/?claim={claim.pk}"' in page


def test_a_second_pass_of_every_periodic_job_does_nothing():
    claim = submitted_claim()
    later = DEADLINE_UTC + datetime.timedelta(days=30)
    first = periodic_jobs_run(now=later)
    assert first["validated"] == 1
    assert first["customer_emails"] == 2
    second = periodic_jobs_run(now=later)
    assert second == dict.fromkeys(second, 0)
    assert first["approved"] == 1  # notified on the real clock, approved on the moved one
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED
    assert claim.events.filter(action="approved").count() == 1
    customer = {claim.customer_contact_email, claim.technical_contact_email}
    assert len([m for m in mail.outbox if m.to[0] in customer]) == 2


def rival_of(claim, **claim_fields):
    """Another partner's claim, submitted, on the same subscription as `claim`'s item."""
    rival = ClaimFactory(mpn=MpnIdFactory(), tenant=claim.tenant, **claim_fields)
    SubscriptionItemFactory(claim=rival, subscription=claim.items.get().subscription)
    return submit(rival)


def validate(claim):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        pipeline.claim_validate(claim_id=claim.pk)
        notices.customer_emails_send(claim_id=claim.pk)
    claim.refresh_from_db()
    return claim


class TestCompetingClaims:
    """PRODUCT.md section 5 step 7: overlapping items are contested on every open claim that
    holds them, whoever filed first, and the timer never approves them."""

    def test_every_open_claim_on_the_item_is_contested_whichever_was_filed_first(self):
        fabrikam = validated_claim()
        northwind = validate(rival_of(fabrikam))
        fabrikam.refresh_from_db()
        assert fabrikam.items.get().outcome == ItemOutcome.CONTESTED
        assert northwind.items.get().outcome == ItemOutcome.CONTESTED
        assert fabrikam.items.get().decided_at is None
        assert (fabrikam.status, northwind.status) == (ClaimStatus.UNDER_REVIEW, ClaimStatus.UNDER_REVIEW)

    def test_the_earlier_partner_is_told_in_its_own_claims_comments_in_its_language(self):
        from cpor.tests.factories import UserFactory

        fabrikam = validated_claim(created_by=UserFactory(language="fr"))
        northwind = validate(rival_of(fabrikam))
        comment = Comment.objects.get(claim=fabrikam)
        assert "arbitrage" in comment.body
        assert northwind.partner.name not in comment.body
        event = fabrikam.events.get(action="competing_claim")
        assert event.data == {"items": [fabrikam.items.get().pk]}

    def test_an_approved_item_stays_with_its_holder_and_only_the_newcomer_is_contested(self):
        holder = validated_claim()
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
        newcomer = validate(rival_of(holder))
        holder.refresh_from_db()
        assert (holder.status, holder.items.get().outcome) == (ClaimStatus.APPROVED, ItemOutcome.APPROVED)
        assert newcomer.items.get().outcome == ItemOutcome.CONTESTED
        assert not Comment.objects.filter(claim=holder).exists()

    def test_a_rival_still_submitted_is_contested_with_this_claim_when_it_is_validated(self):
        first = validated_claim()
        second = rival_of(first)
        third = validate(rival_of(first))
        second.refresh_from_db()
        assert second.status == ClaimStatus.SUBMITTED
        assert second.items.get().outcome == ItemOutcome.PENDING
        validate(second)
        outcomes = [claim.items.get().outcome for claim in (first, second, third)]
        assert outcomes == [ItemOutcome.CONTESTED] * 3

    def test_the_timer_never_approves_the_earlier_claims_contested_item(self):
        fabrikam = validated_claim()
        validate(rival_of(fabrikam))
        assert pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(days=1)) == 0
        fabrikam.refresh_from_db()
        assert fabrikam.status == ClaimStatus.UNDER_REVIEW
        assert fabrikam.items.get().outcome == ItemOutcome.CONTESTED
        assert not fabrikam.events.filter(action__in=("items_approved", "approved")).exists()

    def test_the_timer_approves_the_uncontested_items_and_the_claim_stays_under_review(self):
        fabrikam = submitted_claim()
        free = SubscriptionItemFactory(claim=fabrikam)
        fabrikam = validate(fabrikam)
        northwind = ClaimFactory(mpn=MpnIdFactory(), tenant=fabrikam.tenant)
        contested = fabrikam.items.exclude(pk=free.pk).get()
        SubscriptionItemFactory(claim=northwind, subscription=contested.subscription)
        validate(submit(northwind))
        pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(days=1))
        fabrikam.refresh_from_db()
        free.refresh_from_db()
        contested.refresh_from_db()
        assert (free.outcome, contested.outcome) == (ItemOutcome.APPROVED, ItemOutcome.CONTESTED)
        assert free.decided_at == DEADLINE_UTC + datetime.timedelta(days=1)
        assert fabrikam.status == ClaimStatus.UNDER_REVIEW

    def test_revenue_association_items_are_never_contested(self):
        first = validated_claim(activity=Activity.REVENUE)
        first.items.update(program="")
        rival = ClaimFactory(mpn=MpnIdFactory(), tenant=first.tenant, activity=Activity.REVENUE)
        SubscriptionItemFactory(claim=rival, subscription=first.items.get().subscription, program="")
        validate(submit(rival))
        assert {first.items.get().outcome, rival.items.get().outcome} == {ItemOutcome.PENDING}


@pytest.mark.django_db(transaction=True)
def test_two_validations_of_competing_claims_at_once_contest_both_items():
    """Each validation locks both claims in primary-key order: the second waits for the
    first, then finds the first's item and contests both; neither deadlocks."""
    first = submitted_claim()
    second = rival_of(first)
    barrier = threading.Barrier(2)
    errors = []

    def run(claim):
        barrier.wait()
        try:
            pipeline.claim_validate(claim_id=claim.pk)
        except Exception as error:  # a deadlock would surface here
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(claim,)) for claim in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    for claim in (first, second):
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.items.get().outcome == ItemOutcome.CONTESTED
        assert claim.events.filter(action="competing_claim").count() == 1


def test_the_timer_contests_an_item_another_partner_already_holds_instead_of_approving_it():
    """A safety net for a race the validation could not see: the database's one-holder
    constraint refuses the approval, and the item goes to arbitration."""
    holder = validated_claim()
    pipeline.claims_approve_due(now=DEADLINE_UTC + datetime.timedelta(seconds=1))
    late = validate(rival_of(holder))
    late_item = late.items.get()
    ClaimItem.objects.filter(pk=late_item.pk).update(outcome=ItemOutcome.PENDING)  # as if validation missed it
    Claim = type(late)
    Claim.objects.filter(pk=late.pk).update(opt_out_deadline=DEADLINE_UTC)
    comments_before = Comment.objects.filter(claim=late).count()

    pipeline.claim_approve_if_due(claim_id=late.pk, now=DEADLINE_UTC + datetime.timedelta(days=1))

    late.refresh_from_db()
    late_item.refresh_from_db()
    assert (late.status, late_item.outcome) == (ClaimStatus.UNDER_REVIEW, ItemOutcome.CONTESTED)
    assert holder.items.get().outcome == ItemOutcome.APPROVED
    assert Comment.objects.filter(claim=late).count() == comments_before + 1


@pytest.mark.django_db(transaction=True)
def test_a_validation_racing_the_earlier_claims_timer_never_leaves_the_newcomer_pending():
    """Both lock the earlier claim: either the timer approves it first (it is then the holder
    and the newcomer is contested) or the validation contests both first (the timer then
    approves nothing). Never one approved and the other pending, never two holders."""
    fabrikam = validated_claim()
    northwind = rival_of(fabrikam)
    barrier = threading.Barrier(2)
    errors = []

    def run(action):
        barrier.wait()
        try:
            action()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(lambda: pipeline.claim_validate(claim_id=northwind.pk),)),
        threading.Thread(
            target=run,
            args=(
                lambda: pipeline.claim_approve_if_due(claim_id=fabrikam.pk, now=DEADLINE_UTC + datetime.timedelta(1)),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    outcomes = (fabrikam.items.get().outcome, northwind.items.get().outcome)
    assert outcomes in {
        (ItemOutcome.APPROVED, ItemOutcome.CONTESTED),
        (ItemOutcome.CONTESTED, ItemOutcome.CONTESTED),
    }
