"""The feed's limits and the patterns its fields must match."""

from __future__ import annotations

import re

from ..models import (
    SolutionArea,
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
