"""The opt-out window: five business days, tenant-local, without the country's holidays."""

import datetime
from zoneinfo import ZoneInfo

from claims import deadlines

UTC = datetime.UTC


def deadline(start, time_zone="Europe/Paris", country="FR", subdivision=""):
    return deadlines.business_deadline(start, time_zone=time_zone, country=country, subdivision=subdivision)


def test_notified_on_a_tuesday_the_window_closes_next_tuesday_at_23_59_59_local():
    result = deadline(datetime.datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    assert result == datetime.datetime(2026, 12, 1, 23, 59, 59, tzinfo=ZoneInfo("Europe/Paris"))


def test_weekends_do_not_count():
    friday = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert deadline(friday).date() == datetime.date(2026, 12, 4)


def test_public_holidays_of_the_country_do_not_count():
    # Christmas Day is a holiday in France: 22, 23, 24, 28 and 29 December.
    monday = datetime.datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
    assert deadline(monday).date() == datetime.date(2026, 12, 29)


def test_holidays_of_the_subdivision_count_too():
    # Epiphany (6 January) is a holiday in Bavaria, not in Berlin.
    monday = datetime.datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
    bavaria = deadline(monday, "Europe/Berlin", "DE", "BY")
    berlin = deadline(monday, "Europe/Berlin", "DE", "BE")
    assert (berlin.date(), bavaria.date()) == (datetime.date(2027, 1, 11), datetime.date(2027, 1, 12))


def test_the_countrys_own_weekend_applies():
    # Saudi Arabia's weekend is Friday and Saturday; Sunday 29 November is a working day.
    thursday = datetime.datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert deadline(thursday, "Asia/Riyadh", "SA").date() == datetime.date(2026, 12, 3)


def test_the_notification_day_is_the_tenants_local_day():
    # 23:30 UTC on Monday is already Tuesday in Tokyo.
    late_monday = datetime.datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    tokyo = deadline(late_monday, "Asia/Tokyo", "JP")
    assert tokyo.date() == datetime.date(2026, 12, 1)
    assert tokyo.utcoffset() == datetime.timedelta(hours=9)


def test_an_unknown_country_or_subdivision_falls_back_to_a_plain_week():
    tuesday = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert deadline(tuesday, "UTC", "ZZ").date() == datetime.date(2026, 12, 1)
    assert deadline(tuesday, "Europe/Berlin", "DE", "ZZ").date() == datetime.date(2026, 12, 1)


def test_the_deadline_is_the_same_for_every_caller():
    start = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert deadline(start) == deadline(start)
