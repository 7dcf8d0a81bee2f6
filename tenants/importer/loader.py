"""Pass 2: load each record type in turn, resolving references through the upsert."""

from __future__ import annotations

import uuid

from django.db import reset_queries
from django.db.models import Model, Q

from cpor.models import MpnId, Partner

from ..models import (
    Domain,
    LegacyAssociation,
    Product,
    Subscription,
    Tenant,
    Usage,
    Workload,
)

# Types in the order they load: each refers only to types before it.
from .limits import BUSINESS_APPLICATIONS
from .report import ImportReport, _BadLines
from .schema import CHECKS
from .upsert import _date, _legacy_candidates, _upsert, _usage_candidates, _uuid


class _Loader:
    """Loads the sorted records, batch by batch, counting outcomes and noting bad lines."""

    def __init__(self, report: ImportReport, bad: _BadLines):
        self.report = report
        self.bad = bad

    def _unknown(self, problems: list[str], kind: str, field_name: str, key, what: str) -> None:
        if not self.bad.is_broken(kind, key):
            problems.append(f"{field_name} {key} is not a known {what}")

    def _count(self, record_type: str, outcomes: list[str]) -> None:
        for outcome in outcomes:
            self.report.counts[record_type].add(outcome)

    def _reject(self, record_type: str, line: int, record: dict, problems: list[str]) -> None:
        """Leave a record out. It is a bad line unless every reference that failed points at a
        bad line (that line is the one to fix). Either way, records referring to this one are
        not reported again."""
        if problems:
            self.bad.add(line, record_type, problems)
        for kind, key in CHECKS[record_type].keys(record):
            self.bad.remember(kind, key)

    @staticmethod
    def _done_with_batch() -> None:
        # With DEBUG on, Django keeps every query's SQL on the connection; a long load would
        # grow without bound. Forget them batch by batch.
        reset_queries()

    # Partners and MPN IDs -------------------------------------------------------------------

    def load_partners(self, batches) -> None:
        for batch in batches:
            outcomes, _ = _upsert(Partner, [record for _, record in batch], ("partner_id",))
            self._count("partner", outcomes)
            self._done_with_batch()

    def load_mpns(self, batches) -> None:
        for batch in batches:
            partners = _ids(Partner, "partner_id", {record["partner_id"] for _, record in batch})
            rows = []
            for line, record in batch:
                partner_pk = partners.get(record["partner_id"])
                if partner_pk is None:
                    problems = []
                    self._unknown(problems, "partner", "partner_id", record["partner_id"], "partner")
                    self._reject("mpn", line, record, problems)
                    continue
                programs = set(record["programs"])
                rows.append(
                    {
                        "mpn_id": record["mpn_id"],
                        "partner_id": partner_pk,
                        "location": record["location"],
                        "partner_type": record["partner_type"],
                        **{name: program in programs for program, name in MpnId.PROGRAM_FIELDS.items()},
                    }
                )
            outcomes, _ = _upsert(MpnId, rows, ("mpn_id",))
            self._count("mpn", outcomes)
            self._done_with_batch()

    # Products and their workloads ---------------------------------------------------------------

    def load_products(self, batches) -> None:
        """Upsert products and give each exactly the workloads it lists (creating workloads by
        name as needed). A product whose workloads change counts as updated."""
        through = Product.workloads.through
        fields = ("code", "name", "solution_area", "family")
        for batch in batches:
            records = [record for _, record in batch]
            outcomes, products = _upsert(
                Product, [{name: record[name] for name in fields} for record in records], ("code",)
            )
            names = sorted({name for record in records for name in record["workloads"]})
            _, workloads = _upsert(Workload, [{"name": name} for name in names], ("name",))
            held: dict[int, set[int]] = {product.pk: set() for product in products.values()}
            for product_pk, workload_pk in through.objects.filter(product__in=held).values_list(
                "product_id", "workload_id"
            ):
                held[product_pk].add(workload_pk)
            listed: dict[int, set[int]] = {}
            for index, record in enumerate(records):
                product_pk = products[(record["code"],)].pk
                workload_pks = {workloads[(name,)].pk for name in record["workloads"]}
                if workload_pks != listed.get(product_pk, held[product_pk]) and outcomes[index] == "unchanged":
                    outcomes[index] = "updated"
                listed[product_pk] = workload_pks
            for product_pk, workload_pks in listed.items():
                if held[product_pk] - workload_pks:
                    through.objects.filter(
                        product_id=product_pk, workload_id__in=held[product_pk] - workload_pks
                    ).delete()
            through.objects.bulk_create(
                through(product_id=product_pk, workload_id=workload_pk)
                for product_pk, workload_pks in listed.items()
                for workload_pk in workload_pks - held[product_pk]
            )
            self._count("product", outcomes)
            self._done_with_batch()

    # Tenants and their domains -----------------------------------------------------------------

    def load_tenants(self, batches) -> None:
        """Upsert tenants, and let each one go of the domains it no longer lists.

        A tenant whose domain list differs from the domains it holds counts as updated. The
        domains it lists are given to it afterwards, by `give_domains`, once every tenant of
        the feed has let go of its own: that is what makes domain moves independent of order.
        """
        fields = ("name", "country", "subdivision", "time_zone", "language", "notification_emails")
        for batch in batches:
            rows = [
                {"tenant_id": _uuid(record["tenant_id"])} | {name: record[name] for name in fields}
                for _, record in batch
            ]
            outcomes, tenants = _upsert(Tenant, rows, ("tenant_id",))
            held: dict[int, set[str]] = {tenant.pk: set() for tenant in tenants.values()}
            for name, tenant_pk in Domain.objects.filter(tenant__in=held).values_list("name", "tenant_id"):
                held[tenant_pk].add(name)
            listed: dict[int, set[str]] = {}
            for index, (_, record) in enumerate(batch):
                tenant_pk = tenants[(_uuid(record["tenant_id"]),)].pk
                domains = set(record["domains"])
                if domains != listed.get(tenant_pk, held[tenant_pk]) and outcomes[index] == "unchanged":
                    outcomes[index] = "updated"
                listed[tenant_pk] = domains
            let_go = [name for tenant_pk, names in held.items() for name in names - listed[tenant_pk]]
            Domain.objects.filter(name__in=let_go).delete()
            self._count("tenant", outcomes)
            self._done_with_batch()

    def give_domains(self, batches) -> None:
        """Give each tenant of the feed exactly the domains it lists. A domain still held by
        another tenant is an error for the line that asks for it."""
        for batch in batches:
            guids = {_uuid(record["tenant_id"]) for _, record in batch}
            names = {name for _, record in batch for name in record["domains"]}
            tenants = dict(Tenant.objects.filter(tenant_id__in=guids).values_list("tenant_id", "pk"))
            # Who holds each domain concerned, as it is and as it will be.
            owner: dict[str, tuple[int, uuid.UUID]] = {}
            held: dict[int, set[str]] = {pk: set() for pk in tenants.values()}
            for name, tenant_pk, tenant_guid in Domain.objects.filter(
                Q(name__in=names) | Q(tenant__in=tenants.values())
            ).values_list("name", "tenant_id", "tenant__tenant_id"):
                owner[name] = (tenant_pk, tenant_guid)
                held.setdefault(tenant_pk, set()).add(name)
            initially = dict(owner)
            for line, record in batch:
                guid = _uuid(record["tenant_id"])
                tenant_pk = tenants[guid]
                taken = [name for name in record["domains"] if owner.get(name, (tenant_pk,))[0] != tenant_pk]
                if taken:
                    self.bad.add(
                        line,
                        "tenant",
                        [f"domain {name} belongs to another tenant ({owner[name][1]})" for name in taken],
                    )
                domains = set(record["domains"]) - set(taken)
                for name in held[tenant_pk] - domains:
                    del owner[name]
                for name in domains - held[tenant_pk]:
                    owner[name] = (tenant_pk, guid)
                held[tenant_pk] = domains
            gone = [name for name in initially if name not in owner]
            moved = [name for name in initially if name in owner and owner[name][0] != initially[name][0]]
            new = [name for name in owner if name not in initially]
            Domain.objects.filter(name__in=gone + moved).delete()
            Domain.objects.bulk_create(Domain(name=name, tenant_id=owner[name][0]) for name in sorted(moved + new))
            self._done_with_batch()

    # Subscriptions, usage, legacy associations -----------------------------------------------------

    def load_subscriptions(self, batches) -> None:
        for batch in batches:
            tenants = _ids(Tenant, "tenant_id", {_uuid(record["tenant_id"]) for _, record in batch})
            products = _ids(Product, "code", {record["product"] for _, record in batch})
            rows = []
            for line, record in batch:
                tenant_pk = tenants.get(_uuid(record["tenant_id"]))
                product_pk = products.get(record["product"])
                if tenant_pk is None or product_pk is None:
                    problems = []
                    if tenant_pk is None:
                        self._unknown(problems, "tenant", "tenant_id", record["tenant_id"], "tenant")
                    if product_pk is None:
                        self._unknown(problems, "product", "product", record["product"], "product code")
                    self._reject("subscription", line, record, problems)
                    continue
                rows.append(
                    {
                        "subscription_id": _uuid(record["subscription_id"]),
                        "tenant_id": tenant_pk,
                        "product_id": product_pk,
                        "channel": record["channel"],
                        "status": record["status"],
                        "provisioned": record["provisioned"],
                        "start_date": _date(record["start_date"]),
                        "end_date": _date(record["end_date"]),
                    }
                )
            outcomes, _ = _upsert(Subscription, rows, ("subscription_id",))
            self._count("subscription", outcomes)
            self._done_with_batch()

    def load_usage(self, batches) -> None:
        """Upsert usage by (tenant, workload, month, subscription). A record naming a subscription
        gives that subscription's figures: it must be a subscription of the same tenant, to the
        Business Applications product the record's workload names."""
        for batch in batches:
            tenants = _ids(Tenant, "tenant_id", {_uuid(record["tenant_id"]) for _, record in batch})
            subscriptions = {
                subscription_id: (pk, tenant_guid, code)
                for subscription_id, pk, tenant_guid, code in Subscription.objects.filter(
                    subscription_id__in={_uuid(record["subscription_id"]) for _, record in batch} - {None}
                ).values_list("subscription_id", "pk", "tenant__tenant_id", "product__code")
            }
            names = {record["workload"] for _, record in batch}
            product_codes = set(
                Product.objects.filter(code__in=names, solution_area=BUSINESS_APPLICATIONS).values_list(
                    "code", flat=True
                )
            )
            known_names = set(Workload.objects.filter(name__in=names).values_list("name", flat=True)) | product_codes
            rows = []
            for line, record in batch:
                tenant_pk = tenants.get(_uuid(record["tenant_id"]))
                workload = record["workload"]
                problems = []
                if tenant_pk is None:
                    self._unknown(problems, "tenant", "tenant_id", record["tenant_id"], "tenant")
                if workload not in known_names and not (
                    self.bad.is_broken("workload", workload) or self.bad.is_broken("product", workload)
                ):
                    problems.append(
                        f"workload {workload} is neither a known workload nor a Business Applications product code"
                    )
                subscription_pk = None
                if record["subscription_id"]:
                    subscription = subscriptions.get(_uuid(record["subscription_id"]))
                    if subscription is None:
                        self._unknown(
                            problems, "subscription", "subscription_id", record["subscription_id"], "subscription"
                        )
                    elif workload in known_names - product_codes:
                        problems.append(
                            "subscription_id is for Business Applications figures only: "
                            "a Microsoft 365 workload's figures are the tenant's"
                        )
                    elif subscription[1] != _uuid(record["tenant_id"]):
                        problems.append(
                            f"subscription_id {record['subscription_id']} is not a subscription of this tenant"
                        )
                    elif subscription[2] != workload:
                        problems.append(
                            f"subscription_id {record['subscription_id']} is a subscription to {subscription[2]}, "
                            f"not to {workload}"
                        )
                    else:
                        subscription_pk = subscription[0]
                if (
                    tenant_pk is None
                    or workload not in known_names
                    or (record["subscription_id"] and not subscription_pk)
                ):
                    self._reject("usage", line, record, problems)
                    continue
                rows.append(
                    {
                        "tenant_id": tenant_pk,
                        "subscription_id": subscription_pk,
                        "workload": workload,
                        "month": _date(record["month"]),
                        "monthly_active_users": record["monthly_active_users"],
                        "paid_available_units": record["paid_available_units"],
                    }
                )
            outcomes, _ = _upsert(Usage, rows, ("tenant_id", "workload", "month", "subscription_id"), _usage_candidates)
            self._count("usage", outcomes)
            self._done_with_batch()

    def load_legacy_associations(self, batches) -> None:
        for batch in batches:
            records = [record for _, record in batch]
            partners = _ids(Partner, "partner_id", {record["partner_id"] for record in records})
            mpns = {
                mpn_id: (pk, partner_id)
                for mpn_id, pk, partner_id in MpnId.objects.filter(
                    mpn_id__in={record["mpn_id"] for record in records}
                ).values_list("mpn_id", "pk", "partner__partner_id")
            }
            tenants = _ids(Tenant, "tenant_id", {_uuid(record["tenant_id"]) for record in records})
            subscriptions = {
                subscription_id: (pk, tenant_guid, area)
                for subscription_id, pk, tenant_guid, area in Subscription.objects.filter(
                    subscription_id__in={_uuid(record["subscription_id"]) for record in records} - {None}
                ).values_list("subscription_id", "pk", "tenant__tenant_id", "product__solution_area")
            }
            workloads = _ids(Workload, "name", {record["workload"] for record in records} - {None})
            rows = []
            for line, record in batch:
                problems = []
                partner_pk = partners.get(record["partner_id"])
                mpn = mpns.get(record["mpn_id"])
                tenant_guid = _uuid(record["tenant_id"])
                tenant_pk = tenants.get(tenant_guid)
                if partner_pk is None:
                    self._unknown(problems, "partner", "partner_id", record["partner_id"], "partner")
                if mpn is None:
                    self._unknown(problems, "mpn", "mpn_id", record["mpn_id"], "MPN ID")
                elif mpn[1] != record["partner_id"]:
                    problems.append(
                        f"mpn_id {record['mpn_id']} belongs to partner {mpn[1]}, not {record['partner_id']}"
                    )
                if tenant_pk is None:
                    self._unknown(problems, "tenant", "tenant_id", record["tenant_id"], "tenant")
                subscription_pk = workload_pk = None
                if record["subscription_id"]:
                    subscription = subscriptions.get(_uuid(record["subscription_id"]))
                    if subscription is None:
                        self._unknown(
                            problems, "subscription", "subscription_id", record["subscription_id"], "subscription"
                        )
                    elif subscription[1] != tenant_guid:
                        problems.append(
                            f"subscription_id {record['subscription_id']} is not a subscription of this tenant"
                        )
                    elif subscription[2] != BUSINESS_APPLICATIONS:
                        problems.append(
                            f"subscription_id {record['subscription_id']} is a Microsoft 365 subscription: "
                            "give the workload instead"
                        )
                    subscription_pk = subscription[0] if subscription else None
                else:
                    workload_pk = workloads.get(record["workload"])
                    if workload_pk is None:
                        self._unknown(problems, "workload", "workload", record["workload"], "workload")
                resolved = partner_pk and mpn and tenant_pk and (subscription_pk or workload_pk)
                if problems or not resolved:
                    self._reject("legacy_association", line, record, problems)
                    continue
                rows.append(
                    {
                        "partner_id": partner_pk,
                        "mpn_id": mpn[0],
                        "tenant_id": tenant_pk,
                        "subscription_id": subscription_pk,
                        "workload_id": workload_pk,
                        "since": _date(record["since"]),
                    }
                )
            outcomes, _ = _upsert(
                LegacyAssociation, rows, ("mpn_id", "tenant_id", "subscription_id", "workload_id"), _legacy_candidates
            )
            self._count("legacy_association", outcomes)
            self._done_with_batch()


def _ids(model: type[Model], key_field: str, keys: set) -> dict:
    """Primary keys of the rows of `model` whose `key_field` is one of `keys`: one query."""
    return dict(model.objects.filter(**{f"{key_field}__in": keys}).values_list(key_field, "pk"))
