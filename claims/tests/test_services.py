"""The partner's writes (claims/services.py): one test per rule, bad input changes nothing."""

import threading
import uuid

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import Http404

from claims import services
from claims.events import EventAction
from claims.lifecycle import ClaimError
from claims.models import Activity, Claim, ClaimEvent, ClaimItem, ClaimStatus, Comment, ProofOfExecution
from claims.services import ClaimContacts, ClaimProblems, ClaimStart, ProductChoice
from claims.tests.factories import (
    PDF_BYTES,
    ClaimFactory,
    ProofFactory,
    SubscriptionItemFactory,
    WorkloadItemFactory,
    directory_world,
)
from cpor.models import Program, Role
from cpor.tests.factories import MpnIdFactory, partner_user
from tenants.models import SolutionArea, SubscriptionStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(partner):
    return directory_world(partner)


def start(world, **changes):
    values = {
        "mpn_id": world.mpn.pk,
        "domain": world.domain,
        "tenant_guid": str(world.tenant.tenant_id),
        "solution_area": SolutionArea.BUSINESS_APPLICATIONS,
        "activity": Activity.USAGE,
        "name": "Contoso Sales rollout",
    }
    values.update(changes)
    return ClaimStart(**values)


def codes(error):
    return [problem.code for problem in error.value.problems]


def broker_queue():
    """The default Celery queue on the real broker (Redis, or the filesystem transport)."""
    from kombu import Connection

    connection = Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    return connection.SimpleQueue("celery")


def queued_tasks() -> list[tuple[str, str]]:
    """Take every message off the queue: (task name, arguments) of each."""
    queue, found = broker_queue(), []
    try:
        while True:
            message = queue.get(block=False)
            found.append((message.headers["task"], message.headers["argsrepr"]))
            message.ack()
    except queue.Empty:
        return found
    finally:
        queue.close()


def draft(world, user, **changes):
    return services.claim_create_draft(user=user, start=start(world, **changes))


CONTACTS = ClaimContacts(
    customer_contact_name="Ada Customer",
    customer_contact_title="CIO",
    customer_contact_email="ada@contoso.fr",
    technical_contact_name="Tom Tech",
    technical_contact_title="IT lead",
    technical_contact_email="tom@contoso.fr",
    partner_contact_name="Paula Partner",
    partner_contact_email="paula@fabrikam.example",
)


def complete_draft(world, user, **changes):
    claim = draft(world, user, **changes)
    services.claim_set_items(user=user, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
    services.claim_set_contacts(user=user, claim_id=claim.pk, contacts=CONTACTS)
    services.claim_add_poe(user=user, claim_id=claim.pk, upload=SimpleUploadedFile("sow.pdf", PDF_BYTES))
    return claim


class TestCreateDraft:
    def test_create_claim_saves_a_draft_with_the_directory_tenant_and_logs_it(self, world, incentives_admin):
        claim = draft(world, incentives_admin, domain="  Contoso.FR ", tenant_guid=str(world.tenant.tenant_id).upper())
        assert claim.status == ClaimStatus.DRAFT
        assert (claim.partner, claim.mpn, claim.tenant, claim.domain) == (
            world.partner,
            world.mpn,
            world.tenant,
            "contoso.fr",
        )
        assert claim.created_by == incentives_admin
        event = claim.events.get()
        assert (event.action, event.actor, event.to_status) == ("draft_created", incentives_admin, "draft")

    @pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER])
    def test_only_an_incentives_admin_creates_a_claim(self, world, role):
        reader = partner_user(world.partner, role)
        with pytest.raises(PermissionDenied):
            draft(world, reader)
        assert not Claim.objects.exists()

    def test_another_partners_mpn_id_is_refused(self, world, incentives_admin):
        foreign = MpnIdFactory()
        with pytest.raises(ClaimError, match="MPN IDs"):
            draft(world, incentives_admin, mpn_id=foreign.pk)
        assert not Claim.objects.exists()

    def test_a_malformed_tenant_id_is_refused(self, world, incentives_admin):
        with pytest.raises(ClaimProblems) as error:
            draft(world, incentives_admin, tenant_guid="contoso-tenant")
        assert codes(error) == ["not_a_guid"]
        assert not Claim.objects.exists()

    @pytest.mark.parametrize("domain", ["unknown.example", "litware.com"])
    def test_a_domain_that_is_not_a_verified_domain_of_the_tenant_is_a_mismatch(self, world, incentives_admin, domain):
        with pytest.raises(ClaimProblems) as error:
            draft(world, incentives_admin, domain=domain)
        assert codes(error) == ["domain_tenant_mismatch"]
        assert "Contact your customer" in str(error.value)
        assert not Claim.objects.exists()

    @pytest.mark.parametrize(
        ("area", "activity"),
        [
            (SolutionArea.MICROSOFT_365, Activity.PRESALES),
            (SolutionArea.MICROSOFT_365, Activity.REVENUE),
            (SolutionArea.MICROSOFT_365, Activity.USAGE_PRESALES),
            (SolutionArea.BUSINESS_APPLICATIONS, "cooking"),
        ],
    )
    def test_an_activity_the_solution_area_does_not_offer_is_refused(self, world, incentives_admin, area, activity):
        with pytest.raises(ClaimError, match="isn't available for the solution area"):
            draft(world, incentives_admin, solution_area=area, activity=activity)
        assert not Claim.objects.exists()

    def test_an_activity_tied_to_a_programme_needs_an_enrolled_mpn_id(self, world, incentives_admin):
        with pytest.raises(ClaimProblems) as error:
            draft(world, incentives_admin, mpn_id=world.unenrolled_mpn.pk, activity=Activity.USAGE_PRESALES)
        assert codes(error) == ["mpn_not_enrolled", "mpn_not_enrolled"]
        assert not Claim.objects.exists()

    def test_revenue_association_needs_no_enrolment_but_its_three_names(self, world, incentives_admin):
        with pytest.raises(ClaimError, match="Dynamics solution seller name"):
            draft(world, incentives_admin, mpn_id=world.unenrolled_mpn.pk, activity=Activity.REVENUE)
        claim = draft(
            world,
            incentives_admin,
            mpn_id=world.unenrolled_mpn.pk,
            activity=Activity.REVENUE,
            solution_seller_name="Sam Seller",
            customer_name="Contoso Ltd",
            isv_solution_name="Fabrikam CRM",
        )
        assert (claim.solution_seller_name, claim.customer_name, claim.isv_solution_name) == (
            "Sam Seller",
            "Contoso Ltd",
            "Fabrikam CRM",
        )

    def test_revenue_names_are_not_kept_for_other_activities(self, world, incentives_admin):
        claim = draft(world, incentives_admin, solution_seller_name="Sam", customer_name="C", isv_solution_name="I")
        assert (claim.solution_seller_name, claim.customer_name, claim.isv_solution_name) == ("", "", "")

    def test_a_claim_needs_a_name(self, world, incentives_admin):
        with pytest.raises(ClaimError, match="name"):
            draft(world, incentives_admin, name="   ")


class TestUpdateDraft:
    def test_changes_are_saved_and_logged_with_before_and_after(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        services.claim_update_draft(user=incentives_admin, claim_id=claim.pk, start=start(world, name="Renamed"))
        claim.refresh_from_db()
        assert claim.name == "Renamed"
        event = claim.events.get(action="draft_updated")
        assert event.data == {"changed": {"name": ["Contoso Sales rollout", "Renamed"]}}

    def test_nothing_changed_records_nothing(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        services.claim_update_draft(user=incentives_admin, claim_id=claim.pk, start=start(world))
        assert list(claim.events.values_list("action", flat=True)) == ["draft_created"]

    def test_changing_the_activity_clears_the_items(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        services.claim_update_draft(
            user=incentives_admin, claim_id=claim.pk, start=start(world, activity=Activity.USAGE_PRESALES)
        )
        assert not claim.items.exists()
        assert claim.events.filter(action="items_changed").count() == 2

    def test_another_domain_of_the_same_tenant_keeps_the_items(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        services.claim_update_draft(
            user=incentives_admin, claim_id=claim.pk, start=start(world, domain="contoso.onmicrosoft.com")
        )
        claim.refresh_from_db()
        assert claim.domain == "contoso.onmicrosoft.com"
        assert claim.items.count() == 1

    def test_a_bad_change_changes_nothing(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimProblems):
            services.claim_update_draft(
                user=incentives_admin, claim_id=claim.pk, start=start(world, name="X", domain="litware.com")
            )
        claim.refresh_from_db()
        assert claim.name == "Contoso Sales rollout"

    def test_a_submitted_claim_cannot_be_edited(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.SUBMITTED)
        with pytest.raises(ClaimError, match="can no longer be changed"):
            services.claim_update_draft(user=incentives_admin, claim_id=claim.pk, start=start(world, name="X"))

    def test_another_partners_draft_is_not_found(self, world, incentives_admin):
        foreign = ClaimFactory()
        with pytest.raises(Http404):
            services.claim_update_draft(user=incentives_admin, claim_id=foreign.pk, start=start(world))


class TestItems:
    def test_a_product_with_one_subscription_on_the_tenant_claims_that_subscription(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        competing = services.claim_set_items(
            user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)]
        )
        assert competing == []
        item = claim.items.get()
        assert (item.subscription, item.program, item.item_key) == (
            world.sales_subscription,
            Program.OSU_BIZAPPS,
            ClaimItem.key_for_subscription(world.sales_subscription),
        )
        assert claim.events.get(action="items_changed").data["added"] == [item.label]

    def test_usage_and_presales_claims_each_subscription_once_per_programme(self, world, incentives_admin):
        claim = draft(world, incentives_admin, activity=Activity.USAGE_PRESALES)
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        assert sorted(claim.items.values_list("program", flat=True)) == [Program.OSA_SELL, Program.OSU_BIZAPPS]
        assert claim.items.values("item_key").distinct().count() == 1

    def test_revenue_association_items_carry_no_programme(self, world, incentives_admin):
        claim = draft(
            world,
            incentives_admin,
            activity=Activity.REVENUE,
            solution_seller_name="S",
            customer_name="C",
            isv_solution_name="I",
        )
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        assert list(claim.items.values_list("program", flat=True)) == [""]

    def test_several_subscriptions_need_the_subscription_id(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(
                user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.service.pk)]
            )
        assert codes(error) == ["subscription_required"]
        chosen = world.service_subscriptions[1]
        services.claim_set_items(
            user=incentives_admin,
            claim_id=claim.pk,
            products=[ProductChoice(world.service.pk, str(chosen.subscription_id).upper())],
        )
        assert claim.items.get().subscription == chosen

    @pytest.mark.parametrize(
        ("product", "subscription_id", "code"),
        [
            ("finance", "", "csp"),
            ("field", "", "not_provisioned"),
            ("service", "not-a-subscription", "not_a_subscription_id"),
            ("service", str(uuid.UUID(int=7)), "not_a_subscription_id"),
        ],
    )
    def test_subscription_errors_stop_the_change_with_their_reason(
        self, world, incentives_admin, product, subscription_id, code
    ):
        claim = draft(world, incentives_admin)
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(
                user=incentives_admin,
                claim_id=claim.pk,
                products=[ProductChoice(world.sales.pk), ProductChoice(getattr(world, product).pk, subscription_id)],
            )
        assert codes(error) == [code]
        assert list(claim.items.values_list("subscription", flat=True)) == [world.sales_subscription.pk]

    def test_a_subscription_of_another_tenant_is_refused(self, world, incentives_admin):
        from tenants.tests.factories import SubscriptionFactory

        elsewhere = SubscriptionFactory(tenant=world.other_tenant, product=world.service)
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(
                user=incentives_admin,
                claim_id=claim.pk,
                products=[ProductChoice(world.service.pk, str(elsewhere.subscription_id))],
            )
        assert codes(error) == ["subscription_not_on_tenant"]

    def test_a_subscription_that_stopped_being_active_is_refused(self, world, incentives_admin):
        world.sales_subscription.status = SubscriptionStatus.DISABLED
        world.sales_subscription.save()
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        assert codes(error) == ["subscription_not_active"]

    def test_an_item_the_partner_already_claims_is_already_claimed(self, world, incentives_admin):
        held = ClaimFactory(partner=world.partner, mpn=world.mpn, tenant=world.tenant, status=ClaimStatus.UNDER_REVIEW)
        SubscriptionItemFactory(claim=held, subscription=world.sales_subscription)
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        assert codes(error) == ["already_claimed"]
        assert not claim.items.exists()

    def test_an_item_another_partner_claims_is_a_competing_claim_not_an_error(self, world, incentives_admin):
        rival = ClaimFactory(tenant=world.tenant, status=ClaimStatus.UNDER_REVIEW)
        SubscriptionItemFactory(claim=rival, subscription=world.sales_subscription)
        claim = draft(world, incentives_admin)
        competing = services.claim_set_items(
            user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)]
        )
        assert competing == [f"Dynamics 365 Sales ({world.sales_subscription.subscription_id})"]
        assert rival.partner.name not in " ".join(competing)
        assert claim.items.count() == 1

    def test_microsoft_365_claims_workloads_of_the_tenant(self, world, incentives_admin):
        claim = draft(world, incentives_admin, solution_area=SolutionArea.MICROSOFT_365)
        exchange, teams = world.workloads["Exchange Online"], world.workloads["Microsoft Teams"]
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, workload_ids=[exchange.pk, teams.pk])
        items = list(claim.items.order_by("workload__name"))
        assert [(item.workload, item.program, item.product) for item in items] == [
            (exchange, Program.OSU_M365, world.m365),
            (teams, Program.OSU_M365, world.m365),
        ]
        assert items[0].item_key == ClaimItem.key_for_workload(world.tenant, exchange)

    def test_a_workload_the_tenant_does_not_have_is_refused(self, world, incentives_admin):
        from tenants.tests.factories import WorkloadFactory

        claim = draft(world, incentives_admin, solution_area=SolutionArea.MICROSOFT_365)
        yammer = WorkloadFactory(name="Yammer")
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, workload_ids=[yammer.pk])
        assert codes(error) == ["workload_not_on_tenant"]

    def test_the_partners_own_workload_claim_is_already_claimed(self, world, incentives_admin):
        exchange = world.workloads["Exchange Online"]
        held = ClaimFactory(
            partner=world.partner,
            mpn=world.mpn,
            tenant=world.tenant,
            solution_area=SolutionArea.MICROSOFT_365,
            status=ClaimStatus.APPROVED,
        )
        WorkloadItemFactory(claim=held, workload=exchange, product=world.m365, outcome="approved")
        claim = draft(world, incentives_admin, solution_area=SolutionArea.MICROSOFT_365)
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, workload_ids=[exchange.pk])
        assert codes(error) == ["workload_already_claimed"]

    def test_products_on_a_microsoft_365_claim_are_refused(self, world, incentives_admin):
        claim = draft(world, incentives_admin, solution_area=SolutionArea.MICROSOFT_365)
        with pytest.raises(ClaimError, match="workloads, not products"):
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])

    def test_a_microsoft_365_product_on_a_business_applications_claim_is_refused(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimError, match="from the list"):
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.m365.pk)])

    def test_at_least_one_item(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimProblems) as error:
            services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[])
        assert codes(error) == ["no_items"]


class TestContacts:
    def test_all_contact_fields_are_required(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        incomplete = ClaimContacts(**{**CONTACTS.__dict__, "technical_contact_email": " "})
        with pytest.raises(ClaimError, match="All contact fields are required"):
            services.claim_set_contacts(user=incentives_admin, claim_id=claim.pk, contacts=incomplete)
        claim.refresh_from_db()
        assert claim.customer_contact_name == ""

    def test_contacts_are_saved_and_logged(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        services.claim_set_contacts(user=incentives_admin, claim_id=claim.pk, contacts=CONTACTS)
        claim.refresh_from_db()
        assert (claim.customer_contact_email, claim.technical_contact_name, claim.partner_contact_name) == (
            "ada@contoso.fr",
            "Tom Tech",
            "Paula Partner",
        )
        assert claim.events.filter(action="contacts_changed").exists()

    def test_microsoft_365_needs_no_technical_contact(self, world, incentives_admin):
        claim = draft(world, incentives_admin, solution_area=SolutionArea.MICROSOFT_365)
        services.claim_set_contacts(
            user=incentives_admin,
            claim_id=claim.pk,
            contacts=ClaimContacts(
                **{**CONTACTS.__dict__, "technical_contact_name": "", "technical_contact_email": "x@y.example"}
            ),
        )
        claim.refresh_from_db()
        assert claim.technical_contact_email == ""


class TestDeleteDraft:
    def test_a_draft_is_deleted_with_its_files(self, world, incentives_admin, django_capture_on_commit_callbacks):
        claim = draft(world, incentives_admin)
        proof = services.claim_add_poe(
            user=incentives_admin, claim_id=claim.pk, upload=SimpleUploadedFile("sow.pdf", PDF_BYTES)
        )
        stored = proof.file.name
        assert default_storage.exists(stored)
        with django_capture_on_commit_callbacks(execute=True):
            services.claim_delete_draft(user=incentives_admin, claim_id=claim.pk)
        assert not Claim.objects.filter(pk=claim.pk).exists()
        assert not default_storage.exists(stored)

    def test_a_submitted_claim_is_never_deleted(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.UNDER_REVIEW)
        with pytest.raises(ClaimError):
            services.claim_delete_draft(user=incentives_admin, claim_id=claim.pk)
        assert Claim.objects.filter(pk=claim.pk).exists()

    def test_another_partners_draft_is_not_found(self, incentives_admin):
        foreign = ClaimFactory()
        with pytest.raises(Http404):
            services.claim_delete_draft(user=incentives_admin, claim_id=foreign.pk)
        assert Claim.objects.filter(pk=foreign.pk).exists()


class TestProofOfExecution:
    def test_a_pdf_is_stored_under_a_generated_name_outside_the_web_root(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        proof = services.claim_add_poe(
            user=incentives_admin, claim_id=claim.pk, upload=SimpleUploadedFile("Signed SoW.pdf", PDF_BYTES)
        )
        assert proof.original_name == "Signed SoW.pdf"
        assert proof.content_type == "application/pdf"
        assert "Signed" not in proof.file.name and proof.file.name.startswith("poe/")
        assert str(settings.PRIVATE_MEDIA_ROOT) in proof.file.path
        assert not str(proof.file.path).startswith(str(settings.STATIC_ROOT))
        assert claim.events.get(action="poe_added").data == {"file": "Signed SoW.pdf"}

    def test_a_renamed_executable_is_refused(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        executable = b"MZ\x90\x00\x03" + b"\x00" * 200 + b"PE\x00\x00" + b"\x00" * 200
        with pytest.raises(ClaimError, match="isn't an accepted kind of file"):
            services.claim_add_poe(
                user=incentives_admin, claim_id=claim.pk, upload=SimpleUploadedFile("sow.pdf", executable)
            )
        assert not ProofOfExecution.objects.exists()

    def test_an_oversize_file_is_refused(self, world, incentives_admin, settings):
        settings.POE_MAX_BYTES = 100
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimError, match="too large"):
            services.claim_add_poe(
                user=incentives_admin, claim_id=claim.pk, upload=SimpleUploadedFile("sow.pdf", PDF_BYTES * 2)
            )
        assert not ProofOfExecution.objects.exists()

    def test_after_submission_poe_is_added_only_when_a_reviewer_asks(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.UNDER_REVIEW)
        with pytest.raises(ClaimError, match="only when a reviewer asks"):
            services.claim_add_poe(
                user=incentives_admin, claim_id=claim.pk, upload=SimpleUploadedFile("more.pdf", PDF_BYTES)
            )
        assert not claim.proofs.exists()

    def test_poe_answers_a_request_for_information(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.ACTION_REQUIRED)
        services.claim_add_poe(
            user=incentives_admin, claim_id=claim.pk, upload=SimpleUploadedFile("more.pdf", PDF_BYTES)
        )
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        event = claim.events.get(action=EventAction.PARTNER_RESPONDED)
        assert (event.from_status, event.to_status, event.actor) == (
            ClaimStatus.ACTION_REQUIRED,
            ClaimStatus.UNDER_REVIEW,
            incentives_admin,
        )

    def test_a_drafts_file_can_be_removed_but_not_a_submitted_claims(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        proof = ProofFactory(claim=claim)
        services.claim_remove_poe(user=incentives_admin, claim_id=claim.pk, proof_id=proof.pk)
        assert not claim.proofs.exists()
        submitted = ProofFactory(claim=ClaimFactory(partner=world.partner, mpn=world.mpn, status="submitted"))
        with pytest.raises(ClaimError):
            services.claim_remove_poe(user=incentives_admin, claim_id=submitted.claim_id, proof_id=submitted.pk)
        assert ProofOfExecution.objects.filter(pk=submitted.pk).exists()

    def test_a_billing_admin_cannot_add_poe(self, world):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn)
        with pytest.raises(PermissionDenied):
            services.claim_add_poe(
                user=partner_user(world.partner, Role.BILLING_ADMIN),
                claim_id=claim.pk,
                upload=SimpleUploadedFile("sow.pdf", PDF_BYTES),
            )


class TestComments:
    def test_comments_on_a_draft_are_saved_before_submitting(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        comment = services.claim_add_comment(user=incentives_admin, claim_id=claim.pk, body="  Kick-off in May. ")
        assert (comment.body, comment.is_internal, comment.author) == ("Kick-off in May.", False, incentives_admin)
        assert claim.events.filter(action="comment_added").exists()

    @pytest.mark.parametrize("status", [ClaimStatus.UNDER_REVIEW, ClaimStatus.APPROVED, ClaimStatus.REJECTED])
    def test_comments_are_allowed_on_submitted_claims_without_changing_status(self, world, incentives_admin, status):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=status)
        services.claim_add_comment(user=incentives_admin, claim_id=claim.pk, body="Any news?")
        claim.refresh_from_db()
        assert claim.status == status

    def test_a_comment_answers_a_request_for_information(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.ACTION_REQUIRED)
        services.claim_add_comment(user=incentives_admin, claim_id=claim.pk, body="Signed SoW attached last week.")
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.events.filter(action=EventAction.PARTNER_RESPONDED, actor=incentives_admin).exists()

    def test_an_empty_comment_is_refused(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimError):
            services.claim_add_comment(user=incentives_admin, claim_id=claim.pk, body="   ")
        assert not Comment.objects.exists()

    @pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER])
    def test_only_the_incentives_admin_answers_reviewers(self, world, role):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.ACTION_REQUIRED)
        with pytest.raises(PermissionDenied):
            services.claim_add_comment(user=partner_user(world.partner, role), claim_id=claim.pk, body="Hello")
        assert not Comment.objects.exists()


class TestSubmit:
    def test_submit_freezes_the_claim_logs_it_and_queues_validation_after_commit(
        self, world, incentives_admin, django_capture_on_commit_callbacks
    ):
        claim = complete_draft(world, incentives_admin)
        broker_queue().clear()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.claim_submit(user=incentives_admin, claim_id=claim.pk)
            # Nothing reaches the broker while the transaction could still roll back.
            assert queued_tasks() == []
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.SUBMITTED and claim.submitted_at is not None
        event = claim.events.get(action="submitted")
        assert (event.actor, event.from_status, event.to_status) == (incentives_admin, "draft", "submitted")
        for callback in callbacks:
            callback()
        validations = [args for task, args in queued_tasks() if task == "claims.validate_claim"]
        assert validations == [f"({claim.pk},)"]

    def test_a_second_submit_is_refused_and_changes_nothing(self, world, incentives_admin):
        claim = complete_draft(world, incentives_admin)
        services.claim_submit(user=incentives_admin, claim_id=claim.pk)
        with pytest.raises(ClaimError, match="already been submitted"):
            services.claim_submit(user=incentives_admin, claim_id=claim.pk)
        assert claim.events.filter(action="submitted").count() == 1

    def test_an_incomplete_draft_says_what_is_missing(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        with pytest.raises(ClaimError) as error:
            services.claim_submit(user=incentives_admin, claim_id=claim.pk)
        assert "products, contacts, proof of execution" in error.value.message
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.DRAFT

    def test_a_draft_without_poe_cannot_be_submitted(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])
        services.claim_set_contacts(user=incentives_admin, claim_id=claim.pk, contacts=CONTACTS)
        with pytest.raises(ClaimError, match="proof of execution"):
            services.claim_submit(user=incentives_admin, claim_id=claim.pk)

    @pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER])
    def test_only_an_incentives_admin_submits(self, world, incentives_admin, role):
        claim = complete_draft(world, incentives_admin)
        with pytest.raises(PermissionDenied):
            services.claim_submit(user=partner_user(world.partner, role), claim_id=claim.pk)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.DRAFT

    def test_another_partners_claim_is_not_found(self, incentives_admin):
        foreign = ClaimFactory()
        with pytest.raises(Http404):
            services.claim_submit(user=incentives_admin, claim_id=foreign.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_simultaneous_submits_submit_once(partner):
    """A double click: two requests on two connections; the row lock lets one through."""
    from cpor.tests.factories import partner_user as make_user

    user = make_user(partner, Role.INCENTIVES_ADMIN)
    world = directory_world(partner)
    claim = complete_draft(world, user)
    barrier = threading.Barrier(2)
    outcomes = []

    def submit():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.claim_submit(user=user, claim_id=claim.pk)
            outcomes.append("submitted")
        except ClaimError as error:
            outcomes.append(error.message)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["This claim has already been submitted.", "submitted"]
    assert ClaimEvent.objects.filter(claim=claim, action="submitted").count() == 1


class TestProofUploadsAreAllOrNothing:
    """Found by the property tests: two files answering an information request kept the
    first and refused the second, as the first had already moved the claim back to review."""

    def test_several_files_answer_an_information_request_once_and_are_all_kept(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.ACTION_REQUIRED)
        files = [SimpleUploadedFile("sow.pdf", PDF_BYTES), SimpleUploadedFile("annex.pdf", PDF_BYTES)]

        added = services.claim_add_proofs(user=incentives_admin, claim_id=claim.pk, files=files)

        claim.refresh_from_db()
        assert [proof.original_name for proof in added] == ["sow.pdf", "annex.pdf"]
        assert claim.proofs.count() == 2
        assert claim.status == ClaimStatus.UNDER_REVIEW
        assert claim.events.filter(action=EventAction.PARTNER_RESPONDED).count() == 1

    def test_a_refused_file_keeps_none_of_its_upload(self, world, incentives_admin):
        claim = ClaimFactory(partner=world.partner, mpn=world.mpn, status=ClaimStatus.ACTION_REQUIRED)
        files = [SimpleUploadedFile("sow.pdf", PDF_BYTES), SimpleUploadedFile("notes.pdf", b"not a pdf at all")]

        with pytest.raises(ClaimError, match="isn't an accepted kind of file"):
            services.claim_add_proofs(user=incentives_admin, claim_id=claim.pk, files=files)

        claim.refresh_from_db()
        assert not claim.proofs.exists() and claim.status == ClaimStatus.ACTION_REQUIRED
        assert not claim.events.filter(action__in=("poe_added", EventAction.PARTNER_RESPONDED)).exists()

    def test_an_upload_past_the_limit_keeps_none_of_its_files(self, world, incentives_admin):
        claim = draft(world, incentives_admin)
        for _ in range(services.MAX_PROOFS_PER_CLAIM - 1):
            ProofFactory(claim=claim)
        files = [SimpleUploadedFile("sow.pdf", PDF_BYTES), SimpleUploadedFile("annex.pdf", PDF_BYTES)]

        with pytest.raises(ClaimError, match="at most 20 files"):
            services.claim_add_proofs(user=incentives_admin, claim_id=claim.pk, files=files)

        assert claim.proofs.count() == services.MAX_PROOFS_PER_CLAIM - 1
