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

The package, a module a concern: `lines` reads the lines (pass 1), `fields` parses one
record's fields, `schema` says what each record type holds, `upsert` is the generic
insert-or-update, `loader` loads each type (pass 2), `report` is what the caller gets.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from contextlib import ExitStack

from django.db import connection, transaction

from .limits import MAX_LINE_BYTES, MAX_LISTED, RECORD_TYPES, SPOOL_IN_MEMORY_BYTES
from .lines import _batches, _check_and_sort
from .loader import _Loader
from .report import BadLine, FeedRejected, ImportReport, TypeCounts, _BadLines

__all__ = ["BadLine", "FeedRejected", "ImportReport", "MAX_LINE_BYTES", "MAX_LISTED", "TypeCounts", "directory_import"]


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
