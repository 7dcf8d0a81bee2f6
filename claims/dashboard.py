"""The reviewers' dashboard (issue 9, section 5): what waits on the desk now, and the last
twelve weeks' median time from submission to decision and share of customers who opted out.

Every figure is an aggregate query: a fixed number of queries whatever the number of claims.
"""

from __future__ import annotations

import datetime
import statistics
from dataclasses import dataclass

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from cpor.charts import Series, line_chart

from .models import REVIEW_STATUSES, Claim, ClaimItem, ClaimStatus, ItemOutcome
from .selectors.review import require_reviewer

WEEKS = 12

# The statuses waiting on someone at the vendor, in the order the dashboard lists them. The
# Disputed status (a rejection the partner disputes) counts when the lifecycle has it.
WAITING_STATUSES = (ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW, ClaimStatus.ACTION_REQUIRED)
DISPUTED = "disputed"


class Median(Aggregate):
    """The median of a duration (PostgreSQL's percentile_cont)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


@dataclass(frozen=True)
class DeskFigures:
    waiting: list[tuple[str, int]]  # (status label, claims)
    overdue: int
    in_arbitration: int
    disputes_waiting: int


@dataclass(frozen=True)
class Week:
    start: datetime.date
    decided: int
    median_days: float | None  # submission to decision, in days; None when nothing was decided
    notified: int  # customers emailed that week
    opted_out: int  # of those, how many opted out

    @property
    def opt_out_share(self) -> float | None:
        return self.opted_out / self.notified if self.notified else None

    @property
    def opt_out_percent(self) -> float | None:
        share = self.opt_out_share
        return None if share is None else round(share * 100, 1)


def _has_disputes() -> bool:
    return DISPUTED in ClaimStatus.values


def desk_figures(*, reviewer, now: datetime.datetime | None = None) -> DeskFigures:
    """Two queries: the claims by status, overdue and disputed in one; the items in
    arbitration (item and programme with a contested claim under review) in the other."""
    require_reviewer(reviewer)
    now = now or timezone.now()
    counts = {
        status: Count("pk", filter=Q(status=status))
        for status in (*WAITING_STATUSES, *((DISPUTED,) if _has_disputes() else ()))
    }
    figures = Claim.objects.aggregate(
        **counts, overdue=Count("pk", filter=Q(status__in=REVIEW_STATUSES, review_due_at__lt=now))
    )
    in_arbitration = (
        ClaimItem.objects.filter(outcome=ItemOutcome.CONTESTED, claim__status__in=REVIEW_STATUSES)
        .values("item_key", "program")
        .distinct()
        .count()
    )
    waiting = [(str(ClaimStatus(status).label), figures[status]) for status in WAITING_STATUSES]
    disputes = figures.get(DISPUTED, 0) if _has_disputes() else 0
    if _has_disputes():
        waiting.append((str(ClaimStatus(DISPUTED).label), disputes))
    return DeskFigures(
        waiting=waiting, overdue=figures["overdue"], in_arbitration=in_arbitration, disputes_waiting=disputes
    )


def _week_start(moment: datetime.datetime) -> datetime.date:
    day = timezone.localtime(moment, datetime.UTC).date()
    return day - datetime.timedelta(days=day.weekday())


def weekly_figures(*, reviewer, now: datetime.datetime | None = None) -> list[Week]:
    """The last twelve weeks (Monday to Sunday, UTC), the current one last: claims decided
    (approved, rejected or opted out) each week and their median time from submission, and
    customers emailed each week and how many of them opted out. Three queries."""
    require_reviewer(reviewer)
    now = now or timezone.now()
    first = _week_start(now) - datetime.timedelta(weeks=WEEKS - 1)
    since = datetime.datetime.combine(first, datetime.time.min, tzinfo=datetime.UTC)
    decided = Claim.objects.filter(decided_at__gte=since, submitted_at__isnull=False).annotate(
        week=TruncWeek("decided_at", tzinfo=datetime.UTC)
    )
    medians: dict[datetime.date, float | None] = {}
    decided_counts: dict[datetime.date, int] = {}
    if connection.vendor == "postgresql":
        for row in decided.values("week").annotate(
            claims=Count("pk"), median=Median(F("decided_at") - F("submitted_at"))
        ):
            week = row["week"].date() if isinstance(row["week"], datetime.datetime) else row["week"]
            decided_counts[week] = row["claims"]
            medians[week] = row["median"].total_seconds() / 86400 if row["median"] is not None else None
    else:
        # SQLite (make run without PostgreSQL) has no percentile: the durations in Python.
        durations: dict[datetime.date, list[float]] = {}
        for decided_at, submitted_at in decided.values_list("decided_at", "submitted_at"):
            durations.setdefault(_week_start(decided_at), []).append((decided_at - submitted_at).total_seconds())
        for week, values in durations.items():
            decided_counts[week] = len(values)
            medians[week] = statistics.median(values) / 86400
    notified = {}
    for row in (
        Claim.objects.filter(notified_at__gte=since)
        .annotate(week=TruncWeek("notified_at", tzinfo=datetime.UTC))
        .values("week")
        .annotate(claims=Count("pk"), opted_out=Count("pk", filter=Q(status=ClaimStatus.OPTED_OUT)))
    ):
        week = row["week"].date() if isinstance(row["week"], datetime.datetime) else row["week"]
        notified[week] = (row["claims"], row["opted_out"])
    weeks = []
    for offset in range(WEEKS):
        start = first + datetime.timedelta(weeks=offset)
        median = medians.get(start)
        emailed, opted_out = notified.get(start, (0, 0))
        weeks.append(
            Week(
                start=start,
                decided=decided_counts.get(start, 0),
                median_days=round(median, 1) if median is not None else None,
                notified=emailed,
                opted_out=opted_out,
            )
        )
    return weeks


def _week_labels(weeks: list[Week]) -> list[str]:
    return [week.start.strftime("%d/%m") for week in weeks]


def decision_time_chart(weeks: list[Week]):
    return line_chart(
        chart_id="chart-decision-time",
        title=_("Median days from submission to decision, by week"),
        description=_("Last %(weeks)s weeks, the current one last; the same figures are in the table below.")
        % {"weeks": len(weeks)},
        labels=_week_labels(weeks),
        series=[Series(_("Median days to decision"), [week.median_days for week in weeks])],
    )


def opt_out_share_chart(weeks: list[Week]):
    return line_chart(
        chart_id="chart-opt-out-share",
        title=_("Share of notified customers who opted out, by week"),
        description=_("Last %(weeks)s weeks, the current one last; the same figures are in the table below.")
        % {"weeks": len(weeks)},
        labels=_week_labels(weeks),
        series=[Series(_("Opted out (%)"), [week.opt_out_percent for week in weeks])],
        value_format=lambda value: f"{value:g} %",
        y_max=100,
    )
