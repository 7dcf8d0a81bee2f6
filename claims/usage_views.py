"""Usage data of approved associations and legacy associations to re-associate, mounted at
/incentives/usage/ (namespace "claims"). Every role of the partner may read them."""

import html
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from cpor import access
from cpor.access import VIEW_USAGE, partner_required
from cpor.charts import Series, line_chart
from cpor.csvfiles import csv_download, csv_line_writer, safe_cell

from . import presentation, selectors, usage
from .forms import UsageFilterForm
from .views import incentives_breadcrumbs

CSV_HEADER = (
    "CustomerTenantId",
    "CustomerName",
    "WorkloadName",
    "MonthlyActiveUsers",
    "PaidAvailableUnits",
    "ClaimId",
    "MpnId",
    "DateAssociated",
    "PartnerAttributionType",
    "Date",
)


def _claim_filter(request):
    """?claim=<id>: one of the partner's claims; anyone else's (or a missing one) is a 404."""
    raw = request.GET.get("claim", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):  # "¹" is a digit to str.isdigit, not to int()
        raise Http404
    return selectors.claim_get_for_user(request.user, int(raw))


def _filtered(request):
    claim = _claim_filter(request)
    form = UsageFilterForm(request.GET or None, user=request.user)
    return form, claim, usage.usage_rows_visible_to(request.user, form.filters(claim))


# At most this many charts on a page: the page shows 50 rows, and a chart per row would bury
# the table; the table still has every row.
MAX_CHARTS = 12


@dataclass(frozen=True)
class UsageChart:
    customer: str
    workload: str
    svg: str
    first_users: int | None
    last_users: int | None

    @property
    def trend(self) -> str:
        if self.first_users is None or self.last_users is None or self.first_users == self.last_users:
            return "flat"
        return "rising" if self.last_users > self.first_users else "falling"

    @property
    def summary(self) -> str:
        """The trend in words, beside the chart's caption."""
        figures = {"first": self.first_users, "last": self.last_users}
        if self.trend == "rising":
            return _("active users rising, %(first)s to %(last)s") % figures
        if self.trend == "falling":
            return _("active users falling, %(first)s to %(last)s") % figures
        return _("active users steady")


# One chart of the page, with its caption: written here for the reason the table's rows are
# (_USAGE_ROW). The SVG is line_chart's, escaped there; every other value is escaped here.
_CHART = (
    '<div class="col"><figure class="card card-body h-100 mb-0 usage-chart" data-trend="{trend}">'
    '<figcaption class="fw-semibold mb-1">{customer} · {workload} '
    '<span class="small text-body-secondary fw-normal">— {summary}</span></figcaption>{svg}</figure></div>'
)


def charts_html(charts: list[UsageChart]) -> SafeString:
    return mark_safe(  # noqa: S308 (every value below is escaped, the SVG by line_chart)
        "".join(
            _CHART.format(
                trend=chart.trend,
                customer=html.escape(chart.customer),
                workload=html.escape(chart.workload),
                summary=html.escape(chart.summary),
                svg=chart.svg,
            )
            for chart in charts
        )
    )


def usage_charts(rows) -> tuple[list[UsageChart], int]:
    """One chart per customer and workload or product among the rows shown, oldest month
    first: monthly active users against paid available units, over the months the page
    shows. Returns the charts (at most MAX_CHARTS) and how many were left out."""
    months = sorted({row["month"] for row in rows})
    groups: dict[tuple, dict] = {}
    for row in rows:
        key = (row["customer_tenant_id"], row["workload_name"])
        group = groups.setdefault(key, {"customer": row["customer_name"], "users": {}, "units": {}})
        # A workload claimed for two programmes appears twice with the same figures.
        group["users"][row["month"]] = row["monthly_active_users"]
        group["units"][row["month"]] = row["paid_available_units"]
    labels = [month.strftime("%Y-%m") for month in months]
    # What every chart says alike, translated once a page rather than once a chart.
    title = _("%(customer)s, %(workload)s: monthly active users and paid available units")
    description = (
        _("From %(first)s to %(last)s; the figures are in the table.") % {"first": labels[0], "last": labels[-1]}
        if labels
        else ""
    )
    users_name, units_name = _("Monthly active users"), _("Paid available units")
    charts = []
    for number, ((_tenant, workload), group) in enumerate(list(groups.items())[:MAX_CHARTS]):
        users = [group["users"].get(month) for month in months]
        known = [value for value in users if value is not None]
        charts.append(
            UsageChart(
                customer=group["customer"],
                workload=workload,
                svg=line_chart(
                    chart_id=f"usage-chart-{number}",
                    title=title % {"customer": group["customer"], "workload": workload},
                    description=description,
                    labels=labels,
                    series=[
                        Series(users_name, users),
                        Series(units_name, [group["units"].get(month) for month in months]),
                    ],
                ),
                first_users=known[0] if known else None,
                last_users=known[-1] if known else None,
            )
        )
    return charts, max(0, len(groups) - MAX_CHARTS)


# One row of the usage table. Written here rather than in the template, as the Customer
# associations list's (claims/views.py): fifty rows of ten values, a claim link and a date
# were most of the page's rendering time. Every value is escaped before it goes in.
_USAGE_ROW = (
    '<tr><td>{month}</td><td><a href="?tenant={tenant}">{customer}</a></td><td><code>{tenant}</code></td>'
    '<td>{workload}</td><td class="text-end">{users}</td><td class="text-end">{units}</td>'
    '<td><a href="{claim_url}{claim}/">#{claim}</a></td><td>{mpn}</td><td>{associated}</td><td>{attribution}</td></tr>'
)


def usage_table_rows(rows) -> SafeString:
    """The table's rows, in the request's language: what they share (the claim page's URL,
    the Revenue association label, each day's date) worked out once a page."""
    claim_url = html.escape(presentation.claim_url_prefix())
    revenue = html.escape(_("Revenue association"))
    associated_on = presentation.ShortDates()
    cells = []
    for row in rows:
        month, attribution = row["month"], row["attribution"]
        cells.append(
            _USAGE_ROW.format(
                month=f"{month.year:04d}-{month.month:02d}",
                tenant=html.escape(str(row["customer_tenant_id"])),
                customer=html.escape(str(row["customer_name"])),
                workload=html.escape(str(row["workload_name"])),
                users=int(row["monthly_active_users"]),
                units=int(row["paid_available_units"]),
                claim_url=claim_url,
                claim=int(row["claim_number"]),
                mpn=html.escape(str(row["mpn_id"])),
                associated=associated_on(row["date_associated"]),
                attribution=revenue if attribution == usage.REVENUE_ATTRIBUTION else html.escape(attribution),
            )
        )
    return mark_safe("".join(cells))  # noqa: S308 (every value above is escaped or a number)


@partner_required(VIEW_USAGE)
def usage_list(request):
    """Usage data: each approved item's monthly usage, filtered by customer, months and claim."""
    form, claim, rows = _filtered(request)
    page = selectors.uncounted_page(rows, request.GET.get("page"))
    params = {key: value for key, value in request.GET.items() if value and key not in ("page", "filter")}
    charts, charts_left_out = usage_charts(page.object_list)
    rows = [{**row, "attribution": usage.attribution_type(row["attribution"])} for row in page.object_list]
    return render(
        request,
        "claims/usage.html",
        {
            "nav": "incentives",
            "breadcrumbs": incentives_breadcrumbs((_("Usage"), None)),
            "form": form,
            "filter_fields": [form["tenant"], form["month_from"], form["month_to"]],
            "claim": claim,
            "page": page,
            "rows": rows,
            "usage_table_rows": usage_table_rows(rows),
            "charts": charts,
            "charts_html": charts_html(charts),
            "charts_left_out": charts_left_out,
            "page_query": urlencode(params),
            "csv_url": f"{reverse('claims:usage_csv')}?{urlencode(params)}",
        },
    )


def _csv_lines(rows):
    writer = csv_line_writer()
    yield writer.writerow(CSV_HEADER)
    for row in rows.iterator(chunk_size=2000):
        associated = row["date_associated"]
        yield writer.writerow(
            (
                row["customer_tenant_id"],
                safe_cell(row["customer_name"]),
                safe_cell(row["workload_name"]),
                row["monthly_active_users"],
                row["paid_available_units"],
                row["claim_number"],
                row["mpn_id"],
                timezone.localtime(associated).date().isoformat() if associated else "",
                usage.attribution_type(row["attribution"]),
                row["month"].isoformat(),
            )
        )


@partner_required(VIEW_USAGE)
def usage_csv(request):
    """The same rows as the page, every one of them, streamed as CSV."""
    _form, _claim, rows = _filtered(request)
    return csv_download(_csv_lines(rows), f"usage-{timezone.localdate():%Y%m%d}.csv")


def reassociate_url(association) -> str:
    """The claim wizard's first page, filled in with the legacy association's MPN ID, the
    tenant's first verified domain and its Directory ID (the field names the page reads)."""
    domain = next(iter(association.tenant.domains.all()), None)
    query = {
        "mpn": association.mpn_id,
        "domain": domain.name if domain else "",
        "tenant_id": association.tenant.tenant_id,
    }
    return f"{reverse('claims:new')}?{urlencode(query)}"


@partner_required(VIEW_USAGE)
def reassociate(request):
    """Legacy associations: Microsoft 365 ones must be re-associated through a claim;
    Dynamics 365 and Power BI ones stay valid until their subscription expires."""
    can_file = access.can_file_claims(request.user)
    to_reassociate = [
        (association, reassociate_url(association) if can_file else "")
        for association in usage.legacy_m365_to_reassociate(request.user)
    ]
    return render(
        request,
        "claims/reassociate.html",
        {
            "nav": "incentives",
            "breadcrumbs": incentives_breadcrumbs((_("Legacy associations"), None)),
            "to_reassociate": to_reassociate,
            "still_valid": usage.legacy_subscriptions_valid(request.user),
            "can_file": can_file,
        },
    )
