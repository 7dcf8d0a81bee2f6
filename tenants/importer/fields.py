"""Parsing one record's fields: each field's rule, and the messages of a bad line."""

from __future__ import annotations

import datetime
import functools
import json
import re
import uuid
import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db.models import Model

# Types in the order they load: each refers only to types before it.
from .limits import COUNTRY_RE, DATE_RE, DIGITS_RE, DOMAIN_LABEL_RE, GUID_RE, MAX_COUNT, MAX_EMAIL_LENGTH, MONTH_RE


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
