"""The generic upsert: insert what is new, update what changed, a batch at a time."""

from __future__ import annotations

import datetime
import functools
import operator
import uuid
from collections.abc import Callable, Iterable, Iterator

from django.db.models import Model, Q

from ..models import (
    LegacyAssociation,
    Usage,
)

# Types in the order they load: each refers only to types before it.
from .limits import COMPOSITE_LOOKUP_CHUNK

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
