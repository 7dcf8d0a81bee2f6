"""The directory feed loader (tenants/importer.py) against directory-feed.md, format 1.1."""

import datetime
import io
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from cpor.models import MpnId, Partner
from tenants.importer import MAX_LINE_BYTES, MAX_LISTED, FeedRejected, directory_import
from tenants.models import Domain, LegacyAssociation, Product, Subscription, Tenant, Usage, Workload

pytestmark = pytest.mark.django_db

SAMPLE = settings.BASE_DIR / "tenants" / "tests" / "data" / "directory-sample.jsonl"
CONTOSO = "259e6e7a-0fc2-5d40-a358-1991da9a1dee"
LITWARE = "c13fb5c3-c2a0-574c-902c-c58ad393ebb0"
CONTOSO_SALES = "2667c31e-8016-578d-b83d-a0faa6369a17"
TAILSPIN_SALES = "74c34224-c8fc-5bde-9121-a199a02a2c17"
MODELS = (Partner, MpnId, Product, Workload, Tenant, Domain, Subscription, Usage, LegacyAssociation)

PARTNER = {"type": "partner", "partner_id": "4000001", "name": "Fabrikam Consulting", "country": "FR"}
MPN = {"type": "mpn", "mpn_id": "4000001", "partner_id": "4000001", "location": "Paris, FR", "programs": ["OSA-Sell"]}
PRODUCT = {
    "type": "product",
    "code": "D365_SALES",
    "name": "Dynamics 365 Sales Enterprise",
    "solution_area": "Business Applications",
    "family": "Dynamics 365",
}
M365 = {
    "type": "product",
    "code": "M365_E3",
    "name": "Microsoft 365 E3",
    "solution_area": "Microsoft 365",
    "family": "Microsoft 365",
    "workloads": ["Exchange Online", "Microsoft Teams"],
}
TENANT = {
    "type": "tenant",
    "tenant_id": CONTOSO,
    "name": "Contoso Ltd",
    "country": "FR",
    "time_zone": "Europe/Paris",
    "language": "fr",
    "domains": ["contoso.onmicrosoft.com", "contoso.fr"],
}
SUBSCRIPTION = {
    "type": "subscription",
    "subscription_id": CONTOSO_SALES,
    "tenant_id": CONTOSO,
    "product": "D365_SALES",
    "channel": "Volume Licensing",
    "status": "active",
    "provisioned": True,
    "start_date": "2026-01-01",
    "end_date": "2027-12-31",
}
USAGE = {
    "type": "usage",
    "tenant_id": CONTOSO,
    "workload": "Exchange Online",
    "month": "2026-09",
    "monthly_active_users": 412,
    "paid_available_units": 450,
}
LEGACY = {
    "type": "legacy_association",
    "partner_id": "4000001",
    "mpn_id": "4000001",
    "tenant_id": CONTOSO,
    "subscription_id": CONTOSO_SALES,
    "since": "2019-06-15",
}
# A feed with one record of each type; bad records are appended after it, on line 9.
GOOD = [PARTNER, MPN, PRODUCT, M365, TENANT, SUBSCRIPTION, USAGE, LEGACY]
BAD_LINE = len(GOOD) + 1


def feed(*records) -> io.BytesIO:
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    return io.BytesIO("\n".join(lines).encode())


def load(*records):
    return directory_import(stream=feed(*records))


def rejected(*records) -> FeedRejected:
    with pytest.raises(FeedRejected) as caught:
        load(*records)
    return caught.value


def snapshot() -> dict:
    return {model.__name__: sorted(map(repr, model.objects.values())) for model in MODELS}


def assert_nothing_kept():
    assert {model.__name__: model.objects.count() for model in MODELS} == {model.__name__: 0 for model in MODELS}


def load_sample():
    with SAMPLE.open("rb") as stream:
        return directory_import(stream=stream)


# --- The sample feed -----------------------------------------------------------------------


def test_sample_feed_loads_every_record():
    report = load_sample()

    created = {name: counts.created for name, counts in report.counts.items()}
    assert created == {
        "partner": 2,
        "mpn": 3,
        "product": 5,
        "tenant": 3,
        "subscription": 10,
        "usage": 9,
        "legacy_association": 2,
    }
    fabrikam = Partner.objects.get(partner_id="4000001")
    assert (fabrikam.name, fabrikam.country) == ("Fabrikam Consulting", "FR")
    lyon = MpnId.objects.get(mpn_id="4000002")
    assert (lyon.partner, lyon.partner_type, lyon.programs) == (fabrikam, "FRP FastTrack", [])
    assert MpnId.objects.get(mpn_id="4000001").programs == ["OSA-Sell", "OSU-M365", "OSU-BizApps"]
    assert set(Product.objects.get(code="M365_BASIC").workloads.values_list("name", flat=True)) == {
        "Exchange Online",
        "SharePoint Online",
        "OneDrive for Business",
        "Microsoft Teams",
    }
    contoso = Tenant.objects.get(tenant_id=uuid.UUID(CONTOSO))
    assert (contoso.country, contoso.time_zone, contoso.language) == ("FR", "Europe/Paris", "fr")
    assert set(contoso.domains.values_list("name", flat=True)) == {"contoso.onmicrosoft.com", "contoso.fr"}
    assert Tenant.objects.get(name="Tailspin Toys GmbH").subdivision == "BY"
    in_grace = Subscription.objects.get(subscription_id=uuid.UUID("515ba875-6b4a-5e42-bb0d-fc7a097df735"))
    assert (in_grace.status, in_grace.channel, in_grace.product.code) == ("in_grace", "Volume Licensing", "D365_CS")
    assert in_grace.end_date == datetime.date(2027, 12, 31)
    assert not Subscription.objects.get(subscription_id=uuid.UUID("a16d6a96-47bd-57ff-8f4c-f1aafe26e8ec")).provisioned
    usage = Usage.objects.get(tenant=contoso, workload="D365_SALES")
    assert (usage.month, usage.monthly_active_users, usage.paid_available_units) == (datetime.date(2026, 10, 1), 35, 40)
    by_workload = LegacyAssociation.objects.get(workload__name="Exchange Online")
    assert (by_workload.partner.partner_id, by_workload.mpn.mpn_id, by_workload.tenant.name) == (
        "4100001",
        "4100001",
        "Litware Inc",
    )
    by_subscription = LegacyAssociation.objects.get(subscription__subscription_id=uuid.UUID(TAILSPIN_SALES))
    assert by_subscription.since == datetime.date(2019, 6, 15)


def test_loading_the_same_feed_twice_changes_nothing():
    load_sample()
    before = snapshot()

    report = load_sample()

    assert report.changed == 0
    assert all(counts.unchanged == counts.total for counts in report.counts.values())
    assert report.counts["subscription"].unchanged == 10
    assert snapshot() == before


def test_a_changed_field_is_updated():
    load(*GOOD)

    report = load(*GOOD[:5], {**SUBSCRIPTION, "status": "disabled"}, *GOOD[6:])

    assert Subscription.objects.get().status == "disabled"
    assert (report.counts["subscription"].updated, report.changed) == (1, 1)


def test_records_may_refer_to_keys_defined_later_in_the_feed():
    sample = SAMPLE.read_text().splitlines()

    report = load(*reversed(sample))

    assert report.counts["legacy_association"].created == 2
    assert Subscription.objects.count() == 10


def test_records_may_refer_to_keys_loaded_by_an_earlier_feed():
    load(PARTNER, MPN, PRODUCT, TENANT)

    load(SUBSCRIPTION, LEGACY)

    assert LegacyAssociation.objects.get().subscription.subscription_id == uuid.UUID(CONTOSO_SALES)


def test_blank_lines_are_ignored_but_counted_in_line_numbers():
    problem = rejected(PARTNER, "", "   ", {**MPN, "mpn_id": "x"})

    assert [str(line) for line in problem.bad_lines] == ["line 4: mpn: mpn_id is not a string of digits (at most 20)"]


def test_a_product_workload_list_replaces_its_workloads():
    load(M365)

    report = load({**M365, "workloads": ["Exchange Online", "SharePoint Online"]})

    assert set(Product.objects.get().workloads.values_list("name", flat=True)) == {
        "Exchange Online",
        "SharePoint Online",
    }
    assert report.counts["product"].updated == 1


# --- Keys that compare case-insensitively ---------------------------------------------------


def test_guids_and_domains_compare_case_insensitively():
    load(*GOOD)
    before = snapshot()

    report = load(
        *GOOD[:4],
        {**TENANT, "tenant_id": CONTOSO.upper(), "domains": ["Contoso.OnMicrosoft.com", "CONTOSO.FR."]},
        {**SUBSCRIPTION, "subscription_id": CONTOSO_SALES.upper(), "tenant_id": CONTOSO.upper()},
        {**USAGE, "tenant_id": CONTOSO.upper()},
        {**LEGACY, "tenant_id": CONTOSO.upper(), "subscription_id": CONTOSO_SALES.upper()},
    )

    assert report.changed == 0
    assert snapshot() == before


def test_domains_are_stored_lower_case():
    load({**TENANT, "domains": ["Contoso.FR"]})

    assert list(Domain.objects.values_list("name", flat=True)) == ["contoso.fr"]


# --- Domains ------------------------------------------------------------------------------


def test_a_tenant_domain_list_replaces_its_domains():
    load(TENANT)

    report = load({**TENANT, "domains": ["contoso.com"]})

    assert list(Domain.objects.values_list("name", flat=True)) == ["contoso.com"]
    assert report.counts["tenant"].updated == 1


def test_a_domain_held_by_another_tenant_is_an_error_for_that_line():
    load(TENANT)
    litware = {**TENANT, "tenant_id": LITWARE, "name": "Litware", "domains": ["litware.com", "contoso.fr"]}

    problem = rejected(litware)

    assert [str(line) for line in problem.bad_lines] == [
        f"line 1: tenant: domain contoso.fr belongs to another tenant ({CONTOSO})"
    ]
    assert not Tenant.objects.filter(tenant_id=uuid.UUID(LITWARE)).exists()


def test_two_tenants_of_one_feed_cannot_list_the_same_domain():
    litware = {**TENANT, "tenant_id": LITWARE, "name": "Litware", "domains": ["contoso.fr"]}

    problem = rejected(TENANT, litware)

    assert [str(line) for line in problem.bad_lines] == [
        f"line 2: tenant: domain contoso.fr belongs to another tenant ({CONTOSO})"
    ]
    assert_nothing_kept()


def test_a_domain_moves_to_another_tenant_whatever_the_line_order():
    load(TENANT)
    litware = {**TENANT, "tenant_id": LITWARE, "name": "Litware", "domains": ["litware.com", "contoso.fr"]}

    load(litware, {**TENANT, "domains": ["contoso.onmicrosoft.com"]})

    assert Domain.objects.get(name="contoso.fr").tenant.tenant_id == uuid.UUID(LITWARE)


# --- Bad records: named by line, nothing kept -------------------------------------------------


BAD_RECORDS = [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
    ("[1, 2]", "not a JSON object"),
    ({"partner_id": "1"}, "type is missing"),
    ({"type": "customer"}, 'unknown type "customer"'),
    ({**PARTNER, "name": None}, "partner: name is missing"),
    ({k: v for k, v in PARTNER.items() if k != "country"}, "partner: country is missing"),
    ({**PARTNER, "nickname": "F"}, "partner: nickname is not a field of this record"),
    ({**PARTNER, "partner_id": "40-01"}, "partner: partner_id is not a string of digits (at most 20)"),
    ({**PARTNER, "partner_id": 4000001}, "partner: partner_id is not a string of digits (at most 20)"),
    ({**PARTNER, "country": "fr"}, "partner: country is not an ISO 3166-1 country code (two capital letters)"),
    ({**MPN, "programs": ["OSA-Sell", "OSU-Azure"]}, "mpn: programs may hold only OSA-Sell, OSU-M365, OSU-BizApps"),
    ({**MPN, "programs": "OSA-Sell"}, "mpn: programs is not a list of non-empty strings"),
    (
        {**PRODUCT, "solution_area": "Azure"},
        'product: solution_area is not one of "Business Applications", "Microsoft 365"',
    ),
    ({**PRODUCT, "workloads": ["Exchange Online"]}, "product: workloads are for Microsoft 365 products only"),
    ({**TENANT, "tenant_id": "contoso"}, "tenant: tenant_id is not a GUID"),
    ({**TENANT, "time_zone": "Paris"}, "tenant: time_zone is not an IANA time zone such as Europe/Paris"),
    ({**TENANT, "language": "French"}, "tenant: language is not a language code such as en or fr"),
    ({**TENANT, "domains": []}, "tenant: domains is empty: a tenant has at least one domain"),
    ({**TENANT, "domains": ["contoso"]}, 'tenant: domains: "contoso" is not a domain name'),
    ({**TENANT, "subdivision": "Bavaria"}, "tenant: subdivision is not an ISO 3166-2 subdivision code"),
    (
        {**TENANT, "notification_emails": "it@contoso.fr"},
        "tenant: notification_emails is not a list of non-empty strings",
    ),
    (
        {**TENANT, "notification_emails": ["it@contoso.fr", ""]},
        "tenant: notification_emails is not a list of non-empty strings",
    ),
    (
        {**TENANT, "notification_emails": ["it@contoso.fr", "Contoso IT"]},
        'tenant: notification_emails: "contoso it" is not an email address',
    ),
    (
        {**TENANT, "notification_emails": [f"it{n}@contoso.fr" for n in range(21)]},
        "tenant: notification_emails holds more than 20 addresses",
    ),
    ({**SUBSCRIPTION, "tenant_id": "not-a-guid"}, "subscription: tenant_id is not a GUID"),
    (
        {**SUBSCRIPTION, "channel": "Retail"},
        'subscription: channel is not one of "Volume Licensing", "Web Direct", "CSP"',
    ),
    (
        {**SUBSCRIPTION, "status": "expired"},
        'subscription: status is not one of "active", "in_grace", "disabled", "deleted"',
    ),
    ({**SUBSCRIPTION, "provisioned": "yes"}, "subscription: provisioned is not true or false"),
    ({**SUBSCRIPTION, "start_date": "01/01/2026"}, "subscription: start_date is not an ISO date (YYYY-MM-DD)"),
    ({**SUBSCRIPTION, "end_date": "2026-02-30"}, "subscription: end_date is not an ISO date (YYYY-MM-DD)"),
    ({**SUBSCRIPTION, "end_date": "2025-12-31"}, "subscription: end_date is before start_date"),
    ({**USAGE, "month": "2026-13"}, "usage: month is not a month (YYYY-MM)"),
    ({**USAGE, "month": "2026-09-01"}, "usage: month is not a month (YYYY-MM)"),
    ({**USAGE, "monthly_active_users": -1}, "usage: monthly_active_users is not a whole number of at least 0"),
    ({**USAGE, "paid_available_units": 4.5}, "usage: paid_available_units is not a whole number of at least 0"),
    ({**USAGE, "subscription_id": "sales"}, "usage: subscription_id is not a GUID"),
    (
        {**LEGACY, "workload": "Exchange Online"},
        "legacy_association: give exactly one of subscription_id (Dynamics 365, Power BI) and workload (Microsoft 365)",
    ),
    (
        {k: v for k, v in LEGACY.items() if k != "subscription_id"},
        "legacy_association: give exactly one of subscription_id (Dynamics 365, Power BI) and workload (Microsoft 365)",
    ),
    ({**LEGACY, "since": "2019"}, "legacy_association: since is not an ISO date (YYYY-MM-DD)"),
]
UNKNOWN_REFERENCES = [
    ({**MPN, "mpn_id": "4000009", "partner_id": "4999999"}, "mpn: partner_id 4999999 is not a known partner"),
    (
        {**SUBSCRIPTION, "subscription_id": str(uuid.uuid4()), "tenant_id": LITWARE},
        f"subscription: tenant_id {LITWARE} is not a known tenant",
    ),
    (
        {**SUBSCRIPTION, "subscription_id": str(uuid.uuid4()), "product": "D365_FINANCE"},
        "subscription: product D365_FINANCE is not a known product code",
    ),
    (
        {**USAGE, "workload": "Yammer"},
        "usage: workload Yammer is neither a known workload nor a Business Applications product code",
    ),
    (
        {**USAGE, "workload": "M365_E3"},
        "usage: workload M365_E3 is neither a known workload nor a Business Applications product code",
    ),
    (
        {**USAGE, "workload": "D365_SALES", "subscription_id": TAILSPIN_SALES},
        f"usage: subscription_id {TAILSPIN_SALES} is not a known subscription",
    ),
    (
        {**USAGE, "subscription_id": CONTOSO_SALES},
        "usage: subscription_id is for Business Applications figures only: "
        "a Microsoft 365 workload's figures are the tenant's",
    ),
    ({**LEGACY, "mpn_id": "4000009"}, "legacy_association: mpn_id 4000009 is not a known MPN ID"),
    (
        {**LEGACY, "partner_id": "4100001"},
        "legacy_association: partner_id 4100001 is not a known partner; "
        "mpn_id 4000001 belongs to partner 4000001, not 4100001",
    ),
    (
        {**LEGACY, "tenant_id": LITWARE},
        f"legacy_association: tenant_id {LITWARE} is not a known tenant; subscription_id {CONTOSO_SALES} "
        "is not a subscription of this tenant",
    ),
    (
        {**LEGACY, "subscription_id": TAILSPIN_SALES},
        f"legacy_association: subscription_id {TAILSPIN_SALES} is not a known subscription",
    ),
    (
        {k: v for k, v in LEGACY.items() if k != "subscription_id"} | {"workload": "Yammer"},
        "legacy_association: workload Yammer is not a known workload",
    ),
]


@pytest.mark.parametrize(("record", "reason"), BAD_RECORDS + UNKNOWN_REFERENCES)
def test_a_bad_record_is_named_by_line_and_nothing_is_kept(record, reason):
    problem = rejected(*GOOD, record)

    assert [str(line) for line in problem.bad_lines] == [f"line {BAD_LINE}: {reason}"]
    assert problem.total == 1
    assert_nothing_kept()


def test_an_mpn_of_another_partner_is_an_error_for_a_legacy_association():
    northwind = {**PARTNER, "partner_id": "4100001", "name": "Northwind Advisory"}

    problem = rejected(*GOOD, northwind, {**LEGACY, "partner_id": "4100001"})

    assert [str(line) for line in problem.bad_lines] == [
        f"line {BAD_LINE + 1}: legacy_association: mpn_id 4000001 belongs to partner 4000001, not 4100001"
    ]


def test_a_legacy_association_names_a_business_applications_subscription():
    m365_subscription = {**SUBSCRIPTION, "subscription_id": str(uuid.uuid4()), "product": "M365_E3"}

    problem = rejected(*GOOD, m365_subscription, {**LEGACY, "subscription_id": m365_subscription["subscription_id"]})

    assert problem.bad_lines[0].reason.endswith("is a Microsoft 365 subscription: give the workload instead")


def test_a_line_that_is_not_utf8_is_bad():
    stream = io.BytesIO(json.dumps(PARTNER).encode() + b"\n" + b'{"type": "partner", "name": "\xff"}\n')

    with pytest.raises(FeedRejected) as caught:
        directory_import(stream=stream)

    assert [str(line) for line in caught.value.bad_lines] == ["line 2: not UTF-8 text (byte 30)"]
    assert_nothing_kept()


def test_an_overlong_line_is_bad_and_the_lines_after_it_are_still_read():
    overlong = json.dumps({**PARTNER, "name": "x" * (MAX_LINE_BYTES + 10)})

    problem = rejected(PARTNER, overlong, {**MPN, "programs": "all"})

    assert [str(line) for line in problem.bad_lines] == [
        f"line 2: longer than {MAX_LINE_BYTES:,} bytes",
        "line 3: mpn: programs is not a list of non-empty strings",
    ]


def test_a_text_stream_loads_like_a_binary_one():
    report = directory_import(stream=io.StringIO("\ufeff" + "\n".join(json.dumps(record) for record in GOOD)))

    assert report.counts["legacy_association"].created == 1


def test_a_feed_never_deletes_what_it_does_not_mention():
    load(*GOOD)

    report = load(PARTNER)

    assert report.counts["partner"].unchanged == 1
    assert Subscription.objects.count() == 1


def test_every_bad_line_is_listed_in_line_order():
    problem = rejected(
        {**SUBSCRIPTION, "tenant_id": LITWARE},  # an unknown reference, found in the load pass
        *GOOD,
        "oops",
        {**TENANT, "tenant_id": LITWARE.upper()[:-1], "domains": ["litware.com"]},
    )

    assert [str(line) for line in problem.bad_lines] == [
        f"line 1: subscription: tenant_id {LITWARE} is not a known tenant",
        f"line {BAD_LINE + 1}: not valid JSON (Expecting value at column 1)",
        f"line {BAD_LINE + 2}: tenant: tenant_id is not a GUID",
    ]
    assert problem.total == 3


def test_the_listing_is_capped_but_the_count_covers_every_bad_line():
    problem = rejected(*GOOD, *["oops"] * (MAX_LISTED + 50))

    assert len(problem.bad_lines) == MAX_LISTED
    assert problem.bad_lines[0].line == BAD_LINE
    assert problem.bad_lines[-1].line == BAD_LINE + MAX_LISTED - 1
    assert problem.total == MAX_LISTED + 50


def test_a_reference_to_a_bad_line_is_not_reported_again():
    problem = rejected(
        PARTNER, PRODUCT, {**TENANT, "time_zone": "Mars/Olympus"}, SUBSCRIPTION, {**MPN, "programs": ["Azure"]}, LEGACY
    )

    assert [line.line for line in problem.bad_lines] == [3, 5]


def test_a_failed_load_keeps_nothing_even_from_an_existing_database():
    load(*GOOD)
    before = snapshot()

    rejected({**SUBSCRIPTION, "status": "deleted"}, {**PARTNER, "name": "Fabrikam SAS"}, "{")

    assert snapshot() == before


# --- Format 1.1: tenants' notification addresses, usage per subscription ----------------------

CONTOSO_SALES_2 = "3a0e1f52-77c1-5d0b-9a6e-5f3b1c2d4e60"
SECOND_SALES = {**SUBSCRIPTION, "subscription_id": CONTOSO_SALES_2, "channel": "Web Direct"}
SALES_USAGE = {**USAGE, "workload": "D365_SALES", "subscription_id": CONTOSO_SALES, "monthly_active_users": 35}


def test_a_format_1_feed_is_a_valid_format_1_1_feed():
    load(*GOOD)

    tenant = Tenant.objects.get()
    assert tenant.notification_emails == []
    assert Usage.objects.get().subscription is None


def test_a_tenant_notification_emails_are_kept_lower_case_without_duplicates():
    addresses = ["IT-Notify@Contoso.fr", "it-notify@contoso.fr", " legal@contoso.fr "]

    load(*GOOD, {**TENANT, "notification_emails": addresses})

    assert Tenant.objects.get().notification_emails == ["it-notify@contoso.fr", "legal@contoso.fr"]


def test_a_tenant_notification_email_list_replaces_its_addresses_and_reloading_changes_nothing():
    load(*GOOD[:4], {**TENANT, "notification_emails": ["it@contoso.fr", "legal@contoso.fr"]})

    again = load({**TENANT, "notification_emails": ["it@contoso.fr", "legal@contoso.fr"]})
    changed = load({**TENANT, "notification_emails": ["legal@contoso.fr"]})
    format_1 = load(TENANT)

    assert (again.counts["tenant"].unchanged, again.changed) == (1, 0)
    assert changed.counts["tenant"].updated == 1
    assert format_1.counts["tenant"].updated == 1
    assert Tenant.objects.get().notification_emails == []


def test_a_bad_notification_email_keeps_nothing_not_even_the_tenant_s_earlier_addresses():
    load(*GOOD[:4], {**TENANT, "notification_emails": ["it@contoso.fr"]})

    problem = rejected({**TENANT, "notification_emails": ["legal@contoso.fr", "legal@"]})

    assert [str(line) for line in problem.bad_lines] == [
        'line 1: tenant: notification_emails: "legal@" is not an email address'
    ]
    assert Tenant.objects.get().notification_emails == ["it@contoso.fr"]


def test_usage_of_several_subscriptions_to_one_product_is_kept_per_subscription():
    report = load(
        *GOOD,
        SECOND_SALES,
        SALES_USAGE,
        {**SALES_USAGE, "subscription_id": CONTOSO_SALES_2, "monthly_active_users": 12},
        {**SALES_USAGE, "subscription_id": None, "monthly_active_users": 47},  # format 1: the tenant's figures
    )

    assert report.counts["usage"].created == 4
    figures = {
        (str(row.subscription.subscription_id) if row.subscription else None): row.monthly_active_users
        for row in Usage.objects.filter(workload="D365_SALES")
    }
    assert figures == {CONTOSO_SALES: 35, CONTOSO_SALES_2: 12, None: 47}


def test_usage_per_subscription_loads_once_and_updates_by_subscription_and_month():
    records = [*GOOD, SECOND_SALES, SALES_USAGE, {**SALES_USAGE, "subscription_id": CONTOSO_SALES_2.upper()}]
    load(*records)
    before = snapshot()

    again = load(*records)
    assert (again.changed, snapshot()) == (0, before)
    changed = load({**SALES_USAGE, "monthly_active_users": 36})

    assert changed.counts["usage"].updated == 1
    assert Usage.objects.get(subscription__subscription_id=uuid.UUID(CONTOSO_SALES)).monthly_active_users == 36
    assert Usage.objects.get(subscription__subscription_id=uuid.UUID(CONTOSO_SALES_2)).monthly_active_users == 35


def test_usage_may_name_a_subscription_defined_later_in_the_feed():
    load(SALES_USAGE, *reversed(GOOD))

    assert Usage.objects.get(workload="D365_SALES").subscription.subscription_id == uuid.UUID(CONTOSO_SALES)


def test_usage_names_a_subscription_of_its_own_tenant():
    litware = {**TENANT, "tenant_id": LITWARE, "name": "Litware Inc", "domains": ["litware.com"]}

    problem = rejected(*GOOD, litware, {**SALES_USAGE, "tenant_id": LITWARE})

    assert [str(line) for line in problem.bad_lines] == [
        f"line {BAD_LINE + 1}: usage: subscription_id {CONTOSO_SALES} is not a subscription of this tenant"
    ]
    assert_nothing_kept()


def test_usage_names_a_subscription_to_the_product_of_its_figures():
    customer_service = {**PRODUCT, "code": "D365_CS", "name": "Dynamics 365 Customer Service"}

    problem = rejected(*GOOD, customer_service, {**SALES_USAGE, "workload": "D365_CS"})

    assert [str(line) for line in problem.bad_lines] == [
        f"line {BAD_LINE + 1}: usage: subscription_id {CONTOSO_SALES} is a subscription to D365_SALES, not to D365_CS"
    ]
    assert_nothing_kept()


def test_usage_naming_a_bad_subscription_line_is_not_reported_again():
    problem = rejected(*GOOD, {**SECOND_SALES, "status": "gone"}, {**SALES_USAGE, "subscription_id": CONTOSO_SALES_2})

    assert [line.line for line in problem.bad_lines] == [BAD_LINE]


def test_the_database_keeps_one_usage_row_per_subscription_and_month():
    from django.db import IntegrityError, transaction

    load(*GOOD, SALES_USAGE)
    row = Usage.objects.get(workload="D365_SALES")

    with pytest.raises(IntegrityError), transaction.atomic():
        Usage.objects.create(
            tenant=row.tenant,
            subscription=row.subscription,
            workload=row.workload,
            month=row.month,
            monthly_active_users=1,
            paid_available_units=1,
        )


# --- The command -------------------------------------------------------------------------------


def test_the_command_loads_a_file_and_prints_the_report(capsys):
    call_command("import_directory", str(SAMPLE))

    out = capsys.readouterr().out
    assert "subscription: 10 created, 0 updated, 0 unchanged" in out
    assert Tenant.objects.count() == 3


def test_the_command_names_each_bad_line_on_stderr_and_keeps_nothing(tmp_path, capsys):
    path = tmp_path / "feed.jsonl"
    lines = [PARTNER, {**SUBSCRIPTION, "tenant_id": "x"}, "{", {**MPN, "partner_id": "4100001"}]
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines), encoding="utf-8")

    with pytest.raises(CommandError) as caught:
        call_command("import_directory", str(path))

    assert caught.value.returncode != 0
    assert str(caught.value) == f"{path}: 3 bad line(s); nothing was loaded."
    assert capsys.readouterr().err.splitlines() == [
        "line 2: subscription: tenant_id is not a GUID",
        "line 3: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 4: mpn: partner_id 4100001 is not a known partner",
    ]
    assert_nothing_kept()


def run_command(*args: str, tmp_path) -> subprocess.CompletedProcess:
    """manage.py as an operator runs it, on a scratch SQLite database: the feeds given here are
    rejected before any table is read, so the database only has to exist."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cpor.settings.base",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
        "CPOR_VAR_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_command_exits_non_zero_on_a_bad_feed(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text(json.dumps({**TENANT, "tenant_id": "contoso"}) + "\n\n" + "oops\n", encoding="utf-8")

    result = run_command("import_directory", str(path), tmp_path=tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines()[:2] == [
        "line 1: tenant: tenant_id is not a GUID",
        "line 3: not valid JSON (Expecting value at column 1)",
    ]
    assert result.stdout == ""


def test_the_command_caps_the_listing_and_counts_the_rest(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text("oops\n" * (MAX_LISTED + 7), encoding="utf-8")

    result = run_command("import_directory", str(path), tmp_path=tmp_path)

    assert result.returncode == 1
    assert result.stderr.count("not valid JSON") == MAX_LISTED
    assert "... and 7 more bad lines" in result.stderr


def test_the_command_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_directory", str(tmp_path / "missing.jsonl"))
