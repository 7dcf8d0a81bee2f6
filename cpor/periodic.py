"""The periodic jobs: each app registers its own in its `ready()`, and this module runs them.

`cpor` is the bottom layer, so it knows no job by name: the claims app registers the
validation of claims left in Submitted, the approval timer, the subscription checks and the
customer notice retries; the notifications app registers its own retries. Celery beat runs
each job as its own entry (`cpor.celery`), and `manage.py run_periodic_jobs` runs one pass of
all of them, in registration order, for operators and tests.

Only one run of a job at a time: each run holds a PostgreSQL advisory lock keyed by the job's
name, and a run that finds it taken returns at once (`SKIPPED`). A job that fails is logged
and the pass goes on with the next one; inside a job, a claim that fails is logged with its
ID and the job goes on with the next claim.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from celery import shared_task
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[..., int]
    # Jobs that compare deadlines with the clock take `now`, so that an operator can move
    # past a deadline without waiting; the others always use the real clock.
    uses_clock: bool = False

    def __call__(self, *, now: datetime.datetime | None = None) -> int:
        return self.run(now=now) if self.uses_clock else self.run()


_jobs: dict[str, PeriodicJob] = {}


def periodic_job_register(name: str, run: Callable[..., int], *, uses_clock: bool = False) -> None:
    """Register a job under a stable name (registering the same name again replaces it)."""
    _jobs[name] = PeriodicJob(name=name, run=run, uses_clock=uses_clock)


def periodic_jobs() -> list[PeriodicJob]:
    return list(_jobs.values())


def each_on_its_own(ids: Iterable[int], step: Callable[[int], int], *, failure: str, log: logging.Logger) -> int:
    """Inside a job: run `step` on each ID and add up what it returns (a count, or whether it
    did something). An ID whose step raises is logged on `log` with `failure` (its `%s` the
    ID) and the others still run; the next pass tries it again."""
    done = 0
    for pk in ids:
        try:
            done += step(pk)
        except Exception:
            log.exception(failure, pk)
    return done


SKIPPED = "skipped: another run in progress"
FAILED = "failed: see the log"


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per job name (Python's hash() changes between processes).
    digest = hashlib.blake2b(f"cpor.periodic:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def _job_lock(name: str) -> Iterator[bool]:
    """Whether this run holds the job's lock. A session-level PostgreSQL advisory lock, so a
    worker that dies releases it with its connection. SQLite serialises writers anyway, and
    runs a single local process: there the lock is always granted."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = _lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:
                # The session is unusable: closing it is what releases the lock.
                logger.exception("Could not release the lock of periodic job %s; closing the connection.", name)
                if not connection.in_atomic_block:
                    connection.close()


def periodic_job_run(name: str, *, now: datetime.datetime | None = None) -> int | str:
    """Run one job, unless another run of it is in progress (then `SKIPPED`, at once).
    Returns what the job did (a count), or `FAILED` when the job itself raised: the error
    is logged, never raised, so that the other jobs of the pass still run."""
    job = _jobs[name]
    with _job_lock(name) as acquired:
        if not acquired:
            logger.info("Periodic job %s %s.", name, SKIPPED)
            return SKIPPED
        try:
            return job(now=now)
        except Exception:
            logger.exception("Periodic job %s failed.", name)
            return FAILED


def periodic_jobs_run(*, now: datetime.datetime | None = None) -> dict[str, int | str]:
    """One pass of every registered job; each is idempotent, and each runs one at a time."""
    return {job.name: periodic_job_run(job.name, now=now) for job in periodic_jobs()}


@shared_task(name="cpor.run_periodic_job")
def run_periodic_job(name: str) -> int | str:
    """The beat entry of one job: a job that is gone since the schedule was written is skipped."""
    if name not in _jobs:
        logger.warning("No periodic job is registered as %r; skipped.", name)
        return 0
    return periodic_job_run(name)
