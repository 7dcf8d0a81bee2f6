"""Reads for the usage data of approved associations and for the legacy associations a
partner still has (PRODUCT.md section 5, steps 6 and 8).

A partner sees a customer's monthly usage only for its own approved items: a usage row
(tenant, workload name or product code, month) belongs to an approved item when it is the
claim's tenant and the item's workload (Microsoft 365) or its subscription's product
(Business Applications). Pending, contested, rejected and ended items show nothing.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce

from cpor import access
from tenants.models import LegacyAssociation, Tenant

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
    conditions = Q(claim__partner=partner, outcome=ItemOutcome.APPROVED) & (
        Q(workload__isnull=False, **{f"{usage}workload": F("workload__name")})
        | Q(subscription__isnull=False, **{f"{usage}workload": F("product__code")})
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


def attribution_type(program: str) -> str:
    return program or REVENUE_ATTRIBUTION


def usage_tenants_of(user) -> QuerySet[Tenant]:
    """The customers for which the partner holds an approved item: the tenant filter's choices."""
    partner = access.partner_of(user)
    if partner is None:
        return Tenant.objects.none()
    return Tenant.objects.filter(
        pk__in=ClaimItem.objects.filter(claim__partner=partner, outcome=ItemOutcome.APPROVED).values("claim__tenant_id")
    ).order_by("name", "pk")


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
