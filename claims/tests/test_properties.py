"""Property-based tests of the partner site's claim forms (issue 7, section 6): every step of
the wizard, the claim page's comment and proof forms, and the filters of the claims list and
usage pages. Whatever is posted, the answer is never a server error, and a refusal changes
nothing."""

import uuid
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from claims.models import (
    Activity,
    Claim,
    ClaimEvent,
    ClaimItem,
    ClaimStatus,
    Comment,
    ProofOfExecution,
    RejectionReason,
)
from claims.tests.factories import PDF_BYTES, ClaimFactory, SubscriptionItemFactory, directory_world
from claims.tests.test_review import competing_claims, make_reviewer, put_under_review
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user
from cpor.tests.properties import PROPERTIES, field, form_data, read_whole, rows, submitted
from tenants.models import LegacyAssociation, SolutionArea

pytestmark = pytest.mark.django_db

CLAIM_STATE = rows(Claim, ClaimItem, ClaimEvent, Comment, ProofOfExecution)


@pytest.fixture
def world(partner):
    """Contoso's directory (claims/tests/factories.py), the partner's Incentives admin, a
    draft on Contoso, a claim waiting on the partner's answer, and another partner's MPN ID."""
    world = directory_world(partner)
    world.user = partner_user(partner, Role.INCENTIVES_ADMIN, email="incentives@fabrikam.example")
    world.draft = ClaimFactory(
        mpn=world.mpn, tenant=world.tenant, domain=world.domain, created_by=world.user, name="Contoso rollout"
    )
    SubscriptionItemFactory(claim=world.draft, subscription=world.sales_subscription)
    world.waiting = ClaimFactory(mpn=world.mpn, tenant=world.tenant, domain=world.domain, created_by=world.user)
    SubscriptionItemFactory(claim=world.waiting, subscription=world.service_subscriptions[0])
    put_under_review(world.waiting)
    world.waiting.refresh_from_db()
    Claim.objects.filter(pk=world.waiting.pk).update(status=ClaimStatus.ACTION_REQUIRED)
    world.foreign_mpn = MpnIdFactory(partner=PartnerFactory())
    world.client = Client()
    world.client.force_login(world.user)
    return world


def customer_fields(world):
    guid = str(world.tenant.tenant_id)
    return {
        "mpn": field(world.mpn.pk, world.unenrolled_mpn.pk, world.foreign_mpn.pk, "0", "-1", "1e9"),
        "domain": field(world.domain, "CONTOSO.FR ", "litware.com", "contoso.fr.evil.example"),
        "tenant_id": field(guid, guid.upper(), "{" + guid + "}", uuid.uuid4(), str(world.other_tenant.tenant_id)),
    }


def valid_customer(world):
    return {"mpn": str(world.mpn.pk), "domain": world.domain, "tenant_id": str(world.tenant.tenant_id)}


VALID_ACTIVITY = {"solution_area": SolutionArea.BUSINESS_APPLICATIONS, "usage": "on"}


def activity_fields():
    return {
        "solution_area": field(*SolutionArea.values),
        "usage": field("on"),
        "presales": field("on"),
        "revenue": field("on"),
    }


def naming_fields():
    return {
        "name": field("Contoso rollout", "x" * 201),
        "solution_seller_name": field("Dynamics seller"),
        "customer_name": field("Contoso"),
        "isv_solution_name": field("Contoso CRM add-on"),
    }


def uploads():
    """Files as a browser sends them: any name (short of the characters a multipart header
    cannot carry), and content that is a PDF or anything at all."""
    names = st.sampled_from(("statement-of-work.pdf", "SOW.PDF", "proof.docx")) | st.text(
        alphabet=st.characters(exclude_categories=("Cs", "Cc"), exclude_characters='"\\/'), min_size=1, max_size=40
    )
    content = st.one_of(st.just(PDF_BYTES), st.binary(max_size=2048))
    return st.lists(st.builds(SimpleUploadedFile, names, content), max_size=3)


# --- The wizard's steps ---------------------------------------------------------------------


@PROPERTIES
@given(data=st.data())
def test_step_1_never_fails_and_saves_nothing(world, data):
    posted = data.draw(form_data(valid_customer(world), **customer_fields(world)))
    submitted(world.client, "post", reverse("claims:new"), posted, CLAIM_STATE)


@PROPERTIES
@given(data=st.data())
def test_step_2_never_fails_and_saves_nothing(world, data):
    valid = {**valid_customer(world), **VALID_ACTIVITY}
    posted = data.draw(form_data(valid, **customer_fields(world), **activity_fields()))
    submitted(world.client, "post", reverse("claims:new_activity"), posted, CLAIM_STATE)


@PROPERTIES
@given(data=st.data())
def test_step_3_creates_a_draft_or_refuses_changing_nothing(world, data):
    valid = {
        **valid_customer(world),
        "solution_area": SolutionArea.BUSINESS_APPLICATIONS,
        "activity": Activity.USAGE,
        "name": "Contoso rollout",
    }
    posted = data.draw(
        form_data(valid, **customer_fields(world), **naming_fields(), solution_area=field(*SolutionArea.values),
                  activity=field(*Activity.values))
    )  # fmt: skip
    submitted(world.client, "post", reverse("claims:new_associate"), posted, CLAIM_STATE)


@PROPERTIES
@given(data=st.data())
def test_changing_a_drafts_details_never_fails_and_a_refusal_changes_nothing(world, data):
    valid = {**valid_customer(world), **VALID_ACTIVITY, "name": "Contoso rollout, phase 2"}
    posted = data.draw(form_data(valid, **customer_fields(world), **activity_fields(), **naming_fields()))
    submitted(world.client, "post", reverse("claims:draft_details", args=[world.draft.pk]), posted, CLAIM_STATE)


@PROPERTIES
@given(data=st.data())
def test_choosing_products_never_fails_and_a_refusal_changes_nothing(world, data):
    products = [world.sales, world.service, world.finance, world.field, world.m365]
    item = field(*(product.pk for product in products), "0", "999999")
    subscription_ids = [subscription.subscription_id for subscription in world.service_subscriptions]
    valid = {"tenant_id": str(world.tenant.tenant_id), "items": [str(world.sales.pk)]}
    posted = data.draw(
        form_data(
            valid,
            tenant_id=field(world.tenant.tenant_id, world.other_tenant.tenant_id),
            items=st.lists(item, max_size=4),
            **{
                f"subscription_{product.pk}": field(*subscription_ids, world.sales_subscription.subscription_id)
                for product in products
            },
        )
    )
    submitted(world.client, "post", reverse("claims:draft_items", args=[world.draft.pk]), posted, CLAIM_STATE)


@PROPERTIES
@given(data=st.data())
def test_contacts_never_fail_and_a_refusal_changes_nothing(world, data):
    email = field(
        "ada@contoso.fr", "tom@it.contoso.fr", world.user.email, "someone@fabrikam.example", "a@evilcontoso.fr"
    )
    name, title = field("Ada Customer"), field("CIO")
    valid = {
        "customer_contact_name": "Ada Customer",
        "customer_contact_title": "CIO",
        "customer_contact_email": "ada@contoso.fr",
        "technical_contact_name": "Tom Tech",
        "technical_contact_title": "IT lead",
        "technical_contact_email": "tom@contoso.fr",
        "partner_contact_name": "Inès Moreau",
        "partner_contact_email": world.user.email,
    }
    posted = data.draw(
        form_data(
            valid,
            customer_contact_name=name,
            customer_contact_title=title,
            customer_contact_email=email,
            technical_contact_name=name,
            technical_contact_title=title,
            technical_contact_email=email,
            partner_contact_name=name,
            partner_contact_email=email,
        )
    )
    submitted(world.client, "post", reverse("claims:draft_contacts", args=[world.draft.pk]), posted, CLAIM_STATE)


@PROPERTIES
@given(files=uploads())
def test_uploading_proof_to_a_draft_never_fails_and_a_refusal_changes_nothing(world, files):
    url = reverse("claims:draft_proof", args=[world.draft.pk])
    submitted(world.client, "post", url, {"files": files}, CLAIM_STATE)


@PROPERTIES
@given(data=form_data(body=field("Here is the signed statement of work.", "x" * 5001)))
def test_the_submit_steps_comment_never_fails_and_a_refusal_changes_nothing(world, data):
    url = reverse("claims:draft_submit", args=[world.draft.pk])
    submitted(world.client, "post", url, data, CLAIM_STATE)


# --- The claim page ---------------------------------------------------------------------------


@PROPERTIES
@given(data=form_data(body=field("Here is the signed statement of work.", "x" * 5001)))
def test_commenting_never_fails_and_a_refusal_changes_nothing(world, data):
    url = reverse("claims:comment", args=[world.waiting.pk])
    submitted(world.client, "post", url, data, CLAIM_STATE)


@PROPERTIES
@given(files=uploads())
def test_adding_proof_never_fails_and_a_refusal_changes_nothing(world, files):
    url = reverse("claims:proof_add", args=[world.waiting.pk])
    submitted(world.client, "post", url, {"files": files}, CLAIM_STATE)


# --- Filters: reads only ------------------------------------------------------------------------


@PROPERTIES
@given(data=st.data())
def test_the_claims_list_and_export_filters_never_fail(world, data):
    query = data.draw(
        form_data(
            q=field("Contoso", world.tenant.tenant_id),
            status=field(*ClaimStatus.values),
            solution_area=field(*SolutionArea.values),
            activity=field(*Activity.values),
            mpn=field(world.mpn.pk, world.foreign_mpn.pk),
            sort=field("name", "-submitted_at", "status"),
            page=field("1", "2", "0", "-1", "last", "99999999999999999999"),
        )
    )
    for url in (reverse("claims:list"), reverse("claims:export")):
        submitted(world.client, "get", url, query, CLAIM_STATE)


@PROPERTIES
@given(data=st.data())
def test_the_usage_filters_never_fail(world, data):
    query = data.draw(
        form_data(
            tenant=field(world.tenant.tenant_id, world.other_tenant.tenant_id),
            month_from=field("2026-01", "2026-13", "0000-01", "9999-12"),
            month_to=field("2026-02", "2025-12"),
            claim=field(world.draft.pk, world.waiting.pk, "99999999999999999999"),
            page=field("1", "2", "0", "last"),
        )
    )
    for url in (reverse("claims:usage"), reverse("claims:usage_csv")):
        response = submitted(world.client, "get", url, query, CLAIM_STATE)
        assert response.status_code in (200, 404), (url, query)


# --- What the properties found --------------------------------------------------------------------


def test_a_superscript_digit_is_searched_as_text_not_a_claim_number(world):
    # "¹".isdigit() is true, but int("¹") raises: the search answered with a server error.
    for url in (reverse("claims:list"), reverse("claims:export")):
        response = world.client.get(url, {"q": "#¹"})
        read_whole(response)
        assert response.status_code == 200


def test_a_superscript_digit_names_no_claim_in_the_usage_filter(world):
    assert world.client.get(reverse("claims:usage"), {"claim": "¹"}).status_code == 404


@pytest.mark.parametrize("term", ["#¹", "99999999999999999999999"])
def test_the_reviewers_claim_search_takes_any_number_like_text(term):
    client = Client()
    client.force_login(make_reviewer())
    assert client.get(reverse("admin:claims_claim_changelist"), {"q": term}).status_code == 200


# --- The reviewers' forms in the admin ------------------------------------------------------------

REVIEW_STATE = rows(Claim, ClaimItem, ClaimEvent, Comment, LegacyAssociation)


@pytest.fixture
def review():
    """A reviewer's client, a claim under review and two contested claims on one subscription."""
    client = Client()
    client.force_login(make_reviewer())
    under_review = ClaimFactory()
    SubscriptionItemFactory(claim=under_review)
    put_under_review(under_review)
    contenders = competing_claims()
    return SimpleNamespace(client=client, claim=under_review, contenders=contenders)


MESSAGES = field("Please add the customer's signed statement of work.", "x" * 5001)


@PROPERTIES
@given(data=form_data(body=MESSAGES), action=st.sampled_from(["comment", "internal_note"]))
def test_a_reviewers_comment_never_fails_and_a_refusal_changes_nothing(review, data, action):
    url = reverse(f"admin:claims_claim_{action}", args=[review.claim.pk])
    submitted(review.client, "post", url, data, REVIEW_STATE)


@PROPERTIES
@given(data=form_data({"message": "Please add the signed SOW."}, message=MESSAGES, next=field("/admin/", "//evil")))
def test_requesting_information_never_fails_and_a_refusal_changes_nothing(review, data):
    url = reverse("admin:claims_claim_request_information", args=[review.claim.pk])
    response = submitted(review.client, "post", url, data, REVIEW_STATE)
    assert "evil" not in response.get("Location", "")


@PROPERTIES
@given(data=form_data(reason=field(*RejectionReason.values), note=MESSAGES))
def test_rejecting_never_fails_and_a_refusal_changes_nothing(review, data):
    url = reverse("admin:claims_claim_reject", args=[review.claim.pk])
    submitted(review.client, "post", url, data, REVIEW_STATE)


@PROPERTIES
@given(data=st.data())
def test_arbitrating_never_fails_and_a_refusal_changes_nothing(review, data):
    first, second = review.contenders
    posted = data.draw(
        form_data(
            {"item": str(first.pk), "decision": "approve", "note": "Newest signed statement of work."},
            item=field(first.pk, second.pk, review.claim.items.get().pk, "0", "-1"),
            legacy=field("1", "0"),
            decision=field("approve", "reject"),
            note=MESSAGES,
        )
    )
    url = reverse("admin:claims_claim_arbitrate", args=[first.pk])
    submitted(review.client, "post", url, posted, REVIEW_STATE)


# --- The customer's opt-out link --------------------------------------------------------------------


@PROPERTIES
@given(token=st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="/"), min_size=1))
def test_any_opt_out_link_never_fails_and_opts_out_nothing(world, token):
    client = Client()
    for method in ("get", "post"):
        response = submitted(client, method, reverse("optout", args=[token]), {}, CLAIM_STATE)
        assert response.status_code in (200, 404, 410)
