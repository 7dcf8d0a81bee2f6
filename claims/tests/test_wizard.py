"""**+ Customer association** page by page (claims/wizard.py): the seed's steps with its
labels, early feedback, and bad input on every step answered clearly with nothing changed."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from claims.models import Claim, ClaimEvent, ClaimStatus, ProofOfExecution
from claims.tests.factories import PDF_BYTES, ClaimFactory, SubscriptionItemFactory, directory_world
from cpor.tests.factories import MpnIdFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(partner):
    return directory_world(partner)


@pytest.fixture
def admin_client(client, incentives_admin):
    client.force_login(incentives_admin)
    return client


def text(response) -> str:
    return response.content.decode()


def step1(world, **changes):
    return {"mpn": world.mpn.pk, "domain": world.domain, "tenant_id": str(world.tenant.tenant_id), **changes}


def step2(world, **changes):
    return {**step1(world), "solution_area": "Business Applications", "usage": "on", **changes}


def step3(world, **changes):
    return {**step1(world), "solution_area": "Business Applications", "activity": "usage", "name": "Sales", **changes}


def query_of(response) -> dict:
    return {key: values[0] for key, values in parse_qs(urlparse(response["Location"]).query).items()}


def create_draft(client, world, **changes) -> Claim:
    response = client.post(reverse("claims:new_associate"), step3(world, **changes))
    assert response.status_code == 302, text(response)
    return Claim.objects.filter(partner=world.partner).latest("pk")


class TestSeedSteps:
    def test_a_business_applications_claim_filed_step_by_step_with_the_seeds_labels(self, admin_client, world):
        client = admin_client
        # 3. At the top of the Customer associations page, select + Customer association.
        assert "+ Customer association" in text(client.get(reverse("claims:list")))
        # 4. Select the MPN ID, add the customer's domain name and Directory ID. 5. Continue.
        page = text(client.get(reverse("claims:new")))
        for label in ("MPN ID", "Domain name", "Directory ID / Tenant ID", "Continue", "OSA-Sell, OSU-M365"):
            assert label in page
        response = client.post(reverse("claims:new"), step1(world))
        assert response.status_code == 302
        assert query_of(response) == {k: str(v) for k, v in step1(world).items()}
        # 6. Select the Solution area and Activity: Usage and/or Pre-sales. Continue.
        page = text(client.get(response["Location"]))
        for label in (
            "Solution area",
            "Activity",
            "Usage and/or Pre-sales",
            "Revenue association",
            "Business Applications",
        ):
            assert label in page
        response = client.post(reverse("claims:new_activity"), step2(world, presales="on"))
        assert response.status_code == 302
        assert query_of(response)["activity"] == "usage_presales"
        # 7. The Associate customer page, Create claim.
        page = text(client.get(response["Location"]))
        assert "Associate customer" in page and "Create claim" in page
        response = client.post(
            reverse("claims:new_associate"), {**query_of(response), "name": "Contoso Dynamics rollout"}
        )
        claim = Claim.objects.get()
        assert claim.status == ClaimStatus.DRAFT and claim.activity == "usage_presales"
        assert response["Location"] == reverse("claims:draft_items", args=[claim.pk])
        # 8. Select the product(s), Continue; the tenant's second Customer Service subscription is named by its ID.
        page = text(client.get(response["Location"]))
        assert "Dynamics 365 Sales" in page and "Subscription ID for Dynamics 365 Customer Service" in page
        chosen = world.service_subscriptions[1].subscription_id
        response = client.post(
            response["Location"],
            {
                "tenant_id": str(world.tenant.tenant_id),
                "items": [world.sales.pk, world.service.pk],
                f"subscription_{world.service.pk}": str(chosen),
            },
        )
        assert response["Location"] == reverse("claims:draft_contacts", args=[claim.pk])
        assert claim.items.count() == 4  # two subscriptions, two programmes each
        # 9. Contacts: all fields are required; Dynamics 365 asks for the technical contact.
        page = text(client.get(response["Location"]))
        assert "Technical contact name" in page and "All fields are required." in page
        response = client.post(
            response["Location"],
            {
                "customer_contact_name": "Ada Customer",
                "customer_contact_title": "CIO",
                "customer_contact_email": "ada@contoso.fr",
                "technical_contact_name": "Tom Tech",
                "technical_contact_title": "IT lead",
                "technical_contact_email": "tom@contoso.fr",
                "partner_contact_name": "Paula Partner",
                "partner_contact_email": "paula@fabrikam.example",
            },
        )
        assert response["Location"] == reverse("claims:draft_proof", args=[claim.pk])
        # 10. Proof of execution: drag it to the box, browse, or Download template.
        page = text(client.get(response["Location"]))
        assert "Download template" in page and "data-dropzone" in page
        response = client.post(
            response["Location"],
            {"files": [SimpleUploadedFile("SoW.pdf", PDF_BYTES), SimpleUploadedFile("Annex.pdf", PDF_BYTES)]},
        )
        assert response.status_code == 302 and claim.proofs.count() == 2
        # 11. Add and save comments, then Submit claim.
        submit_url = reverse("claims:draft_submit", args=[claim.pk])
        page = text(client.get(submit_url))
        assert "Submit claim" in page and "Save comment" in page
        client.post(submit_url, {"comment": "1", "body": "Workshops held in March."})
        assert claim.comments.get().body == "Workshops held in March."
        assert reverse("claims:submit", args=[claim.pk]) in page
        response = client.post(reverse("claims:submit", args=[claim.pk]), follow=True)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.SUBMITTED
        page = text(response)
        assert "Your claim has been submitted." in page
        assert "Status" in page and "Submitted" in page and "History" in page
        assert list(claim.events.values_list("action", flat=True)) == [
            "draft_created",
            "items_changed",
            "contacts_changed",
            "poe_added",
            "poe_added",
            "comment_added",
            "submitted",
        ]

    def test_a_microsoft_365_claim_claims_workloads_without_a_technical_contact(self, admin_client, world):
        client = admin_client
        response = client.post(reverse("claims:new_activity"), step2(world, solution_area="Microsoft 365", usage="on"))
        assert query_of(response)["activity"] == "usage"
        claim = create_draft(client, world, solution_area="Microsoft 365", activity="usage")
        items_url = reverse("claims:draft_items", args=[claim.pk])
        page = text(client.get(items_url))
        assert "Workload(s)" in page and "Exchange Online" in page and "Microsoft Teams" in page
        exchange, teams = world.workloads["Exchange Online"], world.workloads["Microsoft Teams"]
        client.post(items_url, {"tenant_id": str(world.tenant.tenant_id), "items": [exchange.pk, teams.pk]})
        assert set(claim.items.values_list("workload__name", flat=True)) == {"Exchange Online", "Microsoft Teams"}
        contacts_url = reverse("claims:draft_contacts", args=[claim.pk])
        assert "Technical contact name" not in text(client.get(contacts_url))
        client.post(
            contacts_url,
            {
                "customer_contact_name": "Ada",
                "customer_contact_title": "CIO",
                "customer_contact_email": "ada@contoso.fr",
                "partner_contact_name": "Paula",
                "partner_contact_email": "paula@fabrikam.example",
            },
        )
        client.post(reverse("claims:draft_proof", args=[claim.pk]), {"files": SimpleUploadedFile("s.pdf", PDF_BYTES)})
        client.post(reverse("claims:submit", args=[claim.pk]))
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.SUBMITTED

    def test_revenue_associations_three_names_are_marked_required_before_create_claim(self, admin_client, world):
        response = admin_client.post(reverse("claims:new_activity"), step2(world, usage="", revenue="on"))
        page = text(admin_client.get(response["Location"]))
        for label in ("Name", "Dynamics solution seller name", "Customer name", "Name of ISV product/solution"):
            assert f'{label}<span class="asteriskField">*</span>' in page, label
        response = admin_client.post(reverse("claims:new_activity"), step2(world))
        page = text(admin_client.get(response["Location"]))
        assert "Dynamics solution seller name" not in page  # Usage asks only for the name

    def test_revenue_association_asks_for_its_three_names(self, admin_client, world):
        response = admin_client.post(reverse("claims:new_activity"), step2(world, usage="", revenue="on"))
        query = query_of(response)
        page = text(admin_client.get(response["Location"]))
        for label in ("Dynamics solution seller name", "Customer name", "Name of ISV product/solution"):
            assert label in page
        response = admin_client.post(reverse("claims:new_associate"), {**query, "name": "Rev"})
        assert response.status_code == 200
        assert "This field is required for Revenue association." in text(response)
        assert not Claim.objects.exists()
        create_draft(
            admin_client,
            world,
            activity="revenue",
            solution_seller_name="Sam",
            customer_name="Contoso",
            isv_solution_name="Fabrikam CRM",
        )
        assert Claim.objects.get().isv_solution_name == "Fabrikam CRM"


class TestStepOne:
    def test_a_link_can_fill_in_the_first_page(self, admin_client, world):
        """Re-associating a legacy Microsoft 365 association starts here with its MPN ID,
        domain and tenant ID already entered (claims.usage_views.reassociate_url)."""
        response = admin_client.get(reverse("claims:new"), step1(world))
        form = response.context["form"]
        assert (form["mpn"].value(), form["domain"].value(), form["tenant_id"].value()) == (
            str(world.mpn.pk),
            world.domain,
            str(world.tenant.tenant_id),
        )


class TestStepOneErrors:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"tenant_id": "1234-not-a-guid"}, "must be a GUID"),
            ({"domain": "unknown-domain.example"}, "don&#x27;t match. Contact your customer"),
            ({"domain": "litware.com"}, "don&#x27;t match"),
            ({"domain": "not a domain!"}, "Enter a domain name such as contoso.onmicrosoft.com."),
            ({"mpn": "999999"}, "Select one of your organisation&#x27;s MPN IDs."),
        ],
    )
    def test_bad_input_on_the_first_page_is_explained(self, admin_client, world, changes, message):
        response = admin_client.post(reverse("claims:new"), step1(world, **changes))
        assert response.status_code == 200
        assert message in text(response)

    def test_another_partners_mpn_id_is_not_offered_and_not_accepted(self, admin_client, world):
        foreign = MpnIdFactory(mpn_id="5550001")
        assert "5550001" not in text(admin_client.get(reverse("claims:new")))
        response = admin_client.post(reverse("claims:new"), step1(world, mpn=foreign.pk))
        assert "Select one of your organisation&#x27;s MPN IDs." in text(response)


class TestStepTwoErrors:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"solution_area": "Microsoft 365", "usage": "", "presales": "on"}, "For Microsoft 365, the only activity"),
            ({"solution_area": "Microsoft 365", "revenue": "on"}, "For Microsoft 365, the only activity"),
            ({"revenue": "on"}, "Revenue association is chosen alone"),
            ({"usage": ""}, "Select an activity."),
            ({"solution_area": "Dynamics AX"}, "Select a valid choice"),
        ],
    )
    def test_an_activity_the_solution_area_does_not_offer_is_explained(self, admin_client, world, changes, message):
        response = admin_client.post(reverse("claims:new_activity"), step2(world, **changes))
        assert response.status_code == 200
        assert message in text(response)

    def test_a_non_enrolled_mpn_id_cannot_claim_a_programme(self, admin_client, world):
        response = admin_client.post(
            reverse("claims:new_activity"), step2(world, mpn=world.unenrolled_mpn.pk, presales="on")
        )
        page = text(response)
        assert "MPN ID 7654321 isn&#x27;t enrolled in OSU-BizApps" in page
        assert "isn&#x27;t enrolled in OSA-Sell" in page

    def test_a_non_enrolled_mpn_id_may_still_claim_revenue_association(self, admin_client, world):
        response = admin_client.post(
            reverse("claims:new_activity"), step2(world, mpn=world.unenrolled_mpn.pk, usage="", revenue="on")
        )
        assert response.status_code == 302

    def test_the_page_shows_the_chosen_mpn_ids_enrolment(self, admin_client, world):
        url = reverse("claims:new_activity") + "?" + "&".join(f"{k}={v}" for k, v in step1(world).items())
        assert "1234567 – Paris, FR (OSA-Sell, OSU-M365, OSU-BizApps)" in text(admin_client.get(url))

    def test_arriving_with_a_bad_customer_goes_back_to_the_first_page(self, admin_client, world):
        response = admin_client.get(reverse("claims:new_activity"), step1(world, domain="litware.com"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("claims:new"))


class TestTamperedHiddenFields:
    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"tenant_id": "00000000-0000-0000-0000-000000000001"}, "don&#x27;t match"),
            ({"tenant_id": "garbage"}, "Directory ID / Tenant ID: The Directory ID / Tenant ID must be a GUID"),
            ({"domain": "litware.com"}, "don&#x27;t match"),
            ({"activity": "presales", "solution_area": "Microsoft 365"}, "isn&#x27;t available for the solution area"),
            ({"activity": "cooking"}, "Activity: Select a valid choice"),
        ],
    )
    def test_a_tampered_hidden_value_on_the_associate_page_creates_nothing(self, admin_client, world, changes, message):
        response = admin_client.post(reverse("claims:new_associate"), step3(world, **changes))
        assert response.status_code == 200
        assert message in text(response)
        assert not Claim.objects.exists()

    def test_another_partners_mpn_id_in_a_hidden_field_creates_nothing(self, admin_client, world):
        foreign = MpnIdFactory()
        response = admin_client.post(reverse("claims:new_associate"), step3(world, mpn=foreign.pk))
        assert "MPN ID: Select one of your organisation&#x27;s MPN IDs." in text(response)
        assert not Claim.objects.exists()

    def test_a_non_enrolled_mpn_id_swapped_in_creates_nothing(self, admin_client, world):
        response = admin_client.post(reverse("claims:new_associate"), step3(world, mpn=world.unenrolled_mpn.pk))
        assert "isn&#x27;t enrolled in OSU-BizApps" in text(response)
        assert not Claim.objects.exists()

    def test_a_products_page_drawn_for_another_tenant_changes_nothing(self, admin_client, world):
        claim = create_draft(admin_client, world)
        response = admin_client.post(
            reverse("claims:draft_items", args=[claim.pk]),
            {"tenant_id": str(world.other_tenant.tenant_id), "items": [world.sales.pk]},
        )
        assert "This page was for another customer tenant" in text(response)
        assert not claim.items.exists()

    def test_a_product_that_is_not_on_the_list_changes_nothing(self, admin_client, world):
        claim = create_draft(admin_client, world)
        response = admin_client.post(
            reverse("claims:draft_items", args=[claim.pk]),
            {"tenant_id": str(world.tenant.tenant_id), "items": [world.m365.pk]},
        )
        assert "Select products or workloads from the list." in text(response)
        assert not claim.items.exists()


class TestItemsStep:
    def url(self, claim):
        return reverse("claims:draft_items", args=[claim.pk])

    def test_the_directory_is_checked_before_the_partner_goes_on(self, admin_client, world):
        claim = create_draft(admin_client, world)
        page = text(admin_client.get(self.url(claim)))
        assert "Dynamics 365 Finance – " in page and "The subscription provided is for CSP." in page
        assert "Dynamics 365 Field Service – " in page and "activated/provisioned" in page
        assert "enter the subscription ID you are claiming" in page

    @pytest.mark.parametrize(
        ("product", "subscription_id", "message"),
        [
            ("service", "", "This product has several subscriptions"),
            ("service", "not-a-guid", "The identifier provided isn&#x27;t a subscription ID."),
            ("finance", "", "The subscription provided is for CSP."),
            ("field", "", "hasn&#x27;t yet activated/provisioned"),
        ],
    )
    def test_subscription_errors_stop_the_partner_with_the_seeds_reason(
        self, admin_client, world, product, subscription_id, message
    ):
        claim = create_draft(admin_client, world)
        product = getattr(world, product)
        response = admin_client.post(
            self.url(claim),
            {
                "tenant_id": str(world.tenant.tenant_id),
                "items": [product.pk],
                f"subscription_{product.pk}": subscription_id,
            },
        )
        assert response.status_code == 200
        assert message in text(response)
        assert not claim.items.exists()

    def test_a_refusal_listed_above_the_form_is_said_once(self, admin_client, incentives_admin, world):
        claim = create_draft(admin_client, world)
        refused = {"tenant_id": str(world.tenant.tenant_id), "items": [world.finance.pk]}
        page = text(admin_client.post(self.url(claim), refused))
        assert page.count("The subscription provided is for CSP.") == 1
        assert "Dynamics 365 Finance cannot be claimed: the reason is given above." in page
        incentives_admin.language = "fr"
        incentives_admin.save(update_fields=["language"])
        page = text(admin_client.post(self.url(claim), refused))
        assert "Dynamics 365 Finance ne peut pas être revendiqué : la raison est indiquée ci-dessus." in page
        assert not claim.items.exists()

    def test_a_refusal_not_listed_above_is_given_in_full_once(self, admin_client, world):
        claim = create_draft(admin_client, world)
        product = world.service
        response = admin_client.post(
            self.url(claim),
            {"tenant_id": str(world.tenant.tenant_id), "items": [product.pk], f"subscription_{product.pk}": "nope"},
        )
        page = text(response)
        assert page.count("The identifier provided isn&#x27;t a subscription ID.") == 1
        assert "the reason is given above" not in page

    def test_a_competing_claim_is_announced_without_naming_the_other_partner(self, admin_client, world):
        rival = ClaimFactory(tenant=world.tenant, status=ClaimStatus.UNDER_REVIEW)
        SubscriptionItemFactory(claim=rival, subscription=world.sales_subscription)
        claim = create_draft(admin_client, world)
        page = text(admin_client.get(self.url(claim)))
        assert "your claim will go to arbitration" in page
        assert rival.partner.name not in page
        response = admin_client.post(
            self.url(claim), {"tenant_id": str(world.tenant.tenant_id), "items": [world.sales.pk]}, follow=True
        )
        page = text(response)
        assert "another partner already holds or claims this item; your claim will go to arbitration" in page
        assert rival.partner.name not in page and rival.mpn.mpn_id not in page
        assert claim.items.count() == 1

    def test_no_item_selected_is_explained(self, admin_client, world):
        claim = create_draft(admin_client, world)
        response = admin_client.post(self.url(claim), {"tenant_id": str(world.tenant.tenant_id)})
        assert "Select at least one product or workload." in text(response)


class TestLaterSteps:
    def test_a_missing_contact_is_required_and_nothing_is_saved(self, admin_client, world):
        claim = create_draft(admin_client, world)
        response = admin_client.post(
            reverse("claims:draft_contacts", args=[claim.pk]),
            {"customer_contact_name": "Ada", "customer_contact_email": "not-an-email"},
        )
        page = text(response)
        assert "This field is required." in page and "Enter a valid email address." in page
        claim.refresh_from_db()
        assert claim.customer_contact_name == ""

    def test_a_renamed_executable_is_refused_and_nothing_is_stored(self, admin_client, world):
        claim = create_draft(admin_client, world)
        executable = b"MZ\x90\x00\x03" + b"\x00" * 200 + b"PE\x00\x00" + b"\x00" * 200
        response = admin_client.post(
            reverse("claims:draft_proof", args=[claim.pk]), {"files": SimpleUploadedFile("SoW.pdf", executable)}
        )
        assert "SoW.pdf isn&#x27;t an accepted kind of file." in text(response)
        assert not ProofOfExecution.objects.exists()

    def test_an_oversize_file_is_refused_and_nothing_is_stored(self, admin_client, world, settings):
        settings.POE_MAX_BYTES = 64
        claim = create_draft(admin_client, world)
        response = admin_client.post(
            reverse("claims:draft_proof", args=[claim.pk]), {"files": SimpleUploadedFile("SoW.pdf", PDF_BYTES)}
        )
        assert "SoW.pdf is too large" in text(response)
        assert not ProofOfExecution.objects.exists()

    def test_one_bad_file_among_several_stores_none(self, admin_client, world):
        claim = create_draft(admin_client, world)
        admin_client.post(
            reverse("claims:draft_proof", args=[claim.pk]),
            {"files": [SimpleUploadedFile("a.pdf", PDF_BYTES), SimpleUploadedFile("b.pdf", b"MZ" + b"\x00" * 99)]},
        )
        assert not ProofOfExecution.objects.exists()

    def test_each_refused_file_is_named_under_the_field_and_tied_to_it(self, admin_client, world):
        claim = create_draft(admin_client, world)
        executable = b"MZ" + b"\x00" * 99
        response = admin_client.post(
            reverse("claims:draft_proof", args=[claim.pk]),
            {"files": [SimpleUploadedFile("a<b>.pdf", executable), SimpleUploadedFile("c.pdf", executable)]},
        )
        page = text(response)
        assert (
            '<input type="file" name="files" class="form-control is-invalid" accept=".pdf,.docx,.xlsx,.png,.jpg,.jpeg"'
            ' multiple id="id_files" required aria-invalid="true" aria-describedby="id_files_helptext id_files_error">'
        ) in page
        assert '<span id="error_1_id_files"><strong>a&lt;b&gt;.pdf isn&#x27;t an accepted kind of file.' in page
        assert '<span id="error_2_id_files"><strong>c.pdf isn&#x27;t an accepted kind of file.' in page
        assert '<div id="id_files_helptext" class="form-text">PDF, Word (.docx), Excel (.xlsx)' in page

    def test_a_drafts_file_can_be_removed(self, admin_client, world):
        claim = create_draft(admin_client, world)
        admin_client.post(
            reverse("claims:draft_proof", args=[claim.pk]), {"files": SimpleUploadedFile("a.pdf", PDF_BYTES)}
        )
        proof = claim.proofs.get()
        admin_client.post(reverse("claims:draft_proof_remove", args=[claim.pk, proof.pk]))
        assert not claim.proofs.exists()

    def test_the_last_step_sums_up_the_claim_escaped_without_the_outcomes_meanings(self, admin_client, world):
        claim = create_draft(admin_client, world)
        Claim.objects.filter(pk=claim.pk).update(name="<b>Mine</b>")
        SubscriptionItemFactory(claim=claim)
        page = text(admin_client.get(reverse("claims:draft_submit", args=[claim.pk])))
        assert 'data-testid="claim-name">&lt;b&gt;Mine&lt;/b&gt;</dd>' in page
        assert '<dt class="col-sm-4">Domain name</dt>' in page
        assert 'id="claim-items"' in page and "<td>OSU-BizApps</td><td>Pending</td>" in page
        assert "Waiting for validation" not in page  # the outcome's meaning is the claim page's

    def test_an_incomplete_draft_cannot_be_submitted(self, admin_client, world):
        claim = create_draft(admin_client, world)
        page = text(admin_client.get(reverse("claims:draft_submit", args=[claim.pk])))
        assert "Before you submit, add products, contacts, proof of execution." in page
        response = admin_client.post(reverse("claims:submit", args=[claim.pk]), follow=True)
        assert "Before you submit" in text(response)
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.DRAFT

    def test_a_second_submit_is_refused_with_a_message(self, admin_client, world, partner):
        claim = ClaimFactory(partner=partner, mpn=world.mpn, status=ClaimStatus.SUBMITTED)
        response = admin_client.post(reverse("claims:submit", args=[claim.pk]), follow=True)
        assert "This claim has already been submitted." in text(response)
        assert response.redirect_chain[-1][0] == reverse("claims:detail", args=[claim.pk])
        assert not ClaimEvent.objects.filter(claim=claim, action="submitted").exists()

    @pytest.mark.parametrize("name", ["draft_details", "draft_items", "draft_contacts", "draft_proof", "draft_delete"])
    def test_a_submitted_claim_is_not_edited_through_the_wizard(self, admin_client, world, partner, name):
        claim = ClaimFactory(partner=partner, mpn=world.mpn, status=ClaimStatus.UNDER_REVIEW, name="Frozen")
        response = admin_client.post(reverse(f"claims:{name}", args=[claim.pk]), {"name": "Changed"}, follow=True)
        assert "can no longer be changed" in text(response)
        claim.refresh_from_db()
        assert claim.name == "Frozen" and Claim.objects.filter(pk=claim.pk).exists()


def contacts(world, **changes) -> dict:
    return {
        "customer_contact_name": "Ada Customer",
        "customer_contact_title": "CIO",
        "customer_contact_email": "ada@contoso.fr",
        "technical_contact_name": "Tom Tech",
        "technical_contact_title": "IT lead",
        "technical_contact_email": "tom@it.contoso.fr",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": world.contact.email,
        **changes,
    }


class TestContactRules:
    """Issue 7: the customer's addresses are on the tenant's verified domains (or a subdomain
    of one); the partner contact is one of the partner's active users. The Contacts step
    says so, refuses the rest with a message, and saves nothing."""

    def url(self, claim):
        return reverse("claims:draft_contacts", args=[claim.pk])

    def test_the_contacts_step_names_the_verified_domains_and_offers_the_partners_users(self, admin_client, world):
        from cpor.models import Role
        from cpor.tests.factories import partner_user

        partner_user(world.partner, Role.INCENTIVES_USER, email="gone@fabrikam.example", is_active=False)
        partner_user(None, Role.INCENTIVES_ADMIN, email="nina@northwind.example")
        claim = create_draft(admin_client, world)
        page = text(admin_client.get(self.url(claim)))
        assert "On one of the customer's verified domains (or a subdomain of one): contoso.fr, " in page
        assert "contoso.onmicrosoft.com" in page
        assert 'list="partner-contact-emails"' in page
        assert '<option value="paula@fabrikam.example">' in page
        assert "gone@fabrikam.example" not in page and "nina@northwind.example" not in page

    def test_contacts_on_the_verified_domains_and_a_partner_user_are_saved(self, admin_client, world):
        claim = create_draft(admin_client, world)
        response = admin_client.post(self.url(claim), contacts(world, partner_contact_email="PAULA@fabrikam.example"))
        assert response.status_code == 302
        claim.refresh_from_db()
        assert (claim.customer_contact_email, claim.technical_contact_email) == ("ada@contoso.fr", "tom@it.contoso.fr")

    @pytest.mark.parametrize(
        ("field", "address"),
        [
            ("customer_contact_email", "someone@fabrikam.example"),
            ("customer_contact_email", "ada@evilcontoso.fr"),
            ("technical_contact_email", "someone@fabrikam.example"),
        ],
    )
    def test_a_customer_address_off_the_tenants_domains_is_refused_and_nothing_is_saved(
        self, admin_client, world, field, address
    ):
        claim = create_draft(admin_client, world)
        response = admin_client.post(self.url(claim), contacts(world, **{field: address}))
        assert response.status_code == 200
        assert "email address isn&#x27;t on one of the customer&#x27;s verified domains" in text(response)
        claim.refresh_from_db()
        assert (claim.customer_contact_email, claim.technical_contact_email) == ("", "")
        assert not claim.events.filter(action="contacts_changed").exists()

    @pytest.mark.parametrize("address", ["someone@fabrikam.example", "nina@northwind.example", "gone@fabrikam.example"])
    def test_a_partner_contact_who_is_not_one_of_the_partners_active_users_is_refused(
        self, admin_client, world, address
    ):
        from cpor.models import Role
        from cpor.tests.factories import partner_user

        partner_user(world.partner, Role.INCENTIVES_USER, email="gone@fabrikam.example", is_active=False)
        partner_user(None, Role.INCENTIVES_ADMIN, email="nina@northwind.example")
        claim = create_draft(admin_client, world)
        response = admin_client.post(self.url(claim), contacts(world, partner_contact_email=address))
        assert "must be that of an active user of your organisation" in text(response)
        claim.refresh_from_db()
        assert claim.partner_contact_email == ""

    def test_the_service_refuses_what_a_tampered_form_would_let_through(self, world, incentives_admin):
        from claims import services
        from claims.services import ClaimContacts, ClaimProblems

        claim = create_draft_through_services(world, incentives_admin)
        bad = ClaimContacts(
            **{
                **contacts(world),
                "customer_contact_email": "someone@fabrikam.example",
                "partner_contact_email": "someone@fabrikam.example",
            }
        )
        with pytest.raises(ClaimProblems) as refused:
            services.claim_set_contacts(user=incentives_admin, claim_id=claim.pk, contacts=bad)
        assert [problem.code for problem in refused.value.problems] == [
            "customer_contact_off_domain",
            "partner_contact_not_a_user",
        ]
        claim.refresh_from_db()
        assert claim.customer_contact_email == "" and claim.partner_contact_email == ""

    def test_the_contact_rules_are_explained_in_french(self, client, world):
        from cpor.models import Role
        from cpor.tests.factories import partner_user

        client.force_login(partner_user(world.partner, Role.INCENTIVES_ADMIN, language="fr"))
        claim = create_draft(client, world)
        page = text(client.get(self.url(claim)))
        assert "Sur l’un des domaines vérifiés du client" in page
        response = client.post(
            self.url(claim),
            contacts(world, customer_contact_email="x@fabrikam.example", partner_contact_email="x@fabrikam.example"),
        )
        page = text(response)
        assert "L’adresse e-mail du contact client n’est pas sur l’un des domaines vérifiés du client" in page
        assert "doit être celle d’un utilisateur actif de votre organisation" in page


def create_draft_through_services(world, user):
    from claims import services

    return services.claim_create_draft(
        user=user,
        start=services.ClaimStart(
            mpn_id=world.mpn.pk,
            domain=world.domain,
            tenant_guid=world.tenant.tenant_id,
            solution_area="Business Applications",
            activity="usage",
            name="Sales",
        ),
    )


class TestDrafts:
    def test_a_draft_is_resumed_at_the_first_step_it_lacks(self, admin_client, world):
        claim = create_draft(admin_client, world)
        page = text(admin_client.get(reverse("claims:detail", args=[claim.pk])))
        assert reverse("claims:draft_items", args=[claim.pk]) in page
        assert "Continue the claim" in page and "Delete draft" in page

    def test_a_draft_is_changed_and_changing_the_activity_clears_its_products(self, admin_client, world):
        claim = create_draft(admin_client, world)
        admin_client.post(
            reverse("claims:draft_items", args=[claim.pk]),
            {"tenant_id": str(world.tenant.tenant_id), "items": [world.sales.pk]},
        )
        details_url = reverse("claims:draft_details", args=[claim.pk])
        page = text(admin_client.get(details_url))
        assert 'value="Sales"' in page
        response = admin_client.post(
            details_url, {**step1(world), "solution_area": "Business Applications", "presales": "on", "name": "New"}
        )
        assert response["Location"] == reverse("claims:draft_items", args=[claim.pk])
        claim.refresh_from_db()
        assert (claim.name, claim.activity) == ("New", "presales")
        assert not claim.items.exists()

    def test_a_draft_is_deleted_after_confirmation(self, admin_client, world):
        claim = create_draft(admin_client, world)
        url = reverse("claims:draft_delete", args=[claim.pk])
        assert "Delete draft" in text(admin_client.get(url))
        assert Claim.objects.filter(pk=claim.pk).exists()
        response = admin_client.post(url, follow=True)
        assert "The draft has been deleted." in text(response)
        assert not Claim.objects.filter(pk=claim.pk).exists()

    def test_the_step_indicator_shows_every_step_and_the_current_one(self, admin_client, world):
        claim = create_draft(admin_client, world)
        response = admin_client.get(reverse("claims:draft_contacts", args=[claim.pk]))
        steps = response.context["steps"]
        assert [step["number"] for step in steps] == [1, 2, 3, 4, 5, 6, 7]
        assert [step["state"] for step in steps] == ["done"] * 4 + ["current"] + ["todo"] * 2
        assert 'aria-current="step"' in text(response)


class TestFrench:
    """The French words of the seed's own French page, on the pages where a user looks for them."""

    @pytest.fixture
    def french_client(self, client, partner):
        from cpor.models import Role
        from cpor.tests.factories import partner_user

        client.force_login(partner_user(partner, Role.INCENTIVES_ADMIN, language="fr"))
        return client

    def test_every_step_carries_the_seeds_french_labels(self, french_client, world):
        client = french_client
        assert "+ Association client" in text(client.get(reverse("claims:list")))
        page = text(client.get(reverse("claims:new")))
        for label in ("ID MPN", "Nom de domaine", "ID d’annuaire / ID de locataire", "Continuer"):
            assert label in page
        page = text(client.get(reverse("claims:new_activity"), step1(world)))
        for label in (
            "Zone de solution",
            "Activité",
            "Utilisation et/ou prévente",
            "Association de chiffre d’affaires",
        ):
            assert label in page
        page = text(
            client.get(
                reverse("claims:new_associate"),
                {**step1(world), "solution_area": "Business Applications", "activity": "usage"},
            )
        )
        assert "Associer un client" in page and "Créer une revendication" in page
        claim = create_draft(client, world)
        assert "Produit(s)" in text(client.get(reverse("claims:draft_items", args=[claim.pk])))
        page = text(client.get(reverse("claims:draft_proof", args=[claim.pk])))
        assert "Preuve d’exécution (PoE)" in page and "Télécharger un modèle" in page
        assert "Envoyer une demande" in text(client.get(reverse("claims:draft_submit", args=[claim.pk])))
        page = text(client.get(reverse("claims:detail", args=[claim.pk])))
        assert "État" in page and "Historique" in page and "Brouillon" in page

    def test_errors_are_explained_in_french(self, french_client, world):
        page = text(french_client.post(reverse("claims:new"), step1(world, tenant_id="pas-un-guid")))
        assert "L’ID d’annuaire / ID de locataire doit être un GUID" in page
        page = text(french_client.post(reverse("claims:new"), step1(world, domain="inconnu.example")))
        assert "ne correspondent pas. Contactez votre client" in page
        page = text(
            french_client.post(
                reverse("claims:new_activity"), step2(world, solution_area="Microsoft 365", presales="on", usage="")
            )
        )
        assert "Pour Microsoft 365, la seule activité est l’utilisation." in page
