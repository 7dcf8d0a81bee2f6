# ruff: noqa: F811 (the tests take the `world` fixture imported from test_usage)
"""Usage at a glance (issue 9, section 6): per customer and workload or product, monthly
active users against paid available units, drawn by the server beside the table."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims import usage_views
from claims.tests.test_usage import JAN, MAR, USAGE, usage, world  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def charts_of(page: str) -> list[str]:
    return re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="cpor-chart".*?</svg>', page, re.S)


def test_each_customer_and_workload_gets_a_chart_of_users_against_units(login, incentives_admin, world):
    page = login(incentives_admin).get(USAGE).content.decode()
    charts = charts_of(page)
    # Contoso's Exchange Online and Litware's Dynamics 365 Sales; not the ended, pending or other partner's.
    assert len(charts) == 2
    titles = re.findall(r"<title id=\"usage-chart-\d+-title\">(.*?)</title>", page)
    assert titles == [
        "Contoso, Exchange Online: monthly active users and paid available units",
        "Litware, Dynamics 365 Sales: monthly active users and paid available units",
    ]
    exchange = charts[0]
    assert exchange.count("<polyline") == 2  # one line each, three months
    assert "Monthly active users, 2026-03: 103" in exchange
    assert "Paid available units, 2026-01: 200" in exchange
    assert "999" not in page  # the other partner's customer
    assert 'data-testid="usage-table"' in page  # the numbers stay as a table


def test_the_caption_says_whether_adoption_rises_or_falls(login, incentives_admin, world):
    usage(world["litware"], "D365_SALES", datetime.date(2026, 4, 1), users=2, units=7)
    page = login(incentives_admin).get(USAGE).content.decode()
    assert re.findall(r'data-trend="(\w+)"', page) == ["rising", "falling"]
    assert "active users rising, 101 to 103" in page
    assert "active users falling, 5 to 2" in page


def test_the_charts_cost_no_query_of_their_own(login, incentives_admin, world, monkeypatch):
    client = login(incentives_admin)
    client.get(USAGE)
    with CaptureQueriesContext(connection) as with_charts:
        charted = client.get(USAGE)
    monkeypatch.setattr(usage_views, "MAX_CHARTS", 0)
    with CaptureQueriesContext(connection) as without_charts:
        client.get(USAGE)
    assert charted.context["charts"]
    assert len(with_charts) == len(without_charts)


def test_a_page_draws_at_most_a_bounded_number_of_charts():
    rows = [
        {
            "customer_tenant_id": f"t{number}",
            "customer_name": f"Customer {number}",
            "workload_name": "Exchange Online",
            "month": JAN,
            "monthly_active_users": number,
            "paid_available_units": 10,
        }
        for number in range(usage_views.MAX_CHARTS + 5)
    ]
    charts, left_out = usage_views.usage_charts(rows)
    assert len(charts) == usage_views.MAX_CHARTS
    assert left_out == 5


def test_a_month_without_figures_breaks_the_line_instead_of_drawing_zero():
    rows = [
        {
            "customer_tenant_id": "t",
            "customer_name": "C",
            "workload_name": "W",
            "month": month,
            "monthly_active_users": users,
            "paid_available_units": 10,
        }
        for month, users in ((JAN, 4), (MAR, 8))
    ] + [
        {
            "customer_tenant_id": "u",
            "customer_name": "D",
            "workload_name": "W",
            "month": datetime.date(2026, 2, 1),
            "monthly_active_users": 1,
            "paid_available_units": 1,
        }
    ]
    (first, _second), _ = usage_views.usage_charts(rows)
    assert first.svg.count("<circle") == 4  # two months each for users and units, none for February
    assert "2026-02: 0" not in first.svg


def test_the_charts_read_in_french(login, incentives_admin, world):
    incentives_admin.language = "fr"
    incentives_admin.save(update_fields=["language"])
    page = login(incentives_admin).get(USAGE).content.decode()
    assert "L’adoption en un coup d’œil" in page
    assert "utilisateurs actifs mensuels et unités payées disponibles" in page
    assert re.search(r"utilisateurs actifs (en hausse|en baisse|stables)", page)


def test_the_chart_text_is_escaped(login, incentives_admin, world):
    world["contoso"].name = "<script>alert(1)</script>"
    world["contoso"].save(update_fields=["name"])
    page = login(incentives_admin).get(USAGE).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_full_page_of_charts_leaves_the_usage_page_under_its_size_budget():
    # A page shows 50 rows: here 12 customers (the most that get a chart) over four or five
    # months each, with long names. The charts must leave the table room under 60 KiB.
    rows = [
        {
            "customer_tenant_id": f"t{number % usage_views.MAX_CHARTS}",
            "customer_name": f"Contoso Pharmaceuticals Europe {number % usage_views.MAX_CHARTS} GmbH",
            "workload_name": "Dynamics 365 Customer Service Enterprise",
            "month": datetime.date(2026, 1 + number // usage_views.MAX_CHARTS, 1),
            "monthly_active_users": 1000 + number,
            "paid_available_units": 2000,
        }
        for number in range(50)
    ]
    charts, left_out = usage_views.usage_charts(rows)
    assert len(charts) == usage_views.MAX_CHARTS and left_out == 0
    assert sum(len(chart.svg) for chart in charts) <= 30 * 1024
