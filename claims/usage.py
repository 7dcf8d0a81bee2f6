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
import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet

from cpor import access
from tenants.models import LegacyAssociation, Tenant, Usage

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
    return UsageRows(access.partner_of(user), filters or UsageFilters())


class UsageRows:
    """The usage rows of a partner's approved items, read a group of customers at a time rather
    than by one query joining seven tables (which PostgreSQL took 30 ms to plan and then
    walked every customer in name order to find the partner's). For each group:

    1. the next customers holding an approved item, in name order, after the last group's:
       the partner's claims read from their customer index (`claim_partner_customer`) and
       kept when the approved items' partial index (`claim_item_approved_partner`) holds one
       of their items;
    2. what the rows show of those customers' approved items (DETAILS_SQL);
    3. their usage, by the usage's tenant index.

    The first group is FIRST_GROUP customers, each next one twice the last, so that a page
    needs one or two groups however many customers the partner has, and the CSV streams in
    constant memory. Which usage rows are an item's is decided in Python by the rules of the
    module docstring. Sliced, it is a list of rows (the page); iterated, every row; count()
    reads them all.
    """

    FIRST_GROUP = 50  # customers in the first group; each next group is twice the last

    def __init__(self, partner, filters: UsageFilters):
        self.partner = partner  # None: a user of no partner, who sees no row
        self.filters = filters

    # The next customers (name, tenant) holding an approved item, in name order, after a
    # customer: the partner's claims read from their customer index alone, each kept when the
    # approved items' partial index holds one of its items. "Its first approved item is not
    # null" rather than EXISTS: PostgreSQL guesses that few claims have one and plans EXISTS as
    # a join of all 10,000 (3 ms); asked claim by claim, it walks them in customer order and
    # stops at the group's end (0.7 ms). Written out, as DETAILS_SQL is, for what the ORM
    # spent composing it (2 ms a page).
    CUSTOMERS_SQL = """
        SELECT DISTINCT claim.tenant_name, claim.tenant_id FROM claims_claim claim
        WHERE claim.partner_id = %s AND claim.tenant_id IS NOT NULL {filters}
          AND (SELECT item.id FROM claims_claimitem item
               WHERE item.claim_id = claim.id AND item.partner_id = claim.partner_id AND item.outcome IN (%s)
               LIMIT 1) IS NOT NULL
        ORDER BY claim.tenant_name, claim.tenant_id
        LIMIT %s
    """

    def _customers(self, after: tuple[str, int] | None, size: int) -> list[tuple[str, int]]:
        """The next `size` customers (name, tenant) after `after`, by CUSTOMERS_SQL."""
        if self.partner is None:
            return []
        filters, params = [], [self.partner.pk]
        if self.filters.tenant is not None:
            filters.append("AND claim.tenant_id = %s")
            params.append(self.filters.tenant.pk)
        if self.filters.claim is not None:
            filters.append("AND claim.id = %s")
            params.append(self.filters.claim.pk)
        if after is not None:
            filters.append("AND (claim.tenant_name > %s OR (claim.tenant_name = %s AND claim.tenant_id > %s))")
            params += [after[0], after[0], after[1]]
        params += [ItemOutcome.APPROVED, size]
        with connection.cursor() as cursor:
            cursor.execute(self.CUSTOMERS_SQL.format(filters=" ".join(filters)), params)
            return cursor.fetchall()

    # What the rows show of a group of customers' approved items, and which usage rows are
    # theirs. Written out rather than built by the ORM, which spent twice the query's own time
    # putting its joins and subqueries together on every page. The tenant's GUID and the MPN ID
    # are read row by row by their primary keys rather than joined: PostgreSQL took longer to
    # plan six joins than to run them. The customer's name is the claim's copy of it (claims
    # migration 0012). `other_subscription`: the tenant holds another subscription to the item's
    # product; `per_subscription_figures`: the feed gives the product's figures per subscription
    # (module docstring).
    DETAILS_SQL = """
        SELECT item.id, item.subscription_id, claim.tenant_id,
               (SELECT tenant.tenant_id FROM tenants_tenant tenant WHERE tenant.id = claim.tenant_id),
               claim.tenant_name,
               COALESCE(workload.name, product.code), COALESCE(workload.name, product.name), item.claim_id,
               (SELECT mpn.mpn_id FROM cpor_mpnid mpn WHERE mpn.id = claim.mpn_id), item.decided_at, item.program,
               EXISTS (SELECT 1 FROM tenants_subscription other
                       WHERE other.tenant_id = claim.tenant_id AND other.product_id = item.product_id
                         AND other.id <> item.subscription_id),
               EXISTS (SELECT 1 FROM tenants_usage figures
                       WHERE figures.tenant_id = claim.tenant_id AND figures.workload = product.code
                         AND figures.subscription_id IS NOT NULL)
        FROM claims_claimitem item
        JOIN claims_claim claim ON claim.id = item.claim_id
        JOIN tenants_product product ON product.id = item.product_id
        LEFT JOIN tenants_workload workload ON workload.id = item.workload_id
        WHERE claim.partner_id = %s AND claim.tenant_id IN ({tenants}) {claim}
          AND item.partner_id = claim.partner_id AND item.outcome IN (%s)
        ORDER BY item.id
    """

    def _details(self, tenant_pks: list[int]) -> list[dict]:
        """The approved items of these customers, in item order, as the rows need them."""
        sql = self.DETAILS_SQL.format(
            tenants=", ".join(["%s"] * len(tenant_pks)), claim="AND claim.id = %s" if self.filters.claim else ""
        )
        params = [self.partner.pk, *tenant_pks]
        if self.filters.claim:
            params.append(self.filters.claim.pk)
        params.append(ItemOutcome.APPROVED)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
        details = []
        for (pk, subscription_pk, tenant_pk, tenant_id, name, usage_key, workload_name, claim_pk, mpn_id, decided,
             program, other_subscription, per_subscription_figures) in found:  # fmt: skip
            # SQLite gives back the moment without its zone (stored in UTC) and the GUID as hex.
            decided = decided if decided.tzinfo else decided.replace(tzinfo=datetime.UTC)
            details.append(
                {
                    "pk": pk,
                    "subscription_id": subscription_pk,
                    "tenant_pk": tenant_pk,
                    "customer_tenant_id": tenant_id if isinstance(tenant_id, uuid.UUID) else uuid.UUID(tenant_id),
                    "customer_name": name,
                    "usage_key": usage_key,
                    "workload_name": workload_name,
                    "claim_number": claim_pk,
                    "mpn_id": mpn_id,
                    "date_associated": decided,
                    "attribution": program,
                    # The tenant's figures for the whole product can be nobody else's.
                    "whole_product": subscription_pk is not None
                    and not other_subscription
                    and not per_subscription_figures,
                    # Usage counts from the month of approval (UTC).
                    "approval_month": decided.astimezone(datetime.UTC).date().replace(day=1),
                }
            )
        return details

    def _rows_of(self, tenant_pks: list[int]) -> list[dict]:
        """The rows of these customers' items, in page order (`tenant_pks` in customer order)."""
        by_tenant: dict[int, list[dict]] = {}
        for item in self._details(tenant_pks):
            by_tenant.setdefault(item["tenant_pk"], []).append(item)
        groups = [by_tenant.get(tenant_pk, []) for tenant_pk in tenant_pks]
        items = [item for group in groups for item in group]
        if not items:
            return []
        first_month = min(item["approval_month"] for item in items)
        if self.filters.month_from is not None:
            first_month = max(first_month, self.filters.month_from)
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
        after, size, given = None, self.FIRST_GROUP, 0
        while stop is None or given < stop:
            customers = self._customers(after, size)
            if not customers:
                return
            rows = self._rows_of([tenant for _name, tenant in customers])
            given += len(rows)
            yield rows
            if len(customers) < size:
                return
            after, size = customers[-1], size * 2

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
