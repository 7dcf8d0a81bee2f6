"""Demo claims, filed by the demo users through the same services the browser uses, so the
demo opens on a world in motion: claims approved with usage data, claims under review
with a customer email waiting in var/mail/, a draft, and a Northwind claim that a Fabrikam
claim on the same subscription will compete with.

Contoso's Dynamics 365 Sales and Power BI subscriptions are left unclaimed, for a newcomer
to file the seed's claim on.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from claims import notices, pipeline, services
from claims.models import Activity, Claim, ClaimStatus
from cpor.models import MpnId, User
from tenants.models import SolutionArea, Subscription

# A one-page PDF: enough for python-magic to recognise a proof of execution.
DEMO_POE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


# When the demo's approved claims were filed: before the first month of usage in the demo
# feed (2026-05), since a partner sees usage from the month of approval on.
APPROVED_CLAIMS_FILED_AT = datetime.datetime(2026, 4, 13, 9, 30, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class DemoClaim:
    filer: str
    mpn_id: str
    name: str
    domain: str
    tenant_id: str
    activity: str
    subscription_id: str
    outcome: str  # the status the demo leaves it in: draft, under_review or approved


DEMO_CLAIMS = (
    DemoClaim(
        "incentives@northwind.example",
        "4100001",
        "Contoso Customer Service adoption",
        "contoso.fr",
        "259e6e7a-0fc2-5d40-a358-1991da9a1dee",
        Activity.USAGE,
        "d72eb054-6af8-5b72-85d9-973b7f323d90",
        ClaimStatus.APPROVED,
    ),
    DemoClaim(
        "incentives@northwind.example",
        "4100001",
        "Woodgrove Sales rollout",
        "woodgrovebank.onmicrosoft.com",
        "cf66c923-0099-5c48-acf5-2f46bde0d785",
        Activity.USAGE_PRESALES,
        "d6a82583-082c-58f6-8460-36eebb329daa",
        ClaimStatus.UNDER_REVIEW,
    ),
    DemoClaim(
        "incentives@fabrikam.example",
        "4000001",
        "Wide World Power BI pre-sales",
        "wideworldimporters.onmicrosoft.com",
        "a20d5d9c-361c-5a0d-a07e-8d557bc60838",
        Activity.PRESALES,
        "8ac47d1c-48cf-53f7-af75-219e53c7130b",
        ClaimStatus.APPROVED,
    ),
    DemoClaim(
        "incentives@fabrikam.example",
        "4000001",
        "Adventure Works Customer Service usage",
        "adventureworks.onmicrosoft.com",
        "230faef9-3349-5e6d-9e7d-ea9c8d76fd40",
        Activity.USAGE,
        "0aaa5eb2-243d-57f8-9f2d-da461dfd94f5",
        ClaimStatus.UNDER_REVIEW,
    ),
    DemoClaim(
        "incentives@fabrikam.example",
        "4000001",
        "Tailspin Toys Sales (draft)",
        "tailspintoys.onmicrosoft.com",
        "d5f75767-a9f2-590e-93a3-c650ec60b6d3",
        Activity.USAGE,
        "74c34224-c8fc-5bde-9121-a199a02a2c17",
        ClaimStatus.DRAFT,
    ),
)


def demo_claims_ensure() -> int:
    """File each demo claim that does not exist yet; returns how many were filed."""
    filed = 0
    for spec in DEMO_CLAIMS:
        user = User.objects.get(email=spec.filer)
        if Claim.objects.filter(partner=user.membership.partner, name=spec.name).exists():
            continue
        _file(spec, user)
        filed += 1
    return filed


def _file(spec: DemoClaim, user) -> Claim:
    if spec.outcome != ClaimStatus.APPROVED:
        return _file_now(spec, user)
    # An approved claim reads as a real one would: filed in the past, its opt-out window run
    # from then and closed, approved by the timer minutes after the deadline. The demo sets
    # its clock back for that; never forward, which would date the approval, and the
    # "Associated on" of its usage, in the future.
    filed_at = min(APPROVED_CLAIMS_FILED_AT, timezone.now() - datetime.timedelta(days=28))
    with time_machine.travel(filed_at, tick=True):
        claim = _file_now(spec, user)
    with time_machine.travel(claim.opt_out_deadline + datetime.timedelta(minutes=5), tick=True):
        pipeline.claim_approve_if_due(claim_id=claim.pk)
    claim.refresh_from_db()
    return claim


def _file_now(spec: DemoClaim, user) -> Claim:
    """File the claim through the wizard's services and, unless it stays a draft, submit it
    and validate it as the worker would."""
    subscription = Subscription.objects.select_related("product").get(subscription_id=spec.subscription_id)
    claim = services.claim_create_draft(
        user=user,
        start=services.ClaimStart(
            mpn_id=MpnId.objects.get(mpn_id=spec.mpn_id).pk,
            domain=spec.domain,
            tenant_guid=spec.tenant_id,
            solution_area=SolutionArea.BUSINESS_APPLICATIONS,
            activity=spec.activity,
            name=spec.name,
        ),
    )
    services.claim_set_items(
        user=user,
        claim_id=claim.pk,
        products=[services.ProductChoice(product_id=subscription.product_id, subscription_id=spec.subscription_id)],
    )
    services.claim_set_contacts(
        user=user,
        claim_id=claim.pk,
        contacts=services.ClaimContacts(
            customer_contact_name="Ada Lovelace",
            customer_contact_title="CIO",
            customer_contact_email=f"cio@{spec.domain}",
            technical_contact_name="Tom Tech",
            technical_contact_title="IT lead",
            technical_contact_email=f"it@{spec.domain}",
            partner_contact_name=f"{user.first_name} {user.last_name}".strip() or user.email,
            partner_contact_email=user.email,
        ),
    )
    if spec.outcome == ClaimStatus.DRAFT:
        return claim
    services.claim_add_poe(
        user=user,
        claim_id=claim.pk,
        upload=SimpleUploadedFile("Statement of work.pdf", DEMO_POE, content_type="application/pdf"),
    )
    services.claim_submit(user=user, claim_id=claim.pk)
    pipeline.claim_validate(claim_id=claim.pk)
    # As the worker would next: the customer's notices go out, and the first one starts the
    # opt-out window.
    notices.customer_emails_send(claim_id=claim.pk)
    claim.refresh_from_db()
    return claim
