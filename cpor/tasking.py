"""Follow-up work done by the task that caused it, rather than by another task each.

A claim's validation used to cost four tasks: the validation, its customer notices and one
partner notification per event. Each task costs the worker a broker round trip, an
acknowledgement and its own connection checks, about as much as the small job it does. So a
task that opts in (`with followups_here():` around its body) runs the follow-ups of what it
committed (the customer notices of the claim it validated, the partner emails of the events
it recorded) itself before it ends; the same follow-ups from anywhere else (a web request, a
command, a periodic pass, a test) are queued as before.

At most `IN_PROCESS_MAX` follow-ups run in the task; any more are queued, so that a task
touching many claims never turns into a long chain of emails; follow-ups of one kind handed
over together (`followup_each`: the notices of claims validated in one set) are queued in a
few tasks, not one each. Nothing is lost if the process dies meanwhile: every follow-up is
written down before it is handed here (an outbox row, an event the notification catch-up
reads), and the periodic jobs send what was left.
"""

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

logger = logging.getLogger(__name__)

IN_PROCESS_MAX = 5

K = TypeVar("K")
T = TypeVar("T")

_local = threading.local()


def followup(*, run_here: Callable[[], object], queue: Callable[[], object]) -> None:
    """Call after commit: inside `followups_here()`, `run_here` before it ends (or `queue`
    past `IN_PROCESS_MAX`); anywhere else, `queue` now."""
    followup_each([None], run_here=lambda _key: run_here(), queue=lambda _keys: queue())


def followup_each(keys: Sequence[K], *, run_here: Callable[[K], object], queue: Callable[[list[K]], object]) -> None:
    """`followup` for many of the same kind at once (the emails of claims validated
    together): inside `followups_here()`, `run_here(key)` for each key within
    `IN_PROCESS_MAX`, then `queue` once with the keys left, which it may hand to a few
    tasks rather than one a key; anywhere else, `queue` with every key now."""
    keys = list(keys)
    if not keys:
        return
    pending = getattr(_local, "pending", None)
    if pending is None:
        queue(keys)
    else:
        pending.append((keys, run_here, queue))


@contextmanager
def followups_here() -> Iterator[None]:
    """Run the follow-ups handed to `followup` inside the block when it ends, in this process."""
    if getattr(_local, "pending", None) is not None:  # nested: the outer block runs them
        yield
        return
    _local.pending = pending = []
    try:
        yield
    finally:
        ran = 0
        try:
            # A follow-up may hand over more (an email that records an event): until none is left.
            while pending:
                keys, run_here, queue = pending.pop(0)
                room = max(IN_PROCESS_MAX - ran, 0)
                here, rest = keys[:room], keys[room:]
                for key in here:
                    ran += 1
                    _logged(run_here, key)
                if rest:
                    _logged(queue, rest)
        finally:
            _local.pending = None


def _logged(call: Callable[[T], object], argument: T) -> None:
    try:
        call(argument)
    except Exception:  # the row stays unsent, or the event unhandled: the periodic job retries
        logger.exception("A follow-up failed; the periodic job will take it up.")
