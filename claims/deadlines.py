"""Business-day deadlines (PRODUCT.md section 5, step 3): pure functions, no database.

Business days are Monday to Friday, or the country's own working week where it differs,
without the public holidays of the tenant's country and subdivision. Notified on day D,
the opt-out window closes at 23:59:59 tenant-local time on the fifth business day after D.
"""

import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WINDOW_BUSINESS_DAYS = 5
DEFAULT_WEEKEND = frozenset({5, 6})  # Saturday, Sunday


@lru_cache(maxsize=256)
def _calendar(country: str, subdivision: str, year: int):
    """The holiday calendar of a country (and subdivision) for a year, or None if unknown."""
    # An unknown subdivision falls back to the national calendar; an unknown country to
    # a Monday-to-Friday week without holidays.
    for subdiv in dict.fromkeys((subdivision or None, None)):
        try:
            return holidays.country_holidays(country, subdiv=subdiv, years=year)
        except NotImplementedError:
            continue
    return None


def is_business_day(day: datetime.date, *, country: str, subdivision: str = "") -> bool:
    calendar = _calendar(country.upper(), (subdivision or "").upper(), day.year)
    weekend = frozenset(calendar.weekend) if calendar is not None else DEFAULT_WEEKEND
    if day.weekday() in weekend:
        return False
    return calendar is None or day not in calendar


def add_business_days(day: datetime.date, count: int, *, country: str, subdivision: str = "") -> datetime.date:
    """The `count`-th business day after `day` (never `day` itself)."""
    remaining = count
    while remaining:
        day += datetime.timedelta(days=1)
        if is_business_day(day, country=country, subdivision=subdivision):
            remaining -= 1
    return day


def business_deadline(
    start: datetime.datetime, *, time_zone: str, country: str, subdivision: str = "", days: int = WINDOW_BUSINESS_DAYS
) -> datetime.datetime:
    """23:59:59 tenant-local on the `days`-th business day after the local day of `start`."""
    zone = ZoneInfo(time_zone)
    local_day = start.astimezone(zone).date()
    last_day = add_business_days(local_day, days, country=country, subdivision=subdivision)
    return datetime.datetime.combine(last_day, datetime.time(23, 59, 59), tzinfo=zone)


def opt_out_deadline(notified_at: datetime.datetime, *, tenant) -> datetime.datetime:
    return business_deadline(
        notified_at, time_zone=tenant.time_zone, country=tenant.country, subdivision=tenant.subdivision
    )


RESPONSE_BUSINESS_DAYS = 14
DISPUTE_ANSWER_BUSINESS_DAYS = 5
# Reminders of an answer due: this many business days before the deadline's day.
RESPONSE_REMINDER_DAYS = (7, 2)


def subtract_business_days(day: datetime.date, count: int, *, country: str, subdivision: str = "") -> datetime.date:
    """The `count`-th business day before `day` (never `day` itself)."""
    remaining = count
    while remaining:
        day -= datetime.timedelta(days=1)
        if is_business_day(day, country=country, subdivision=subdivision):
            remaining -= 1
    return day


def partner_deadline(start: datetime.datetime, *, partner, days: int, time_zone: str) -> datetime.datetime:
    """A deadline the partner must meet, in business days of the partner's country (holidays
    included), closing at 23:59:59 in `time_zone` (the customer tenant's, as the claim's
    other dates)."""
    return business_deadline(start, time_zone=time_zone, country=partner.country, days=days)


def reminder_moment(deadline: datetime.datetime, *, partner, days_before: int, time_zone: str) -> datetime.datetime:
    """When the reminder `days_before` business days before `deadline` is due: the start
    (00:00 in `time_zone`) of that business day."""
    zone = ZoneInfo(time_zone)
    day = subtract_business_days(deadline.astimezone(zone).date(), days_before, country=partner.country)
    return datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=zone)
