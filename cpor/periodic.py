"""The periodic jobs: each app registers its own in its `ready()`, and this module runs them.

`cpor` is the bottom layer, so it knows no job by name: the claims app registers the
validation of claims left in Submitted, the approval timer, the subscription checks and the
customer notice retries; the notifications app registers its own retries. Celery beat runs
each job as its own entry (`cpor.celery`), and `manage.py run_periodic_jobs` runs one pass of
all of them, in registration order, for operators and tests.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task

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


def periodic_jobs_run(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """One pass of every registered job; each is idempotent, so overlapping passes are harmless."""
    return {job.name: job(now=now) for job in periodic_jobs()}


@shared_task(name="cpor.run_periodic_job")
def run_periodic_job(name: str) -> int:
    """The beat entry of one job: a job that is gone since the schedule was written is skipped."""
    job = _jobs.get(name)
    if job is None:
        logger.warning("No periodic job is registered as %r; skipped.", name)
        return 0
    return job()
