"""Pass 1: read the lines, check each on its own, sort them by record type into spools."""

from __future__ import annotations

import json
from collections.abc import Iterator

from .fields import _Fields

# Types in the order they load: each refers only to types before it.
from .limits import BATCH_SIZE, MAX_LINE_BYTES
from .report import _BadLines
from .schema import CHECKS

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
