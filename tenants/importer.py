"""Load a directory feed (format 1.1, `directory-feed.md`): the vendor's master data.

`directory_import(stream=...)` is the one entry point; `manage.py import_directory FILE`
and `manage.py seed_demo` call it.

How a feed of millions of lines loads in bounded memory
-------------------------------------------------------
A record may refer to keys defined anywhere in the same feed, in any order (a
subscription may come before its tenant), or already in the database. The load reads the
data twice, and never holds more than one batch of records:

1. **Check and sort.** The feed is read once, line by line. Each line is parsed and its
   fields are checked on their own (digits, GUIDs, ISO dates and countries, IANA time
   zones, the enumerations...). A good record is written, normalised, to a spool file for
   its type (in memory while small, then on disk); a bad line is noted.
2. **Load.** Inside one transaction, the spools are read back in dependency order:
   partners, MPN IDs, products (with their workloads), tenants (with their domains),
   subscriptions, usage, legacy associations. Every key a record can refer to belongs to
   an earlier type, so by the time a record is loaded, whatever it refers to is in the
   database, from this feed or an earlier one. Each batch of BATCH_SIZE records resolves
   its references with one query per table it refers to, reads the rows it may change
   with one query, and writes with `bulk_create` / `bulk_update`. No map of keys to ids
   is kept beyond the batch.

Loading is an upsert by each record's key, in file order: a new key is created, a changed
field is updated, an identical record leaves its row untouched, so loading the same feed
twice changes nothing. A feed may be partial: nothing it does not mention is deleted. The
lists a record carries are the whole truth, though: a tenant's domains and a product's
workloads become exactly the ones listed, and so do a tenant's notification addresses (a
tenant record without `notification_emails` has none). Domains move between tenants whatever the line
order: a first pass over the tenants lets each give up the domains it no longer lists, a
second gives each the ones it lists; a domain that another tenant still holds after that
is an error for the line that asks for it.

All or nothing: if any line is bad (not UTF-8, not JSON, no or unknown type, a missing,
unknown or malformed field, an unknown reference), the transaction is rolled back and
`FeedRejected` names every bad line (the first MAX_LISTED by line number, and how many in
all). A record whose reference points at a key defined only by a bad line is not reported
a second time: the bad line is.

Messages are in English on purpose: they are read by operators at a command line, next to
the feed's own field names, like the rest of Django's command output.
"""

from __future__ import annotations

import datetime
import functools
import heapq
import json
import operator
import re
import tempfile
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import connection, reset_queries, transaction
from django.db.models import Model, Q

from cpor.models import MpnId, Partner, Program

from .identifiers import normalise_domain
from .models import (
    Channel,
    Domain,
    LegacyAssociation,
    Product,
    SolutionArea,
    Subscription,
    SubscriptionStatus,
    Tenant,
    Usage,
    Workload,
)

# Types in the order they load: each refers only to types before it.
RECORD_TYPES = ("partner", "mpn", "product", "tenant", "subscription", "usage", "legacy_association")

BATCH_SIZE = 1000
MAX_LISTED = 100  # bad lines named in FeedRejected; the count covers them all
MAX_LINE_BYTES = 1024 * 1024  # a longer line is bad; reading it whole would defeat the bounded memory
MAX_BROKEN_KEYS = 100_000  # keys of bad lines remembered so that references to them are not reported twice
SPOOL_IN_MEMORY_BYTES = 4 * 1024 * 1024
MAX_COUNT = 2_147_483_647  # PositiveIntegerField's ceiling
# OR-ed conditions per query when fetching usage rows; SQLite caps expression depth at 1000.
COMPOSITE_LOOKUP_CHUNK = 200

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
DIGITS_RE = re.compile(r"^[0-9]+$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
SUBDIVISION_RE = re.compile(r"^[A-Z0-9]{1,3}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
DOMAIN_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path, as Django's EmailField
MAX_NOTIFICATION_EMAILS = 20  # a directory's handful of notification addresses, not a mailing list

BUSINESS_APPLICATIONS = SolutionArea.BUSINESS_APPLICATIONS


# --- What the caller gets ------------------------------------------------------------------


@dataclass
class TypeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What a load did, per record type: records created, updated and left unchanged."""

    counts: dict[str, TypeCounts] = field(default_factory=lambda: {name: TypeCounts() for name in RECORD_TYPES})

    @property
    def changed(self) -> int:
        return sum(counts.created + counts.updated for counts in self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{name}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
            for name, counts in self.counts.items()
        ]


@dataclass(frozen=True, order=True)
class BadLine:
    line: int
    record_type: str
    reason: str

    def __str__(self) -> str:
        if self.record_type:
            return f"line {self.line}: {self.record_type}: {self.reason}"
        return f"line {self.line}: {self.reason}"


class FeedRejected(Exception):
    """The feed had bad lines; nothing from it was kept."""

    def __init__(self, bad_lines: list[BadLine], total: int):
        self.bad_lines = bad_lines  # the first MAX_LISTED, by line number
        self.total = total
        super().__init__(f"{total} bad line(s); nothing was loaded")


# --- The service -----------------------------------------------------------------------------


def directory_import(*, stream: Iterable[bytes] | Iterable[str]) -> ImportReport:
    """Load a directory feed: upsert every record by its key, all or nothing.

    `stream` is a file opened in binary (or text) mode, read once from start to end.
    Raises FeedRejected, with nothing kept, when any line is bad.
    """
    bad = _BadLines()
    report = ImportReport()
    with ExitStack() as stack:
        spools = {
            name: stack.enter_context(
                tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES, mode="w+", encoding="utf-8")
            )
            for name in RECORD_TYPES
        }
        _check_and_sort(stream, spools, bad)
        with transaction.atomic():
            _lock_directory()
            loader = _Loader(report, bad)
            loader.load_partners(_batches(spools["partner"]))
            loader.load_mpns(_batches(spools["mpn"]))
            loader.load_products(_batches(spools["product"]))
            loader.load_tenants(_batches(spools["tenant"]))
            loader.give_domains(_batches(spools["tenant"]))
            loader.load_subscriptions(_batches(spools["subscription"]))
            loader.load_usage(_batches(spools["usage"]))
            loader.load_legacy_associations(_batches(spools["legacy_association"]))
            if bad.total:
                raise FeedRejected(bad.listed(), bad.total)  # rolls the transaction back
    return report


DIRECTORY_LOCK_KEY = 0x43504F52  # "CPOR": the advisory lock that serialises loads


def _lock_directory() -> None:
    """One load at a time: two concurrent loads would race to create the same keys.

    SQLite already serialises writers; PostgreSQL gets a transaction-scoped advisory lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [DIRECTORY_LOCK_KEY])


# --- Bad lines -----------------------------------------------------------------------------


class _BadLines:
    """Every bad line is counted; the first MAX_LISTED by line number are kept to be named."""

    def __init__(self):
        self.total = 0
        self._heap: list[tuple[int, str, str]] = []  # (-line, type, reason): the largest line on top
        self.broken_keys: set[tuple[str, str]] = set()

    def add(self, line: int, record_type: str, reasons: str | list[str]) -> None:
        reason = reasons if isinstance(reasons, str) else "; ".join(reasons)
        self.total += 1
        entry = (-line, record_type, reason)
        if len(self._heap) < MAX_LISTED:
            heapq.heappush(self._heap, entry)
        elif line < -self._heap[0][0]:
            heapq.heapreplace(self._heap, entry)

    def remember(self, kind: str, key) -> None:
        if key is not None and len(self.broken_keys) < MAX_BROKEN_KEYS:
            self.broken_keys.add((kind, str(key)))

    def is_broken(self, kind: str, key) -> bool:
        return (kind, str(key)) in self.broken_keys

    def listed(self) -> list[BadLine]:
        return sorted(BadLine(-line, record_type, reason) for line, record_type, reason in self._heap)


# --- Pass 1: read, check each line on its own, sort by type ------------------------------------


def _lines(stream) -> Iterator[tuple[int, str, str]]:
    """(line number, text, problem) for each line; the problem is "" unless the line is too
    long or not UTF-8 (then the text is "")."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        newline = b"\n" if isinstance(raw, bytes) else "\n"
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(newline):
            while raw and not raw.endswith(newline):  # skip the rest of the line, a chunk at a time
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, "", f"longer than {MAX_LINE_BYTES:,} bytes"
            continue
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                yield number, "", f"not UTF-8 text (byte {error.start + 1})"
                continue
        if number == 1:
            raw = raw.removeprefix("\ufeff")
        yield number, raw, ""


def _check_and_sort(stream, spools, bad: _BadLines) -> None:
    for number, text, problem in _lines(stream):
        if problem:
            bad.add(number, "", problem)
            continue
        if not text.strip():
            continue
        try:
            data = json.loads(text.rstrip("\r\n"))
        except json.JSONDecodeError as error:
            bad.add(number, "", f"not valid JSON ({error.msg} at column {error.pos + 1})")
            continue
        except RecursionError:
            bad.add(number, "", "not valid JSON (nested too deeply)")
            continue
        if not isinstance(data, dict):
            bad.add(number, "", "not a JSON object")
            continue
        record_type = data.get("type")
        if record_type is None:
            bad.add(number, "", "type is missing")
            continue
        if not isinstance(record_type, str) or record_type not in CHECKS:
            bad.add(number, "", f"unknown type {json.dumps(record_type)}")
            continue
        fields = _Fields(data, CHECKS[record_type].fields)
        record = CHECKS[record_type].check(fields)
        if fields.problems:
            bad.add(number, record_type, fields.problems)
            for kind, key in CHECKS[record_type].keys(record):
                bad.remember(kind, key)
            continue
        spools[record_type].write(json.dumps([number, record], separators=(",", ":")) + "\n")


def _batches(spool) -> Iterator[list[tuple[int, dict]]]:
    spool.seek(0)
    batch = []
    for text in spool:
        batch.append(json.loads(text))
        if len(batch) == BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


class _Fields:
    """Reads one record's fields, noting what is wrong with each; values come back normalised
    to JSON types (GUIDs in canonical lower case, dates as ISO text), or None when bad."""

    def __init__(self, data: dict, allowed: frozenset[str]):
        self.data = data
        self.problems: list[str] = []
        for name in sorted(set(data) - allowed - {"type"}):
            self.problems.append(f"{name} is not a field of this record")

    def _value(self, name: str, required: bool):
        value = self.data.get(name)
        if value is None and required:
            self.problems.append(f"{name} is missing")
        return value

    def _bad(self, name: str, what: str) -> None:
        self.problems.append(f"{name} {what}")

    def text(self, name: str, max_length: int, required: bool = True) -> str | None:
        value = self._value(name, required)
        if value is None:
            return None if required else ""
        if not isinstance(value, str) or not value.strip():
            self._bad(name, "is not a non-empty string")
            return None
        if len(value.strip()) > max_length:
            self._bad(name, f"is longer than {max_length} characters")
            return None
        return value.strip()

    def digits(self, name: str, max_length: int = 20) -> str | None:
        value = self._value(name, True)
        if value is None:
            return None
        if not isinstance(value, str) or not DIGITS_RE.match(value) or len(value) > max_length:
            self._bad(name, f"is not a string of digits (at most {max_length})")
            return None
        return value

    def guid(self, name: str, required: bool = True) -> str | None:
        value = self._value(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not GUID_RE.match(value):
            self._bad(name, "is not a GUID")
            return None
        return str(uuid.UUID(value))

    def choice(self, name: str, choices) -> str | None:
        value = self._value(name, True)
        if value is None:
            return None
        if value not in choices:
            self._bad(name, "is not one of " + ", ".join(json.dumps(str(choice)) for choice in choices))
            return None
        return value

    def pattern(self, name: str, regex: re.Pattern, what: str, required: bool = True) -> str | None:
        value = self._value(name, required)
        if value is None:
            return None if required else ""
        if not isinstance(value, str) or not regex.match(value):
            self._bad(name, f"is not {what}")
            return None
        return value

    def country(self, name: str) -> str | None:
        return self.pattern(name, COUNTRY_RE, "an ISO 3166-1 country code (two capital letters)")

    def time_zone(self, name: str) -> str | None:
        value = self._value(name, True)
        if value is None:
            return None
        if not isinstance(value, str) or value not in _time_zones():
            self._bad(name, "is not an IANA time zone such as Europe/Paris")
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._value(name, True)
        if value is not None and not isinstance(value, bool):
            self._bad(name, "is not true or false")
            return None
        return value

    def date(self, name: str) -> str | None:
        value = self._value(name, True)
        if value is None:
            return None
        try:
            if not isinstance(value, str) or not DATE_RE.match(value):
                raise ValueError
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            self._bad(name, "is not an ISO date (YYYY-MM-DD)")
            return None

    def month(self, name: str) -> str | None:
        """A YYYY-MM month, as the ISO date of its first day."""
        value = self._value(name, True)
        if value is None:
            return None
        match = MONTH_RE.match(value) if isinstance(value, str) else None
        if not match or not 1 <= int(match[2]) <= 12:
            self._bad(name, "is not a month (YYYY-MM)")
            return None
        return datetime.date(int(match[1]), int(match[2]), 1).isoformat()

    def count(self, name: str) -> int | None:
        value = self._value(name, True)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
            self._bad(name, "is not a whole number of at least 0")
            return None
        return value

    def string_list(self, name: str, required: bool = True) -> list[str] | None:
        value = self._value(name, required)
        if value is None:
            return None if required else []
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            self._bad(name, "is not a list of non-empty strings")
            return None
        return list(dict.fromkeys(item.strip() for item in value))  # duplicates collapse, order kept


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _max_length(model: type[Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def is_domain_name(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(DOMAIN_LABEL_RE.match(label) for label in labels)


def normalise_email(value: str) -> str:
    """Addresses compare case-insensitively (as mail systems treat them in practice): stored lower-case."""
    return value.strip().lower()


def is_email_address(value: str) -> bool:
    if len(value) > MAX_EMAIL_LENGTH:
        return False
    try:
        EmailValidator()(value)
    except ValidationError:
        return False
    return True


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


# --- Pass 2: load, a batch at a time -----------------------------------------------------------


def _upsert(
    model: type[Model],
    rows: list[dict],
    key_fields: tuple[str, ...],
    candidates: Callable[[list[tuple]], Iterable[Model]] | None = None,
) -> tuple[list[str], dict]:
    """Create or update `rows` (attribute name -> value) by their key, in order.

    Returns each row's outcome ("created", "updated", "unchanged") and the saved model
    instances by key. Rows repeating a key apply one after the other, as they would across
    batches. `candidates(keys)` fetches the existing rows (a superset will do) when the key
    has more than one field.
    """
    if not rows:
        return [], {}

    def key_of(obj) -> tuple:
        return tuple(getattr(obj, name) for name in key_fields)

    def fetch(keys: list[tuple]) -> dict:
        if candidates is None:
            found = model.objects.filter(**{f"{key_fields[0]}__in": [key[0] for key in keys]})
        else:
            found = candidates(keys)
        wanted = set(keys)
        return {key_of(obj): obj for obj in found if key_of(obj) in wanted}

    keys = list(dict.fromkeys(tuple(row[name] for name in key_fields) for row in rows))
    existing = fetch(keys)
    created: dict[tuple, Model] = {}
    changed: dict[tuple, Model] = {}
    changed_fields: set[str] = set()
    outcomes = []
    for row in rows:
        key = tuple(row[name] for name in key_fields)
        obj = existing.get(key) or created.get(key)
        if obj is None:
            created[key] = model(**row)
            outcomes.append("created")
            continue
        differences = [name for name, value in row.items() if getattr(obj, name) != value]
        for name in differences:
            setattr(obj, name, row[name])
        if key not in created and differences:
            changed[key] = obj
            changed_fields.update(differences)
        outcomes.append("updated" if differences else "unchanged")
    model.objects.bulk_create(created.values())
    if changed:
        model.objects.bulk_update(changed.values(), sorted(changed_fields))
    if any(obj.pk is None for obj in created.values()):  # a backend that cannot return ids from a bulk insert
        created = fetch(list(created))
    return outcomes, {**existing, **created}


def _usage_candidates(keys: list[tuple]) -> Iterator[Usage]:
    """Usage rows with these (tenant, workload, month, subscription) keys, and others of the same
    tenants, workloads and months. A batch spans many tenants but few workloads and months: one
    condition per (workload, month), naming its tenants."""
    tenants: dict[tuple, set[int]] = {}
    for tenant_pk, workload, month, _ in keys:
        tenants.setdefault((workload, month), set()).add(tenant_pk)
    groups = list(tenants.items())
    for start in range(0, len(groups), COMPOSITE_LOOKUP_CHUNK):
        chunk = groups[start : start + COMPOSITE_LOOKUP_CHUNK]
        condition = functools.reduce(
            operator.or_, (Q(workload=workload, month=month, tenant_id__in=pks) for (workload, month), pks in chunk)
        )
        yield from Usage.objects.filter(condition)


def _legacy_candidates(keys: list[tuple]) -> Iterable[LegacyAssociation]:
    """Legacy associations of the tenants concerned: a tenant has few, so this superset is small."""
    return LegacyAssociation.objects.filter(tenant_id__in={tenant_pk for _, tenant_pk, _, _ in keys})


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


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
