"""Property-based tests of the directory feed loader (issue 7, section 6): whatever the lines,
a feed is either loaded (and loading it again changes nothing) or rejected with its bad lines
named by number and nothing kept. Never another error."""

import io
import json
import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cpor.models import MpnId, Partner
from tenants.importer import FeedRejected, directory_import
from tenants.models import Domain, LegacyAssociation, Product, Subscription, Tenant, Usage, Workload

pytestmark = pytest.mark.django_db

MODELS = (Partner, MpnId, Product, Workload, Tenant, Domain, Subscription, Usage, LegacyAssociation)
# The same examples on every run; HYPOTHESIS_EXPLORE=1 draws fresh ones, many more of them.
EXPLORE = bool(os.environ.get("HYPOTHESIS_EXPLORE"))
PROPERTIES = settings(
    max_examples=300 if EXPLORE else 40,
    derandomize=not EXPLORE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Small pools of keys, so that generated records refer to each other (and to the directory
# loaded before each example) as often as not.
PARTNER_IDS = ("4000001", "4100001", "4200001")
MPN_IDS = ("4000001", "4000002", "4100001")
TENANT_IDS = ("259e6e7a-0fc2-5d40-a358-1991da9a1dee", "c13fb5c3-c2a0-574c-902c-c58ad393ebb0")
SUBSCRIPTION_IDS = ("2667c31e-8016-578d-b83d-a0faa6369a17", "74c34224-c8fc-5bde-9121-a199a02a2c17")
WORKLOADS = ("Exchange Online", "Microsoft Teams")
PROGRAMS = ("OSA-Sell", "OSU-M365", "OSU-BizApps")

# Any JSON value: what a broken or hostile feed may put in a field.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


class Pool:
    """Values a field takes: valid ones (mostly keys the loaded directory knows), and others
    a careless feed writes (unknown keys, malformed values) when the record is mutated."""

    def __init__(self, valid, invalid=()):
        self.valid = st.sampled_from(valid)
        self.invalid = invalid if isinstance(invalid, st.SearchStrategy) else st.sampled_from(invalid or valid)

    def strategy(self, mutate):
        return self.valid | self.invalid if mutate else self.valid


def known(*values, unknown=()):
    return Pool(values, unknown)


names = Pool(("Contoso", "Fabrikam Conseil & Fils", "Ünïcödé GmbH"), st.text(max_size=30))
months = Pool(("2026-01", "2026-02"), ("2026-13", "2026-1", "January"))
starts = Pool(("2026-01-01",), ("2028-02-01", "2026-02-30", "01/01/2026"))
ends = Pool(("2027-12-31",), ("2026-02-30", "2025-12-31"))
counts = Pool((0, 7, 10_000), st.integers(min_value=-2, max_value=10**12))
partner = known(PARTNER_IDS[0], unknown=PARTNER_IDS[1:])
mpn = known(MPN_IDS[0], unknown=MPN_IDS[1:])
tenant = known(TENANT_IDS[0], unknown=TENANT_IDS[1:])
subscription = known(SUBSCRIPTION_IDS[0], unknown=SUBSCRIPTION_IDS[1:])

RECORDS = {
    "partner": {
        "partner_id": st.sampled_from(PARTNER_IDS),
        "name": names,
        "country": known("FR", "US", unknown=("XX",)),
    },
    "mpn": {
        "mpn_id": st.sampled_from(MPN_IDS),
        "partner_id": partner,
        "location": names,
        "programs": st.lists(st.sampled_from(PROGRAMS), max_size=3, unique=True),
    },
    "product": {
        "code": known("D365_SALES", unknown=("M365_E3",)),
        "name": names,
        "solution_area": known("Business Applications", unknown=("Microsoft 365", "Azure")),
        "family": known("Dynamics 365", unknown=("Microsoft 365",)),
        "workloads": known([], unknown=(["Exchange Online"], ["Microsoft Teams", "Exchange Online"])),
    },
    "tenant": {
        "tenant_id": st.sampled_from(TENANT_IDS),
        "name": names,
        "country": known("FR", "US"),
        "time_zone": known("Europe/Paris", "America/New_York", unknown=("Mars/Olympus",)),
        "language": known("en", "fr"),
        "domains": known(["contoso.fr"], ["contoso.fr", "contoso.onmicrosoft.com"], unknown=(["litware.com"], [])),
        "notification_emails": known(["it@contoso.fr"], ["Admin@Outside.example"], unknown=(["not an address"],)),
    },
    "subscription": {
        "subscription_id": st.sampled_from(SUBSCRIPTION_IDS),
        "tenant_id": tenant,
        "product": known("D365_SALES", unknown=("M365_E3",)),
        "channel": known("Volume Licensing", "Web Direct", "CSP"),
        "status": known("active", "in_grace", "disabled", "deleted"),
        "provisioned": st.booleans(),
        "start_date": starts,
        "end_date": ends,
    },
    "usage": {
        "tenant_id": tenant,
        "subscription_id": subscription,
        "workload": known("D365_SALES", unknown=(*WORKLOADS, "M365_E3")),
        "month": months,
        "monthly_active_users": counts,
        "paid_available_units": counts,
    },
    "legacy_association": {
        "partner_id": partner,
        "mpn_id": mpn,
        "tenant_id": tenant,
        "subscription_id": subscription,
        "since": starts,
    },
}
# Fields a record may leave out (directory-feed.md marks them optional).
OPTIONAL = {("product", "workloads"), ("tenant", "notification_emails"), ("usage", "subscription_id")}


@st.composite
def records(draw, mutate=True):
    """A record of one type: its fields from the pools, some optional ones left out and,
    when `mutate`, some others removed or replaced by any JSON value, and sometimes a field
    that does not exist."""
    record_type = draw(st.sampled_from(sorted(RECORDS)))
    record = {"type": record_type}
    for name, values in RECORDS[record_type].items():
        if (record_type, name) in OPTIONAL and draw(st.booleans()):
            continue
        record[name] = draw(values.strategy(mutate) if isinstance(values, Pool) else values)
    if not mutate:
        return record
    for name in draw(st.lists(st.sampled_from(sorted(record)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del record[name]
        else:
            record[name] = draw(json_values)
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        record[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return record


lines = st.one_of(
    records().map(json.dumps),
    records().map(json.dumps),
    records().map(json.dumps),
    st.text(max_size=40),  # not JSON at all, or JSON of the wrong shape
    json_values.map(json.dumps),
)
feeds = st.one_of(
    st.lists(lines, min_size=1, max_size=12),
    st.lists(records(mutate=False).map(json.dumps), min_size=1, max_size=12),
)


KEYS = {
    "partner": ("partner_id",),
    "mpn": ("mpn_id",),
    "product": ("code",),
    "tenant": ("tenant_id",),
    "subscription": ("subscription_id",),
    "usage": ("tenant_id", "workload", "month", "subscription_id"),
    "legacy_association": ("partner_id", "mpn_id", "tenant_id", "subscription_id", "workload"),
}


def names_a_key_twice(feed) -> bool:
    """Whether two records of the feed share a key: the last one wins, and the loader counts
    both as updates on every load (the state still ends the same)."""
    seen = set()
    for line in feed:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("type") in KEYS:
            key = (record["type"], *(json.dumps(record.get(name)) for name in KEYS[record["type"]]))
            if key in seen:
                return True
            seen.add(key)
    return False


def directory_state():
    return {model.__name__: list(model.objects.order_by("pk").values_list()) for model in MODELS}


def load(text):
    return directory_import(stream=io.BytesIO(text.encode("utf-8")))


BASE = [
    {"type": "partner", "partner_id": "4000001", "name": "Fabrikam", "country": "FR"},
    {"type": "mpn", "mpn_id": "4000001", "partner_id": "4000001", "location": "Paris", "programs": list(PROGRAMS)},
    {"type": "product", "code": "D365_SALES", "name": "Sales", "solution_area": "Business Applications",
     "family": "Dynamics 365"},
    {"type": "tenant", "tenant_id": TENANT_IDS[0], "name": "Contoso", "country": "FR", "time_zone": "Europe/Paris",
     "language": "fr", "domains": ["contoso.fr"]},
    {"type": "subscription", "subscription_id": SUBSCRIPTION_IDS[0], "tenant_id": TENANT_IDS[0],
     "product": "D365_SALES", "channel": "Volume Licensing", "status": "active", "provisioned": True,
     "start_date": "2026-01-01", "end_date": "2027-12-31"},
]  # fmt: skip


@pytest.fixture
def directory(db):
    """A small directory already loaded, so that generated feeds update as well as create."""
    load("\n".join(json.dumps(record) for record in BASE))


@PROPERTIES
@given(feed=feeds)
def test_a_feed_is_loaded_whole_or_rejected_by_line_with_nothing_kept(directory, feed):
    text = "\n".join(feed)
    with transaction.atomic():
        before = directory_state()
        try:
            report = load(text)
        except FeedRejected as rejected:
            event("rejected")
            line_count = len(text.split("\n"))
            numbers = [bad.line for bad in rejected.bad_lines]
            assert numbers and numbers == sorted(numbers), rejected.bad_lines
            assert all(1 <= number <= line_count for number in numbers), rejected.bad_lines
            assert all(str(bad).startswith(f"line {bad.line}: ") for bad in rejected.bad_lines)
            assert rejected.total >= len(numbers)
            assert directory_state() == before  # all or nothing
        else:
            event("loaded")
            after = directory_state()
            assert report.changed or after == before
            # Idempotent: the same feed again changes nothing.
            again = load(text)
            assert directory_state() == after
            assert again.changed == 0 or names_a_key_twice(feed)
        transaction.set_rollback(True)
