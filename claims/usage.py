"""Reads for the usage data of approved associations and for the legacy associations a
partner still has (PRODUCT.md section 5, steps 6 and 8).

A partner sees a customer's monthly usage only for its own approved items, and only from
the month the item was approved (Partner Center counts usage from the claim date). A usage
row (tenant, workload name or product code, month, and for Business Applications perhaps a
subscription) belongs to an approved item when it is the claim's tenant and:

- Microsoft 365: the item's workload;
- Business Applications: the item's subscription, where the feed gives figures per
  subscription. The tenant's figures for the product as a whole (no subscription) are the
  item's only when they can be nobody else's: the tenant holds no other subscription to
  that product, and the feed gives no per-subscription figures for it. Otherwise two
  partners holding two subscriptions of one product would read each other's figures.

Pending, contested, rejected and ended items show nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import DateField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, Trunc

from cpor import access
from tenants.models import LegacyAssociation, Subscription, Tenant, Usage

from .models import Claim, ClaimItem, ItemOutcome

# PartnerAttributionType of an item claimed for no programme.
REVENUE_ATTRIBUTION = "Revenue association"


@dataclass(frozen=True)
class UsageFilters:
    tenant: Tenant | None = None
    month_from: datetime.date | None = None  # first day of a month
    month_to: datetime.date | None = None
    claim: Claim | None = None  # already checked to be the user's partner's


def usage_rows_visible_to(user, filters: UsageFilters | None = None) -> QuerySet[dict]:
    """One row per (usage month, approved item) of the user's partner, in one query.

    Every condition on the tenant's usage sits in a single filter() call: the usage is a
    multi-valued relation, and Django joins it once per call, so splitting the conditions
    would pair a month of one usage row with the workload of another.
    """
    partner = access.partner_of(user)
    if partner is None:
        return ClaimItem.objects.none().values()
    filters = filters or UsageFilters()
    usage = "claim__tenant__usage__"
    conditions = (
        Q(claim__partner=partner, outcome=ItemOutcome.APPROVED)
        & _usage_of_the_item(usage)
        & Q(**{f"{usage}month__gte": _approval_month()})
    )
    if filters.tenant is not None:
        conditions &= Q(claim__tenant=filters.tenant)
    if filters.claim is not None:
        conditions &= Q(claim=filters.claim)
    if filters.month_from is not None:
        conditions &= Q(**{f"{usage}month__gte": filters.month_from})
    if filters.month_to is not None:
        conditions &= Q(**{f"{usage}month__lte": filters.month_to})
    return (
        ClaimItem.objects.filter(conditions)
        .values(
            customer_tenant_id=F("claim__tenant__tenant_id"),
            customer_name=F("claim__tenant__name"),
            workload_name=Coalesce(F("workload__name"), F("product__name")),
            monthly_active_users=F(f"{usage}monthly_active_users"),
            paid_available_units=F(f"{usage}paid_available_units"),
            claim_number=F("claim_id"),
            mpn_id=F("claim__mpn__mpn_id"),
            date_associated=F("decided_at"),
            attribution=F("program"),
            month=F(f"{usage}month"),
        )
        .order_by("customer_name", "-month", "workload_name", "claim_number", "attribution")
    )


def _approval_month():
    """The first day of the month the item was approved in (UTC): usage counts from then."""
    return Trunc("decided_at", "month", output_field=DateField(), tzinfo=datetime.UTC)


def _usage_of_the_item(usage: str) -> Q:
    """Which of the tenant's usage rows (joined as `usage`) are the item's (module docstring)."""
    workload = Q(workload__isnull=False, **{f"{usage}workload": F("workload__name")})
    claimed_subscription = Q(
        subscription__isnull=False,
        **{f"{usage}subscription": F("subscription"), f"{usage}workload": F("product__code")},
    )
    other_subscription = Subscription.objects.filter(
        tenant=OuterRef("claim__tenant"), product=OuterRef("product")
    ).exclude(pk=OuterRef("subscription"))
    per_subscription_figures = Usage.objects.filter(
        tenant=OuterRef("claim__tenant"), workload=OuterRef("product__code"), subscription__isnull=False
    )
    whole_product = (
        Q(subscription__isnull=False, **{f"{usage}subscription__isnull": True, f"{usage}workload": F("product__code")})
        & ~Exists(other_subscription)
        & ~Exists(per_subscription_figures)
    )
    return workload | claimed_subscription | whole_product


def attribution_type(program: str) -> str:
    return program or REVENUE_ATTRIBUTION


def usage_tenants_of(user) -> QuerySet[Tenant]:
    """The customers for which the partner holds an approved item."""
    partner = access.partner_of(user)
    if partner is None:
        return Tenant.objects.none()
    return Tenant.objects.filter(
        pk__in=ClaimItem.objects.filter(claim__partner=partner, outcome=ItemOutcome.APPROVED).values("claim__tenant_id")
    ).order_by("name", "pk")


def usage_tenant_of(user, tenant_id) -> Tenant | None:
    """One customer of the tenant filter, by its Directory ID / Tenant ID, if the partner holds
    an approved item of it; None otherwise (another partner's customer is no choice)."""
    return usage_tenants_of(user).filter(tenant_id=tenant_id).first()


def _legacy_of(user) -> QuerySet[LegacyAssociation]:
    partner = access.partner_of(user)
    if partner is None:
        return LegacyAssociation.objects.none()
    return LegacyAssociation.objects.filter(partner=partner, ended_at__isnull=True).select_related("mpn", "tenant")


def legacy_m365_to_reassociate(user) -> QuerySet[LegacyAssociation]:
    """Microsoft 365 associations from before the claim model, still standing: they must be
    re-associated through a claim."""
    return (
        _legacy_of(user)
        .filter(workload__isnull=False)
        .select_related("workload")
        .prefetch_related("tenant__domains")
        .order_by("tenant__name", "workload__name", "pk")
    )


def legacy_subscriptions_valid(user) -> QuerySet[LegacyAssociation]:
    """Dynamics 365 and Power BI associations from before the claim model: valid until their
    subscription expires."""
    return (
        _legacy_of(user)
        .filter(subscription__isnull=False)
        .select_related("subscription", "subscription__product")
        .order_by("subscription__end_date", "tenant__name", "pk")
    )
