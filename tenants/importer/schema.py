"""The record schema: what each record type must hold, checked one record at a time."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from cpor.models import MpnId, Partner, Program

from ..identifiers import normalise_domain
from ..models import (
    Channel,
    Product,
    SolutionArea,
    SubscriptionStatus,
    Tenant,
    Usage,
    Workload,
)
from .fields import _Fields, _max_length, is_domain_name, is_email_address, normalise_email

# Types in the order they load: each refers only to types before it.
from .limits import BUSINESS_APPLICATIONS, LANGUAGE_RE, MAX_NOTIFICATION_EMAILS, SUBDIVISION_RE


@dataclass(frozen=True)
class _RecordCheck:
    fields: frozenset[str]
    check: Callable[[_Fields], dict]
    # The (kind, key) pairs a record defines, read from its normalised fields (None where
    # bad): a bad line's keys are remembered so that references to them are not reported twice.
    keys: Callable[[dict], list[tuple[str, str | None]]] = lambda record: []


def _check_partner(f: _Fields) -> dict:
    return {
        "partner_id": f.digits("partner_id"),
        "name": f.text("name", _max_length(Partner, "name")),
        "country": f.country("country"),
    }


def _check_mpn(f: _Fields) -> dict:
    programs = f.string_list("programs")
    if programs is not None and not set(programs) <= set(Program.values):
        f.problems.append("programs may hold only " + ", ".join(Program.values))
    return {
        "mpn_id": f.digits("mpn_id"),
        "partner_id": f.digits("partner_id"),
        "location": f.text("location", _max_length(MpnId, "location")),
        "partner_type": f.text("partner_type", _max_length(MpnId, "partner_type"), required=False),
        "programs": programs,
    }


def _check_product(f: _Fields) -> dict:
    record = {
        "code": f.text("code", _max_length(Product, "code")),
        "name": f.text("name", _max_length(Product, "name")),
        "solution_area": f.choice("solution_area", SolutionArea.values),
        "family": f.text("family", _max_length(Product, "family")),
        "workloads": f.string_list("workloads", required=False),
    }
    if record["workloads"] and record["solution_area"] == BUSINESS_APPLICATIONS:
        f.problems.append("workloads are for Microsoft 365 products only")
    if record["workloads"] and any(len(name) > _max_length(Workload, "name") for name in record["workloads"]):
        f.problems.append(f"workloads names are longer than {_max_length(Workload, 'name')} characters")
    return record


def _check_tenant(f: _Fields) -> dict:
    record = {
        "tenant_id": f.guid("tenant_id"),
        "name": f.text("name", _max_length(Tenant, "name")),
        "country": f.country("country"),
        "subdivision": f.pattern("subdivision", SUBDIVISION_RE, "an ISO 3166-2 subdivision code", required=False),
        "time_zone": f.time_zone("time_zone"),
        "language": f.pattern("language", LANGUAGE_RE, "a language code such as en or fr"),
        "domains": f.string_list("domains"),
        "notification_emails": f.string_list("notification_emails", required=False),
    }
    if record["notification_emails"] is not None:
        record["notification_emails"] = list(dict.fromkeys(map(normalise_email, record["notification_emails"])))
        if len(record["notification_emails"]) > MAX_NOTIFICATION_EMAILS:
            f.problems.append(f"notification_emails holds more than {MAX_NOTIFICATION_EMAILS} addresses")
        for address in record["notification_emails"]:
            if not is_email_address(address):
                f.problems.append(f"notification_emails: {json.dumps(address)} is not an email address")
    if record["domains"] is not None:
        record["domains"] = list(dict.fromkeys(normalise_domain(name) for name in record["domains"]))
        if not record["domains"]:
            f.problems.append("domains is empty: a tenant has at least one domain")
        for name in record["domains"]:
            if not is_domain_name(name):
                f.problems.append(f"domains: {json.dumps(name)} is not a domain name")
    return record


def _check_subscription(f: _Fields) -> dict:
    record = {
        "subscription_id": f.guid("subscription_id"),
        "tenant_id": f.guid("tenant_id"),
        "product": f.text("product", _max_length(Product, "code")),
        "channel": f.choice("channel", Channel.values),
        "status": f.choice("status", SubscriptionStatus.values),
        "provisioned": f.boolean("provisioned"),
        "start_date": f.date("start_date"),
        "end_date": f.date("end_date"),
    }
    if record["start_date"] and record["end_date"] and record["end_date"] < record["start_date"]:
        f.problems.append("end_date is before start_date")
    return record


def _check_usage(f: _Fields) -> dict:
    return {
        "tenant_id": f.guid("tenant_id"),
        "subscription_id": f.guid("subscription_id", required=False),
        "workload": f.text("workload", _max_length(Usage, "workload")),
        "month": f.month("month"),
        "monthly_active_users": f.count("monthly_active_users"),
        "paid_available_units": f.count("paid_available_units"),
    }


def _check_legacy_association(f: _Fields) -> dict:
    record = {
        "partner_id": f.digits("partner_id"),
        "mpn_id": f.digits("mpn_id"),
        "tenant_id": f.guid("tenant_id"),
        "subscription_id": f.guid("subscription_id", required=False),
        "workload": f.text("workload", _max_length(Workload, "name"), required=False) or None,
        "since": f.date("since"),
    }
    given = [name for name in ("subscription_id", "workload") if f.data.get(name) is not None]
    if len(given) != 1:
        f.problems.append("give exactly one of subscription_id (Dynamics 365, Power BI) and workload (Microsoft 365)")
    return record


CHECKS = {
    "partner": _RecordCheck(
        frozenset({"partner_id", "name", "country"}),
        _check_partner,
        lambda record: [("partner", record["partner_id"])],
    ),
    "mpn": _RecordCheck(
        frozenset({"mpn_id", "partner_id", "location", "partner_type", "programs"}),
        _check_mpn,
        lambda record: [("mpn", record["mpn_id"])],
    ),
    "product": _RecordCheck(
        frozenset({"code", "name", "solution_area", "family", "workloads"}),
        _check_product,
        lambda record: [("product", record["code"])] + [("workload", name) for name in record["workloads"] or []],
    ),
    "tenant": _RecordCheck(
        frozenset(
            {"tenant_id", "name", "country", "subdivision", "time_zone", "language", "domains", "notification_emails"}
        ),
        _check_tenant,
        lambda record: [("tenant", record["tenant_id"])],
    ),
    "subscription": _RecordCheck(
        frozenset(
            {"subscription_id", "tenant_id", "product", "channel", "status", "provisioned", "start_date", "end_date"}
        ),
        _check_subscription,
        lambda record: [("subscription", record["subscription_id"])],
    ),
    "usage": _RecordCheck(
        frozenset(
            {"tenant_id", "subscription_id", "workload", "month", "monthly_active_users", "paid_available_units"}
        ),
        _check_usage,
    ),
    "legacy_association": _RecordCheck(
        frozenset({"partner_id", "mpn_id", "tenant_id", "subscription_id", "workload", "since"}),
        _check_legacy_association,
    ),
}
