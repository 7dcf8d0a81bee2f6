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

from django.db.models import BooleanField, Case, DateField, Exists, F, OuterRef, Q, QuerySet, Value, When
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


def usage_rows_visible_to(user, filters: UsageFilters | None = None) -> UsageRows:
    """One row per (usage month, approved item) of the user's partner, ordered by customer,
    month (newest first), workload, claim and programme (see UsageRows)."""
    partner = access.partner_of(user)
    filters = filters or UsageFilters()
    if partner is None:
        return UsageRows(ClaimItem.objects.none(), filters)
    # The partner's approved items are one range of their own partial index: each item carries
    # its claim's partner (copied by the database, claims migration 0012). Saying that their
    # claims are the partner's too, which it implies, lets PostgreSQL read those claims in
    # customer order from their own index and join the two (3 ms for 10,000 claims) rather
    # than look each item's claim up by its key (12 ms).
    items = ClaimItem.objects.filter(
        partner=partner, claim__partner=partner, outcome=ItemOutcome.APPROVED, claim__tenant__isnull=False
    )
    if filters.tenant is not None:
        items = items.filter(claim__tenant=filters.tenant)
    if filters.claim is not None:
        items = items.filter(claim=filters.claim)
    return UsageRows(items, filters)


class UsageRows:
    """The usage rows of a partner's approved items, read in two steps rather than one query
    joining seven tables (which PostgreSQL took 30 ms to plan and then walked every customer
    in name order to find the partner's):

    1. the partner's approved items in customer order, two integers each: one query, which
       reads them from the approved items' partial index by partner, and sorts them by the
       customer's name the claim carries;
    2. for a group of those customers, what the rows show of their items, then their usage
       by tenant (the usage's tenant index): two queries per group, the groups growing so
       that a page needs one or two groups, and the CSV streams in constant memory.

    Which usage rows are an item's is decided in Python by the rules of the module docstring.
    Sliced, it is a list of rows (the page); iterated, every row; count() reads them all.
    """

    FIRST_GROUP = 50  # customers in the first usage query; each next group is twice the last

    def __init__(self, items: QuerySet[ClaimItem], filters: UsageFilters):
        self.items = items
        self.filters = filters

    def _tenants(self) -> list[tuple[int, list[int]]]:
        """(customer, its approved items) in customer order: two integers an item."""
        groups: list[tuple[int, list[int]]] = []
        for tenant_pk, item_pk in self.items.values_list("claim__tenant_id", "pk").order_by(
            "claim__tenant_name", "claim__tenant_id", "pk"
        ):
            if groups and groups[-1][0] == tenant_pk:
                groups[-1][1].append(item_pk)
            else:
                groups.append((tenant_pk, [item_pk]))
        return groups

    @staticmethod
    def _items(item_pks: list[int]) -> dict[int, dict]:
        """What the rows show of these items, and which usage rows are theirs."""
        other_subscription = Subscription.objects.filter(
            tenant=OuterRef("claim__tenant"), product=OuterRef("product")
        ).exclude(pk=OuterRef("subscription"))
        per_subscription_figures = Usage.objects.filter(
            tenant=OuterRef("claim__tenant"), workload=OuterRef("product__code"), subscription__isnull=False
        )
        items = (
            ClaimItem.objects.filter(pk__in=item_pks)
            .annotate(
                whole_product=Case(
                    When(
                        Q(subscription__isnull=False) & ~Exists(other_subscription) & ~Exists(per_subscription_figures),
                        then=Value(True),
                    ),
                    default=Value(False),
                    output_field=BooleanField(),
                ),
                approval_month=_approval_month(),
            )
            .values(
                "pk",
                "subscription_id",
                "whole_product",
                "approval_month",
                tenant_pk=F("claim__tenant_id"),
                customer_tenant_id=F("claim__tenant__tenant_id"),
                customer_name=F("claim__tenant__name"),
                usage_key=Coalesce(F("workload__name"), F("product__code")),
                workload_name=Coalesce(F("workload__name"), F("product__name")),
                claim_number=F("claim_id"),
                mpn_id=F("claim__mpn__mpn_id"),
                date_associated=F("decided_at"),
                attribution=F("program"),
            )
            .order_by()
        )
        return {item["pk"]: item for item in items}

    def _rows_of(self, tenants: list[tuple[int, list[int]]]) -> list[dict]:
        """The rows of these customers' items, in page order."""
        details = self._items([pk for _tenant, item_pks in tenants for pk in item_pks])
        groups = [[details[pk] for pk in item_pks if pk in details] for _tenant, item_pks in tenants]
        items = [item for group in groups for item in group]
        if not items:
            return []
        first_month = min(item["approval_month"] for item in items)
        if self.filters.month_from is not None:
            first_month = max(first_month, self.filters.month_from)
        tenant_pks = [tenant for tenant, _item_pks in tenants]
        figures = Usage.objects.filter(tenant_id__in=tenant_pks, month__gte=first_month)
        if self.filters.month_to is not None:
            figures = figures.filter(month__lte=self.filters.month_to)
        by_key: dict[tuple, list[tuple]] = {}
        for tenant_pk, workload, subscription_pk, month, users, units in figures.values_list(
            "tenant_id", "workload", "subscription_id", "month", "monthly_active_users", "paid_available_units"
        ).order_by():
            by_key.setdefault((tenant_pk, workload), []).append((subscription_pk, month, users, units))
        rows = []
        for group in groups:
            tenant_rows = []
            for item in group:
                for subscription_pk, month, users, units in by_key.get((item["tenant_pk"], item["usage_key"]), ()):
                    if month < item["approval_month"] or not _is_the_items(item, subscription_pk):
                        continue
                    tenant_rows.append(
                        {
                            "customer_tenant_id": item["customer_tenant_id"],
                            "customer_name": item["customer_name"],
                            "workload_name": item["workload_name"],
                            "monthly_active_users": users,
                            "paid_available_units": units,
                            "claim_number": item["claim_number"],
                            "mpn_id": item["mpn_id"],
                            "date_associated": item["date_associated"],
                            "attribution": item["attribution"],
                            "month": month,
                        }
                    )
            tenant_rows.sort(
                key=lambda row: (
                    -row["month"].toordinal(),
                    row["workload_name"],
                    row["claim_number"],
                    row["attribution"],
                )
            )
            rows.extend(tenant_rows)
        return rows

    def _chunks(self, stop: int | None = None):
        """Lists of rows, a group of customers at a time, until `stop` rows have been given."""
        tenants = self._tenants()
        size, start, given = self.FIRST_GROUP, 0, 0
        while start < len(tenants) and (stop is None or given < stop):
            rows = self._rows_of(tenants[start : start + size])
            given += len(rows)
            yield rows
            start, size = start + size, size * 2

    def __iter__(self):
        for rows in self._chunks():
            yield from rows

    def iterator(self, chunk_size=None):
        return iter(self)

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step is not None or (key.start or 0) < 0 or key.stop is None:
            raise TypeError("Usage rows are read by slices such as rows[50:101].")
        rows = [row for chunk in self._chunks(stop=key.stop) for row in chunk]
        return rows[key.start or 0 : key.stop]

    def count(self) -> int:
        return sum(len(rows) for rows in self._chunks())

    def __len__(self) -> int:
        return self.count()


def _is_the_items(item: dict, usage_subscription_pk) -> bool:
    """Whether a usage row of the item's tenant and workload (or product code) is the item's."""
    if item["subscription_id"] is None:  # Microsoft 365: the tenant's workload
        return True
    if usage_subscription_pk is not None:
        return usage_subscription_pk == item["subscription_id"]
    return bool(item["whole_product"])


def _approval_month():
    """The first day of the month the item was approved in (UTC): usage counts from then."""
    return Trunc("decided_at", "month", output_field=DateField(), tzinfo=datetime.UTC)


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
