"""Filing and following claims through the API: the site's forms validate (same messages,
in the key owner's language), the site's services write (same checks, same events, the
key's creator as actor), the site's selectors read."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from claims.models import Activity, Claim, ClaimEvent, ClaimStatus, ItemOutcome
from claims.tests.factories import PDF_BYTES, ClaimFactory, SubscriptionItemFactory, directory_world
from claims.tests.test_review import put_approved
from cpor.models import Role
from cpor.tests.factories import PartnerFactory, partner_user
from tenants.models import SolutionArea, Usage

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(partner):
    return directory_world(partner)


def draft_body(world, **changes):
    return {
        "mpn": world.mpn.mpn_id,
        "domain": world.domain,
        "tenant_id": str(world.tenant.tenant_id),
        "solution_area": SolutionArea.BUSINESS_APPLICATIONS,
        "activity": Activity.USAGE,
        "name": "Contoso Sales",
        **changes,
    }


CONTACTS = {
    "customer_contact_name": "Ada Customer",
    "customer_contact_title": "CIO",
    "customer_contact_email": "ada@contoso.fr",
    "technical_contact_name": "Tom Tech",
    "technical_contact_title": "IT lead",
    "technical_contact_email": "tom@contoso.fr",
    "partner_contact_name": "Paula Partner",
    "partner_contact_email": "paula@fabrikam.example",
}


def pdf(name="sow.pdf"):
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def create(client, world, **changes):
    answer = client.post("/api/v1/claims/", draft_body(world, **changes), format="json")
    assert answer.status_code == 201, answer.json()
    return answer


# --- Create a draft ---------------------------------------------------------------------------


def test_create_draft_makes_the_claim_a_draft_with_the_keys_creator_as_actor(filer, world, global_admin):
    answer = create(filer, world)
    body = answer.json()
    claim = Claim.objects.get()
    assert answer["Location"] == f"/api/v1/claims/{claim.pk}/"
    assert (body["id"], body["status"], body["mpn_id"], body["customer"]) == (claim.pk, "draft", "1234567", "Contoso")
    assert body["missing_for_submission"] == ["products", "contacts", "proof of execution"]
    event = claim.events.get()
    assert (event.action, event.actor) == ("draft_created", global_admin)
    assert claim.created_by == global_admin
    assert body["history"][0]["actor"] == global_admin.email
    assert answer["Cache-Control"] == "private, no-store"


def test_create_draft_bad_input_is_400_with_field_errors_and_creates_nothing(filer, world):
    answer = filer.post(
        "/api/v1/claims/",
        {"mpn": "9999999", "domain": "not a domain", "tenant_id": "nope", "solution_area": "x"},
        format="json",
    )
    assert answer.status_code == 400
    errors = answer.json()
    assert errors["mpn"] == ["Select one of your organisation's MPN IDs."]
    assert errors["domain"] == ["Enter a domain name such as contoso.onmicrosoft.com."]
    assert "tenant_id" in errors and "solution_area" in errors and "name" in errors and "activity" in errors
    assert not Claim.objects.exists()


def test_create_draft_rules_of_the_site_are_non_field_errors_in_english_and_french(filer, world, global_admin):
    mismatch = filer.post(
        "/api/v1/claims/", draft_body(world, tenant_id=str(world.other_tenant.tenant_id)), format="json"
    )
    assert mismatch.status_code == 400
    assert mismatch.json()["non_field_errors"][0].startswith("The domain name and the Directory ID / Tenant ID")
    unenrolled = filer.post("/api/v1/claims/", draft_body(world, mpn=world.unenrolled_mpn.mpn_id), format="json")
    assert unenrolled.json() == {
        "non_field_errors": ["MPN ID 7654321 isn't enrolled in OSU-BizApps, which this activity needs."]
    }
    global_admin.language = "fr"
    global_admin.save(update_fields=["language"])
    french = filer.post(
        "/api/v1/claims/", draft_body(world, tenant_id=str(world.other_tenant.tenant_id)), format="json"
    )
    assert french.status_code == 400
    assert french.json()["non_field_errors"][0].startswith("Le nom de domaine")
    assert not Claim.objects.exists()


def test_changing_a_drafts_customer_clears_its_items_as_on_the_site(filer, world, global_admin):
    claim_id = create(filer, world).json()["id"]
    filer.put(f"/api/v1/claims/{claim_id}/items/", {"items": [world.sales.pk]}, format="json")
    renamed = filer.put(f"/api/v1/claims/{claim_id}/", draft_body(world, name="Contoso Dynamics"), format="json")
    assert renamed.status_code == 200
    assert (renamed.json()["name"], len(renamed.json()["items"])) == ("Contoso Dynamics", 1)
    m365 = filer.put(
        f"/api/v1/claims/{claim_id}/",
        draft_body(world, solution_area=SolutionArea.MICROSOFT_365, activity=Activity.USAGE),
        format="json",
    )
    assert m365.status_code == 200
    assert m365.json()["items"] == []
    assert [entry["action"] for entry in m365.json()["history"]][-2:] == ["items_changed", "draft_updated"]
    bad = filer.put(f"/api/v1/claims/{claim_id}/", draft_body(world, mpn="0000000"), format="json")
    assert bad.json() == {"mpn": ["Select one of your organisation's MPN IDs."]}


def test_a_json_body_that_is_not_an_object_is_400(filer, world):
    answer = filer.post("/api/v1/claims/", ["mpn", "domain"], format="json")
    assert answer.status_code == 400
    assert answer.json() == {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}
    assert filer.post("/api/v1/claims/", "{not json", content_type="application/json").status_code == 400
    assert not Claim.objects.exists()


def test_revenue_association_needs_its_three_names(filer, world):
    answer = filer.post("/api/v1/claims/", draft_body(world, activity=Activity.REVENUE), format="json")
    assert answer.status_code == 400
    assert answer.json()["customer_name"] == ["This field is required for Revenue association."]


# --- Items, contacts, proof, comments, submit --------------------------------------------------


def test_file_a_claim_step_by_step_and_submit_it(filer, world, global_admin, django_capture_on_commit_callbacks):
    claim_id = create(filer, world).json()["id"]
    options = filer.get(f"/api/v1/claims/{claim_id}/item-options/").json()
    by_name = {option["name"]: option for option in options}
    assert by_name["Dynamics 365 Customer Service"]["needs_subscription_id"] is True
    assert by_name["Dynamics 365 Finance"]["problems"]  # bought through CSP

    service_subscription = world.service_subscriptions[1].subscription_id
    items = filer.put(
        f"/api/v1/claims/{claim_id}/items/",
        {
            "items": [world.sales.pk, world.service.pk],
            "subscription_ids": {str(world.service.pk): str(service_subscription)},
        },
        format="json",
    )
    assert items.status_code == 200, items.json()
    labels = {item["label"] for item in items.json()["items"]}
    assert labels == {
        f"Dynamics 365 Sales ({world.sales_subscription.subscription_id})",
        f"Dynamics 365 Customer Service ({service_subscription})",
    }
    assert items.json()["warnings"] == []

    contacts = filer.put(f"/api/v1/claims/{claim_id}/contacts/", CONTACTS, format="json")
    assert contacts.status_code == 200
    assert contacts.json()["contacts"]["customer_contact_email"] == "ada@contoso.fr"

    proofs = filer.post(f"/api/v1/claims/{claim_id}/proofs/", {"files": [pdf("a.pdf"), pdf("b.pdf")]})
    assert proofs.status_code == 201
    assert [proof["file_name"] for proof in proofs.json()] == ["a.pdf", "b.pdf"]

    comment = filer.post(f"/api/v1/claims/{claim_id}/comments/", {"body": "Signed SOW attached."}, format="json")
    assert comment.status_code == 201
    assert comment.json()["author"] == global_admin.email

    with django_capture_on_commit_callbacks() as callbacks:
        submitted = filer.post(f"/api/v1/claims/{claim_id}/submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == ClaimStatus.SUBMITTED
    assert submitted.json()["submitted_at"]
    assert len(callbacks) >= 1  # validation is queued once the submission is committed
    actions = list(ClaimEvent.objects.filter(claim_id=claim_id).values_list("action", "actor"))
    assert actions == [
        ("draft_created", global_admin.pk),
        ("items_changed", global_admin.pk),
        ("contacts_changed", global_admin.pk),
        ("poe_added", global_admin.pk),
        ("poe_added", global_admin.pk),
        ("comment_added", global_admin.pk),
        ("submitted", global_admin.pk),
    ]

    again = filer.post(f"/api/v1/claims/{claim_id}/submit/")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This claim has already been submitted."]}
    frozen = filer.put(f"/api/v1/claims/{claim_id}/contacts/", CONTACTS, format="json")
    assert frozen.json() == {"non_field_errors": ["This claim has been submitted and can no longer be changed."]}
    assert ClaimEvent.objects.filter(claim_id=claim_id).count() == 7


def test_items_bad_input_is_400_with_field_errors(filer, world):
    claim_id = create(filer, world).json()["id"]
    url = f"/api/v1/claims/{claim_id}/items/"
    assert filer.put(url, {"items": []}, format="json").json() == {
        "items": ["Select at least one product or workload."]
    }
    assert filer.put(url, {"items": [999999]}, format="json").json() == {
        "items": ["Select products or workloads from the list."]
    }
    several = filer.put(url, {"items": [world.service.pk]}, format="json").json()
    assert several["subscription_ids"][0].startswith("Dynamics 365 Customer Service: This product has several")
    csp = filer.put(url, {"items": [world.finance.pk]}, format="json")
    assert csp.status_code == 400
    assert "CSP" in csp.json()["non_field_errors"][0]
    moved = filer.put(url, {"items": [world.sales.pk], "tenant_id": str(world.other_tenant.tenant_id)}, format="json")
    assert moved.json()["tenant_id"][0].startswith("This page was for another customer tenant")
    assert not Claim.objects.get().items.exists()


def test_a_competing_item_is_a_warning_not_an_error(filer, world):
    rival = ClaimFactory(mpn__partner=PartnerFactory(), tenant=world.tenant)
    held = SubscriptionItemFactory(claim=rival, subscription=world.sales_subscription, outcome=ItemOutcome.APPROVED)
    put_approved(rival)
    claim_id = create(filer, world).json()["id"]
    answer = filer.put(f"/api/v1/claims/{claim_id}/items/", {"items": [world.sales.pk]}, format="json")
    assert answer.status_code == 200
    assert answer.json()["warnings"] == [
        f"{held.label}: another partner already holds or claims this item; your claim will go to arbitration. "
        "Reviewers will compare the proofs of execution and may ask for more."
    ]
    assert answer.json()["competing"] == [held.label]


def test_contacts_bad_input_is_400_with_field_errors_in_french(filer, world, global_admin):
    claim_id = create(filer, world).json()["id"]
    global_admin.language = "fr"
    global_admin.save(update_fields=["language"])
    answer = filer.put(
        f"/api/v1/claims/{claim_id}/contacts/", {**CONTACTS, "customer_contact_email": "nope"}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == {"customer_contact_email": ["Saisissez une adresse e-mail valide."]}
    assert Claim.objects.get().customer_contact_email == ""


def test_proof_of_execution_is_judged_by_its_content(filer, world):
    claim_id = create(filer, world).json()["id"]
    fake = SimpleUploadedFile("sow.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
    answer = filer.post(f"/api/v1/claims/{claim_id}/proofs/", {"files": [fake]})
    assert answer.status_code == 400
    assert list(answer.json()) == ["files"]
    nothing = filer.post(f"/api/v1/claims/{claim_id}/proofs/", {}, format="json")
    assert nothing.json() == {"files": ["Choose or drop at least one file."]}
    assert not Claim.objects.get().proofs.exists()


def test_a_drafts_file_can_be_removed_and_the_draft_deleted(filer, world):
    claim_id = create(filer, world).json()["id"]
    proof_id = filer.post(f"/api/v1/claims/{claim_id}/proofs/", {"files": [pdf()]}).json()[0]["id"]
    assert filer.delete(f"/api/v1/claims/{claim_id}/proofs/{proof_id}/").status_code == 204
    assert filer.get(f"/api/v1/claims/{claim_id}/").json()["proofs"] == []
    assert filer.delete(f"/api/v1/claims/{claim_id}/").status_code == 204
    assert not Claim.objects.exists()


def test_an_empty_comment_is_refused_with_the_sites_message(filer, world):
    claim_id = create(filer, world).json()["id"]
    answer = filer.post(f"/api/v1/claims/{claim_id}/comments/", {"body": "   "}, format="json")
    assert answer.json() == {"body": ["Write a comment first."]}


def test_submitting_an_incomplete_draft_says_what_is_missing(filer, world):
    claim_id = create(filer, world).json()["id"]
    answer = filer.post(f"/api/v1/claims/{claim_id}/submit/")
    assert answer.status_code == 400
    assert answer.json() == {"non_field_errors": ["Before you submit, add products, contacts, proof of execution."]}
    assert Claim.objects.get().status == ClaimStatus.DRAFT


# --- Reading: list, detail, usage ------------------------------------------------------------


def test_the_list_takes_the_sites_filters_and_pages_by_cursor(filer, partner, world):
    claims = [ClaimFactory(mpn=world.mpn, tenant=world.tenant, name=f"Claim {n}") for n in range(5)]
    put_approved(claims[0])
    first = filer.get("/api/v1/claims/?page_size=2").json()
    second = filer.get(first["next"]).json()
    third = filer.get(second["next"]).json()
    seen = [row["id"] for page in (first, second, third) for row in page["results"]]
    assert seen == [claim.pk for claim in reversed(claims)]
    assert third["next"] is None
    approved = filer.get("/api/v1/claims/?status=approved").json()["results"]
    assert [row["id"] for row in approved] == [claims[0].pk]
    assert [row["id"] for row in filer.get("/api/v1/claims/?q=Claim 3").json()["results"]] == [claims[3].pk]
    assert filer.get("/api/v1/claims/?mpn=7654321").json()["results"] == []


def test_a_bad_filter_is_400_with_field_errors(filer):
    answer = filer.get("/api/v1/claims/?status=lost&mpn=0000000")
    assert answer.status_code == 400
    assert set(answer.json()) == {"status", "mpn"}


def test_the_detail_shows_status_deadlines_items_comments_and_history_but_no_internal_note(filer, world):
    from claims import review
    from claims.tests.test_review import make_reviewer, put_under_review

    claim = ClaimFactory(mpn=world.mpn, tenant=world.tenant)
    SubscriptionItemFactory(claim=claim, subscription=world.sales_subscription)
    put_under_review(claim)
    reviewer = make_reviewer()
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="Looks fine.", internal=False)
    review.claim_comment_add_by_reviewer(reviewer=reviewer, claim_id=claim.pk, body="Secret note", internal=True)
    body = filer.get(f"/api/v1/claims/{claim.pk}/").json()
    assert body["status_text"]["code"] == "under_review"
    assert body["status_text"]["meaning"].startswith("The claim passed validation")
    assert body["opt_out_deadline"] and body["review_due_at"]
    assert body["opt_out_deadline_local"].endswith("(Europe/Paris)")
    assert [comment["body"] for comment in body["comments"]] == ["Looks fine."]
    assert body["comments"][0]["author"] == "Reviewer"
    assert "Secret note" not in str(body)
    assert [entry["action"] for entry in body["history"]][:2] == ["submitted", "validated"]
    assert body["items"][0]["outcome"] == "pending"


def test_usage_data_of_approved_items_only(api, make_key, world):
    claim = ClaimFactory(mpn=world.mpn, tenant=world.tenant)
    SubscriptionItemFactory(
        claim=claim,
        subscription=world.sales_subscription,
        outcome=ItemOutcome.APPROVED,
        decided_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),  # usage counts from the approval month
    )
    put_approved(claim)
    Usage.objects.create(
        tenant=world.tenant,
        workload=world.sales.code,
        month=datetime.date(2026, 1, 1),
        monthly_active_users=12,
        paid_available_units=20,
    )
    reader = api(make_key(Role.BILLING_ADMIN))
    page = reader.get("/api/v1/usage/").json()
    assert page["count"] == 1
    row = page["results"][0]
    assert (row["customer_name"], row["workload_name"], row["monthly_active_users"], row["claim_id"]) == (
        "Contoso",
        "Dynamics 365 Sales",
        12,
        claim.pk,
    )
    assert row["attribution_type"] == "OSU-BizApps"
    assert reader.get("/api/v1/usage/?month_from=2026-02").json()["count"] == 0
    bad = reader.get("/api/v1/usage/?month_from=January")
    assert bad.status_code == 400
    assert bad.json() == {"month_from": ["Enter a month as YYYY-MM, such as 2026-01."]}


def test_mpn_ids_with_their_programmes(filer, world):
    rows = filer.get("/api/v1/mpn-ids/").json()
    assert rows == [
        {"mpn_id": "1234567", "location": "Paris, FR", "programs": ["OSA-Sell", "OSU-M365", "OSU-BizApps"]},
        {"mpn_id": "7654321", "location": "Lyon, FR", "programs": []},
    ]


def test_an_other_partners_user_sees_none_of_it(api, world):
    stranger = partner_user(PartnerFactory(), Role.GLOBAL_ADMIN)
    from api import services

    _, secret = services.api_key_create(actor=stranger, name="Theirs", role=Role.INCENTIVES_ADMIN)
    ClaimFactory(mpn=world.mpn, tenant=world.tenant)
    assert api(secret).get("/api/v1/claims/").json()["results"] == []
    assert api(secret).get("/api/v1/mpn-ids/").json() == []


# --- Following: answering a reviewer ------------------------------------------------------------


@pytest.fixture
def information_requested(world):
    from claims import review
    from claims.tests.test_review import make_reviewer, put_under_review

    claim = ClaimFactory(mpn=world.mpn, tenant=world.tenant)
    SubscriptionItemFactory(claim=claim, subscription=world.sales_subscription)
    put_under_review(claim)
    review.claim_request_information(reviewer=make_reviewer(), claim_id=claim.pk, message="Send the signed SOW.")
    return claim


def test_a_comment_answers_a_reviewers_request_and_the_claim_goes_back_to_review(
    filer, information_requested, global_admin
):
    url = f"/api/v1/claims/{information_requested.pk}/"
    before = filer.get(url).json()
    assert before["status"] == ClaimStatus.ACTION_REQUIRED
    assert before["comments"][-1]["body"] == "Send the signed SOW."
    assert filer.post(f"{url}comments/", {"body": "Attached."}, format="json").status_code == 201
    after = filer.get(url).json()
    assert after["status"] == ClaimStatus.UNDER_REVIEW
    assert (after["history"][-1]["action"], after["history"][-1]["actor"]) == ("partner_responded", global_admin.email)


def test_more_proof_answers_a_reviewers_request_but_is_refused_once_back_under_review(filer, information_requested):
    url = f"/api/v1/claims/{information_requested.pk}/"
    assert filer.post(f"{url}proofs/", {"files": [pdf("signed.pdf")]}).status_code == 201
    assert filer.get(url).json()["status"] == ClaimStatus.UNDER_REVIEW
    refused = filer.post(f"{url}proofs/", {"files": [pdf("more.pdf")]})
    assert refused.status_code == 400
    assert refused.json() == {
        "files": [
            "Proof of execution can be added after submission only when a reviewer asks for more information, or "
            "to an approved claim."
        ]
    }
    assert [proof["file_name"] for proof in filer.get(url).json()["proofs"]] == ["signed.pdf"]


def test_a_page_of_the_list_costs_the_same_few_queries_however_many_claims(filer, world, django_assert_max_num_queries):
    for _ in range(30):
        SubscriptionItemFactory(claim=ClaimFactory(mpn=world.mpn, tenant=world.tenant))
    filer.get("/api/v1/claims/")  # warms the key's last use
    with django_assert_max_num_queries(6):
        page = filer.get("/api/v1/claims/?page_size=30").json()
    assert len(page["results"]) == 30
