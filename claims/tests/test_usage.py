"""Usage data of approved associations (issue 4 item 6) and legacy associations to
re-associate (PRODUCT.md section 5 step 8): the partner's own approved items only."""

import csv
import datetime
import io
import json
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from claims import selectors
from claims.models import Activity, ClaimItem, ItemOutcome
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory, WorkloadItemFactory
from claims.tests.test_review import make_reviewer, put_approved, put_under_review
from claims.usage import UsageRows, usage_rows_visible_to
from claims.usage_views import CSV_HEADER
from cpor.models import Program, Role
from cpor.tests.factories import MpnIdFactory, partner_user
from tenants.importer import directory_import
from tenants.models import LegacyAssociation, Subscription, Tenant, Usage
from tenants.tests.factories import ProductFactory, SubscriptionFactory, TenantFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

USAGE = reverse("claims:usage")
USAGE_CSV = reverse("claims:usage_csv")
REASSOCIATE = reverse("claims:reassociate")
JAN, FEB, MAR = datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)
DECIDED = datetime.datetime(2026, 1, 15, 10, 0, tzinfo=datetime.UTC)


def usage(tenant, workload, month, users=10, units=20):
    return Usage.objects.create(
        tenant=tenant, workload=workload, month=month, monthly_active_users=users, paid_available_units=units
    )


@pytest.fixture
def world(partner, other_partner):
    """Fabrikam holds Exchange Online at Contoso (approved), claims Teams there (still under
    review), held SharePoint (ended) and holds a Dynamics 365 Sales subscription at Litware
    (approved, OSU-BizApps). Northwind holds Exchange Online at Adatum. Usage exists for all."""
    contoso = TenantFactory(name="Contoso", domains=["contoso.onmicrosoft.com"])
    litware = TenantFactory(name="Litware", domains=["litware.com"])
    adatum = TenantFactory(name="Adatum", domains=["adatum.com"])
    mpn = MpnIdFactory(partner=partner, mpn_id="1234567")

    m365 = ClaimFactory(mpn=mpn, tenant=contoso, solution_area="Microsoft 365", activity=Activity.USAGE)
    exchange = WorkloadItemFactory(
        claim=m365, workload=WorkloadFactory(name="Exchange Online"), outcome=ItemOutcome.APPROVED, decided_at=DECIDED
    )
    WorkloadItemFactory(
        claim=m365, workload=WorkloadFactory(name="SharePoint Online"), outcome=ItemOutcome.ENDED, decided_at=DECIDED
    )
    put_approved(m365)
    pending = ClaimFactory(mpn=mpn, tenant=contoso, solution_area="Microsoft 365", activity=Activity.USAGE)
    WorkloadItemFactory(claim=pending, workload=WorkloadFactory(name="Microsoft Teams"))
    put_under_review(pending)

    sales = ProductFactory(code="D365_SALES", name="Dynamics 365 Sales")
    bizapps = ClaimFactory(mpn=mpn, tenant=litware)
    sales_item = SubscriptionItemFactory(
        claim=bizapps,
        subscription=SubscriptionFactory(tenant=litware, product=sales),
        outcome=ItemOutcome.APPROVED,
        decided_at=DECIDED,
    )
    put_approved(bizapps)

    theirs = ClaimFactory(mpn__partner=other_partner, tenant=adatum, solution_area="Microsoft 365")
    WorkloadItemFactory(
        claim=theirs, workload=WorkloadFactory(name="Exchange Online"), outcome=ItemOutcome.APPROVED, decided_at=DECIDED
    )
    put_approved(theirs)

    for month in (JAN, FEB, MAR):
        usage(contoso, "Exchange Online", month, users=100 + month.month, units=200)
        usage(contoso, "SharePoint Online", month)
        usage(contoso, "Microsoft Teams", month)
        usage(litware, "D365_SALES", month, users=5, units=7)
        usage(adatum, "Exchange Online", month, users=999)
    return {
        "m365": m365,
        "exchange": exchange,
        "pending": pending,
        "bizapps": bizapps,
        "sales_item": sales_item,
        "theirs": theirs,
        "contoso": contoso,
        "litware": litware,
        "mpn": mpn,
    }


def csv_rows(response):
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_csv_has_exactly_the_documented_columns(login, incentives_admin, world):
    text = b"".join(login(incentives_admin).get(USAGE_CSV).streaming_content).decode()

    # The documented header, as the file's first line: the columns, their order and nothing else.
    assert text.splitlines()[0] == (
        "CustomerTenantId,CustomerName,WorkloadName,MonthlyActiveUsers,PaidAvailableUnits,"
        "ClaimId,MpnId,DateAssociated,PartnerAttributionType,Date"
    )
    assert tuple(next(csv.reader(io.StringIO(text)))) == CSV_HEADER


def test_csv_shows_only_the_usage_of_the_partners_approved_items(login, incentives_admin, world):
    response = login(incentives_admin).get(USAGE_CSV)

    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)[1:]
    assert sorted((row[1], row[2], row[9]) for row in rows) == sorted(
        [("Contoso", "Exchange Online", month.isoformat()) for month in (JAN, FEB, MAR)]
        + [("Litware", "Dynamics 365 Sales", month.isoformat()) for month in (JAN, FEB, MAR)]
    )
    # Never Teams (under review), SharePoint (ended) nor the other partner's Adatum usage.
    text = "\n".join(",".join(row) for row in rows)
    assert "Microsoft Teams" not in text and "SharePoint" not in text and "Adatum" not in text and "999" not in text


def test_csv_row_values(login, incentives_admin, world):
    rows = csv_rows(login(incentives_admin).get(USAGE_CSV))[1:]

    exchange_feb = next(row for row in rows if row[2] == "Exchange Online" and row[9] == "2026-02-01")
    assert exchange_feb == [
        str(world["contoso"].tenant_id),
        "Contoso",
        "Exchange Online",
        "102",
        "200",
        str(world["m365"].pk),
        "1234567",
        timezone.localtime(DECIDED).date().isoformat(),
        "OSU-M365",
        "2026-02-01",
    ]
    sales = next(row for row in rows if row[1] == "Litware")
    assert sales[3:7] == ["5", "7", str(world["bizapps"].pk), "1234567"]
    assert sales[8] == "OSU-BizApps"


def test_revenue_association_items_are_attributed_as_revenue_association(login, incentives_admin, partner):
    tenant = TenantFactory(name="Fourth Coffee")
    claim = ClaimFactory(mpn__partner=partner, tenant=tenant, activity=Activity.REVENUE)
    item = SubscriptionItemFactory(claim=claim, program="", outcome=ItemOutcome.APPROVED, decided_at=DECIDED)
    put_approved(claim)
    usage(tenant, item.product.code, JAN)

    rows = csv_rows(login(incentives_admin).get(USAGE_CSV))[1:]

    assert [row[8] for row in rows] == ["Revenue association"]


def test_usage_and_presales_on_one_subscription_give_one_row_per_programme(login, incentives_admin, partner):
    tenant = TenantFactory()
    claim = ClaimFactory(mpn__partner=partner, tenant=tenant, activity=Activity.USAGE_PRESALES)
    subscription = SubscriptionFactory(tenant=tenant)
    for program in (Program.OSU_BIZAPPS, Program.OSA_SELL):
        SubscriptionItemFactory(
            claim=claim, subscription=subscription, program=program, outcome=ItemOutcome.APPROVED, decided_at=DECIDED
        )
    put_approved(claim)
    usage(tenant, subscription.product.code, JAN)
    usage(tenant, subscription.product.code, FEB)

    rows = csv_rows(login(incentives_admin).get(USAGE_CSV))[1:]

    assert sorted((row[8], row[9]) for row in rows) == [
        ("OSA-Sell", "2026-01-01"),
        ("OSA-Sell", "2026-02-01"),
        ("OSU-BizApps", "2026-01-01"),
        ("OSU-BizApps", "2026-02-01"),
    ]


def test_page_shows_the_same_rows_in_one_query_for_the_rows(
    login, incentives_admin, world, django_assert_max_num_queries
):
    client = login(incentives_admin)
    with django_assert_max_num_queries(12):
        response = client.get(USAGE)

    assert response.status_code == 200
    rows = response.context["rows"]
    assert len(rows) == 6
    assert {row["attribution"] for row in rows} == {"OSU-M365", "OSU-BizApps"}
    page = response.content.decode()
    assert "Exchange Online" in page and "Dynamics 365 Sales" in page and "Microsoft Teams" not in page


def test_each_row_links_its_customer_and_claim_and_escapes_what_it_shows(login, incentives_admin, world):
    world["contoso"].name = '<script>alert("x")</script>'
    world["contoso"].save(update_fields=["name"])

    page = login(incentives_admin).get(USAGE).content.decode()

    tenant, claim_url = world["contoso"].tenant_id, reverse("claims:detail", args=[world["m365"].pk])
    assert (
        f'<tr><td>2026-03</td><td><a href="?tenant={tenant}">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</a></td>'
        f'<td><code>{tenant}</code></td><td>Exchange Online</td><td class="text-end">103</td>'
        f'<td class="text-end">200</td><td><a href="{claim_url}">#{world["m365"].pk}</a></td><td>1234567</td>'
        "<td>01/15/2026</td><td>OSU-M365</td></tr>"
    ) in page
    assert "<script>alert" not in page


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        ("en", ['<th scope="col">Associated on</th>', "<td>01/15/2026</td><td>Revenue association</td>"]),
        ("fr", ['<th scope="col">Associé le</th>', "<td>15/01/2026</td><td>Association de chiffre d’affaires</td>"]),
    ],
)
def test_the_table_reads_in_each_readers_language(login, partner, world, language, texts):
    ClaimItem.objects.filter(pk=world["sales_item"].pk).update(program="")  # a Revenue association item

    page = login(partner_user(partner, Role.INCENTIVES_USER, language=language)).get(USAGE).content.decode()

    assert all(text in page for text in texts)


def test_the_page_costs_the_same_queries_for_two_rows_or_six(login, incentives_admin, world):
    client = login(incentives_admin)
    client.get(USAGE)
    with CaptureQueriesContext(connection) as two_rows:
        few = client.get(USAGE, {"month_to": "2026-01"})
    with CaptureQueriesContext(connection) as six_rows:
        many = client.get(USAGE)

    assert (len(few.context["rows"]), len(many.context["rows"])) == (2, 6)
    assert len(two_rows) == len(six_rows)


def test_filters_by_customer_and_month_range(login, incentives_admin, world):
    client = login(incentives_admin)

    by_tenant = client.get(USAGE_CSV, {"tenant": str(world["litware"].tenant_id)})
    by_months = client.get(USAGE_CSV, {"month_from": "2026-02", "month_to": "2026-02"})

    assert {row[1] for row in csv_rows(by_tenant)[1:]} == {"Litware"}
    assert sorted((row[1], row[9]) for row in csv_rows(by_months)[1:]) == [
        ("Contoso", "2026-02-01"),
        ("Litware", "2026-02-01"),
    ]


def test_a_backwards_month_range_is_explained_and_filters_nothing(login, incentives_admin, world):
    response = login(incentives_admin).get(USAGE, {"month_from": "2026-03", "month_to": "2026-01"})

    assert response.status_code == 200
    assert "The last month must not come before the first." in response.content.decode()
    assert len(response.context["rows"]) == 6


def test_an_unknown_month_is_explained(login, incentives_admin, world):
    response = login(incentives_admin).get(USAGE, {"month_from": "January"})

    assert "Enter a month as YYYY-MM" in response.content.decode()


def test_another_partners_customer_is_not_a_choice(login, incentives_admin, world):
    response = login(incentives_admin).get(USAGE, {"tenant": str(world["theirs"].tenant.tenant_id)})

    assert response.context["form"].errors["tenant"]
    assert all(row["customer_name"] != "Adatum" for row in response.context["rows"])


def test_claim_filter_shows_that_claims_usage_only(login, incentives_admin, world):
    rows = csv_rows(login(incentives_admin).get(USAGE_CSV, {"claim": world["bizapps"].pk}))[1:]

    assert {row[5] for row in rows} == {str(world["bizapps"].pk)}
    assert len(rows) == 3


@pytest.mark.parametrize("url", [USAGE, USAGE_CSV])
def test_another_partners_claim_in_the_filter_is_not_found(login, incentives_admin, world, url):
    client = login(incentives_admin)

    assert client.get(url, {"claim": world["theirs"].pk}).status_code == 404
    assert client.get(url, {"claim": "999999"}).status_code == 404
    assert client.get(url, {"claim": "abc"}).status_code == 404


def test_a_claim_not_approved_shows_no_usage(login, incentives_admin, world):
    response = login(incentives_admin).get(USAGE, {"claim": world["pending"].pk})

    assert response.status_code == 200
    assert response.context["rows"] == []


@pytest.mark.parametrize("url", [USAGE, USAGE_CSV, REASSOCIATE])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("url", [USAGE, USAGE_CSV, REASSOCIATE])
@pytest.mark.parametrize("role", list(Role))
def test_every_role_of_the_partner_sees_its_usage(login, partner, world, role, url):
    response = login(partner_user(partner, role)).get(url)

    assert response.status_code == 200


@pytest.mark.parametrize("url", [USAGE, USAGE_CSV, REASSOCIATE])
def test_a_reviewer_without_a_partner_is_forbidden(login, url):
    assert login(make_reviewer()).get(url).status_code == 403


def test_the_other_partner_sees_only_its_own_usage(login, other_partner, world):
    rows = csv_rows(login(partner_user(other_partner, Role.BILLING_ADMIN)).get(USAGE_CSV))[1:]

    assert {(row[1], row[3]) for row in rows} == {("Adatum", "999")}


# --- Legacy associations -------------------------------------------------------------------


@pytest.fixture
def legacy(partner, other_partner, world):
    contoso, mpn = world["contoso"], world["mpn"]
    since = datetime.date(2019, 5, 1)
    teams = LegacyAssociation.objects.create(
        partner=partner, mpn=mpn, tenant=contoso, workload=WorkloadFactory(name="Microsoft Teams"), since=since
    )
    LegacyAssociation.objects.create(
        partner=partner,
        mpn=mpn,
        tenant=contoso,
        workload=WorkloadFactory(name="SharePoint Online"),
        since=since,
        ended_at=timezone.now(),
    )
    power_bi = SubscriptionFactory(
        tenant=world["litware"],
        product=ProductFactory(code="POWER_BI_PRO", name="Power BI Pro", family="Power BI"),
        end_date=datetime.date(2027, 6, 30),
    )
    bi = LegacyAssociation.objects.create(
        partner=partner, mpn=mpn, tenant=world["litware"], subscription=power_bi, since=since
    )
    LegacyAssociation.objects.create(
        partner=other_partner,
        mpn=MpnIdFactory(partner=other_partner, mpn_id="7777777"),
        tenant=contoso,
        workload=WorkloadFactory(name="Exchange Online"),
        since=since,
    )
    return {"teams": teams, "bi": bi}


def test_reassociate_lists_the_partners_standing_m365_associations_with_a_wizard_link(
    login, incentives_admin, world, legacy
):
    response = login(incentives_admin).get(REASSOCIATE)

    assert [association for association, _url in response.context["to_reassociate"]] == [legacy["teams"]]
    _association, url = response.context["to_reassociate"][0]
    parts = urlsplit(url)
    assert parts.path == reverse("claims:new")
    assert parse_qs(parts.query) == {
        "mpn": [str(world["mpn"].pk)],
        "domain": ["contoso.onmicrosoft.com"],
        "tenant_id": [str(world["contoso"].tenant_id)],
    }
    page = response.content.decode()
    assert "Re-associate" in page and "7777777" not in page


def test_the_reassociate_link_fills_in_the_wizards_first_page(login, incentives_admin, world, legacy):
    client = login(incentives_admin)
    _association, url = client.get(REASSOCIATE).context["to_reassociate"][0]

    form = client.get(url).context["form"]

    assert str(form["domain"].value()) == "contoso.onmicrosoft.com"
    assert str(form["tenant_id"].value()) == str(world["contoso"].tenant_id)
    assert str(form["mpn"].value()) == str(world["mpn"].pk)


def test_readers_see_the_legacy_list_without_the_reassociate_button(login, partner, legacy):
    response = login(partner_user(partner, Role.INCENTIVES_USER)).get(REASSOCIATE)

    assert response.context["to_reassociate"][0][1] == ""
    assert "Re-associate" not in response.content.decode()


def test_dynamics_and_power_bi_associations_are_valid_until_the_subscription_ends(login, incentives_admin, legacy):
    response = login(incentives_admin).get(REASSOCIATE)

    assert list(response.context["still_valid"]) == [legacy["bi"]]
    page = response.content.decode()
    assert "valid until the subscription expires" in page
    assert "Power BI Pro" in page


# --- Whose figures: the claimed subscription's, from the approval month on (issue 7, section 5) --

MID_FEBRUARY = datetime.datetime(2026, 2, 14, 16, 0, tzinfo=datetime.UTC)


def subscription_usage(subscription, month, users):
    return Usage.objects.create(
        tenant=subscription.tenant,
        subscription=subscription,
        workload=subscription.product.code,
        month=month,
        monthly_active_users=users,
        paid_available_units=users,
    )


def approved_on(partner, subscription, decided_at=DECIDED):
    claim = ClaimFactory(mpn__partner=partner, tenant=subscription.tenant)
    SubscriptionItemFactory(claim=claim, subscription=subscription, outcome=ItemOutcome.APPROVED, decided_at=decided_at)
    return put_approved(claim)


def users_seen(client, **query):
    """(month, monthly active users) of every CSV row, and the page's rows as the same pairs."""
    csv_pairs = sorted((row[9], row[3]) for row in csv_rows(client.get(USAGE_CSV, query))[1:])
    page_pairs = sorted(
        (row["month"].isoformat(), str(row["monthly_active_users"])) for row in client.get(USAGE, query).context["rows"]
    )
    assert csv_pairs == page_pairs
    return csv_pairs


@pytest.fixture
def two_subscriptions(partner, other_partner):
    """Litware holds two Dynamics 365 Sales subscriptions: Fabrikam's approved claim is on
    the first, Northwind's on the second. The feed gives each one's figures, and the
    tenant's figures for the product as a whole."""
    litware = TenantFactory(name="Litware", domains=["litware.com"])
    sales = ProductFactory(code="D365_SALES", name="Dynamics 365 Sales")
    ours = SubscriptionFactory(tenant=litware, product=sales)
    theirs = SubscriptionFactory(tenant=litware, product=sales)
    approved_on(partner, ours)
    approved_on(other_partner, theirs)
    for month in (JAN, FEB):
        subscription_usage(ours, month, 11)
        subscription_usage(theirs, month, 22)
        usage(litware, "D365_SALES", month, users=33)
    return {"ours": ours, "theirs": theirs, "tenant": litware, "product": sales}


def test_a_partner_sees_only_the_claimed_subscriptions_figures(login, partner, other_partner, two_subscriptions):
    ours = login(partner_user(partner, Role.BILLING_ADMIN))
    assert users_seen(ours) == [("2026-01-01", "11"), ("2026-02-01", "11")]

    theirs = login(partner_user(other_partner, Role.INCENTIVES_USER))
    assert users_seen(theirs) == [("2026-01-01", "22"), ("2026-02-01", "22")]


def test_the_tenants_figures_for_a_product_show_when_they_can_be_nobody_elses(login, incentives_admin, partner):
    # A format 1 feed: no subscription on the usage; the tenant holds one subscription of it.
    tenant = TenantFactory()
    subscription = SubscriptionFactory(tenant=tenant)
    approved_on(partner, subscription)
    usage(tenant, subscription.product.code, JAN, users=7)

    assert users_seen(login(incentives_admin)) == [("2026-01-01", "7")]


def test_the_tenants_figures_are_hidden_when_it_holds_another_subscription_of_the_product(
    login, incentives_admin, partner
):
    tenant = TenantFactory()
    subscription = SubscriptionFactory(tenant=tenant)
    SubscriptionFactory(tenant=tenant, product=subscription.product)  # someone else's, perhaps
    approved_on(partner, subscription)
    usage(tenant, subscription.product.code, JAN, users=7)

    assert users_seen(login(incentives_admin)) == []


def test_the_tenants_figures_give_way_to_the_subscriptions_own(login, incentives_admin, partner):
    # Both kinds for one subscription: its own figures only, never a month twice.
    tenant = TenantFactory()
    subscription = SubscriptionFactory(tenant=tenant)
    approved_on(partner, subscription)
    usage(tenant, subscription.product.code, JAN, users=7)
    subscription_usage(subscription, JAN, 5)

    assert users_seen(login(incentives_admin)) == [("2026-01-01", "5")]


def test_months_before_the_approval_month_are_not_shown(login, incentives_admin, partner):
    tenant = TenantFactory()
    subscription = SubscriptionFactory(tenant=tenant)
    approved_on(partner, subscription, decided_at=MID_FEBRUARY)
    m365 = ClaimFactory(mpn__partner=partner, tenant=tenant, solution_area="Microsoft 365", activity=Activity.USAGE)
    exchange = WorkloadFactory(name="Exchange Online")
    WorkloadItemFactory(claim=m365, workload=exchange, outcome=ItemOutcome.APPROVED, decided_at=MID_FEBRUARY)
    put_approved(m365)
    for month, users in ((JAN, 1), (FEB, 2), (MAR, 3)):
        subscription_usage(subscription, month, users)
        usage(tenant, "Exchange Online", month, users=users * 10)

    assert users_seen(login(incentives_admin)) == [
        ("2026-02-01", "2"),
        ("2026-02-01", "20"),
        ("2026-03-01", "3"),
        ("2026-03-01", "30"),
    ]


def test_the_month_filter_cannot_reach_before_the_approval_month(login, incentives_admin, partner):
    tenant = TenantFactory()
    subscription = SubscriptionFactory(tenant=tenant)
    approved_on(partner, subscription, decided_at=MID_FEBRUARY)
    for month, users in ((JAN, 1), (FEB, 2)):
        subscription_usage(subscription, month, users)

    client = login(incentives_admin)
    assert users_seen(client, month_from="2025-12", month_to="2026-01") == []
    assert users_seen(client, month_from="2025-12") == [("2026-02-01", "2")]


def test_the_page_says_whose_figures_it_shows_in_english_and_french(login, partner):
    english = login(partner_user(partner, Role.INCENTIVES_USER)).get(USAGE).content.decode()
    assert "only the claimed subscription's figures are shown" in english

    french = login(partner_user(partner, Role.INCENTIVES_USER, language="fr")).get(USAGE).content.decode()
    assert "seuls les chiffres de l’abonnement revendiqué sont affichés" in french


def test_a_feeds_per_subscription_figures_reach_only_that_subscriptions_partner(login, partner, other_partner):
    # The whole path: a format 1.1 feed gives figures per subscription of one product.
    tenant_guid, ours_guid, theirs_guid = (str(uuid) for uuid in (uuid4(), uuid4(), uuid4()))
    records = [
        {"type": "product", "code": "D365_SALES", "name": "Dynamics 365 Sales",
         "solution_area": "Business Applications", "family": "Dynamics 365"},
        {"type": "tenant", "tenant_id": tenant_guid, "name": "Litware", "country": "US",
         "time_zone": "America/New_York", "language": "en", "domains": ["litware.example"]},
        *({"type": "subscription", "subscription_id": guid, "tenant_id": tenant_guid, "product": "D365_SALES",
           "channel": "Volume Licensing", "status": "active", "provisioned": True, "start_date": "2026-01-01",
           "end_date": "2027-12-31"} for guid in (ours_guid, theirs_guid)),
        *({"type": "usage", "tenant_id": tenant_guid, "subscription_id": guid, "workload": "D365_SALES",
           "month": "2026-02", "monthly_active_users": users, "paid_available_units": users}
          for guid, users in ((ours_guid, 11), (theirs_guid, 22))),
        {"type": "usage", "tenant_id": tenant_guid, "workload": "D365_SALES", "month": "2026-02",
         "monthly_active_users": 33, "paid_available_units": 33},
    ]  # fmt: skip
    directory_import(stream=io.BytesIO("\n".join(json.dumps(record) for record in records).encode()))
    approved_on(partner, Subscription.objects.get(subscription_id=ours_guid))
    approved_on(other_partner, Subscription.objects.get(subscription_id=theirs_guid))

    assert users_seen(login(partner_user(partner, Role.INCENTIVES_USER))) == [("2026-02-01", "11")]
    assert users_seen(login(partner_user(other_partner, Role.INCENTIVES_USER))) == [("2026-02-01", "22")]


# --- Read in two steps: the approved items, then their customers' usage (issue 10) --------


@pytest.fixture
def five_customers(partner):
    """Five customers (created out of name order), each with an approved Exchange Online item
    and two months of usage; a sixth holds only a pending item."""
    mpn = MpnIdFactory(partner=partner)
    exchange = WorkloadFactory(name="Exchange Online")
    for name in ("Echo", "Alpha", "Delta", "Bravo", "Charlie"):
        tenant = TenantFactory(name=name)
        claim = ClaimFactory(mpn=mpn, tenant=tenant, solution_area="Microsoft 365", activity=Activity.USAGE)
        WorkloadItemFactory(claim=claim, workload=exchange, outcome=ItemOutcome.APPROVED, decided_at=DECIDED)
        put_approved(claim)
        for month in (JAN, FEB):
            usage(tenant, "Exchange Online", month, users=len(name))
    pending = ClaimFactory(mpn=mpn, tenant=TenantFactory(name="Aaron"), solution_area="Microsoft 365")
    WorkloadItemFactory(claim=pending, workload=exchange)
    usage(pending.tenant, "Exchange Online", JAN)


def test_rows_follow_customer_then_newest_month_across_every_usage_query(
    login, incentives_admin, five_customers, monkeypatch
):
    monkeypatch.setattr(UsageRows, "FIRST_GROUP", 2)  # customers read 2, then 4 at a time
    client = login(incentives_admin)
    expected = [
        (name, month.isoformat()) for name in ("Alpha", "Bravo", "Charlie", "Delta", "Echo") for month in (FEB, JAN)
    ]

    every = [(row["customer_name"], row["month"].isoformat()) for row in usage_rows_visible_to(incentives_admin)]
    pages = [
        (row["customer_name"], row["month"].isoformat())
        for number in (1, 2, 3, 4)
        for row in selectors.uncounted_page(usage_rows_visible_to(incentives_admin), number, per_page=3).object_list
    ]
    in_csv = [(row[1], row[9]) for row in csv_rows(client.get(USAGE_CSV))[1:]]

    assert every == pages == in_csv == expected
    assert usage_rows_visible_to(incentives_admin).count() == 10


def test_customers_of_one_name_are_each_read_once_across_groups(incentives_admin, partner, monkeypatch):
    # Groups follow one another by (name, tenant): three customers named alike, one a group.
    monkeypatch.setattr(UsageRows, "FIRST_GROUP", 1)
    mpn = MpnIdFactory(partner=partner)
    exchange = WorkloadFactory(name="Exchange Online")
    tenants = [TenantFactory(name="Same", domains=[f"same{number}.example"]) for number in range(3)]
    for tenant in tenants:
        claim = ClaimFactory(mpn=mpn, tenant=tenant, solution_area="Microsoft 365", activity=Activity.USAGE)
        WorkloadItemFactory(claim=claim, workload=exchange, outcome=ItemOutcome.APPROVED, decided_at=DECIDED)
        put_approved(claim)
        usage(tenant, "Exchange Online", JAN)

    rows = list(usage_rows_visible_to(incentives_admin))

    assert [row["customer_tenant_id"] for row in rows] == sorted(
        (t.tenant_id for t in tenants), key=lambda g: Tenant.objects.get(tenant_id=g).pk
    )


def test_the_page_costs_the_same_queries_for_two_customers_or_five(login, partner, incentives_admin, five_customers):
    client = login(incentives_admin)
    with CaptureQueriesContext(connection) as five:
        client.get(USAGE)
    ClaimItem.objects.filter(claim__tenant__name__in=("Charlie", "Delta", "Echo")).update(outcome=ItemOutcome.ENDED)
    with CaptureQueriesContext(connection) as two:
        response = client.get(USAGE)

    assert {row["customer_name"] for row in response.context["rows"]} == {"Alpha", "Bravo"}
    assert len(two) == len(five)


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_usage_is_read_by_customer_through_an_index(incentives_admin, five_customers):
    tenants = list(Tenant.objects.values_list("pk", flat=True))

    assert "tenants_usage_tenant_id" in plan(Usage.objects.filter(tenant_id__in=tenants, month__gte=JAN))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_customers_and_their_items_are_read_through_the_partners_indexes(incentives_admin, five_customers):
    rows = usage_rows_visible_to(incentives_admin)
    with CaptureQueriesContext(connection) as queries:
        rows._rows_of([tenant for _name, tenant in rows._customers(None, 50)])
    customers, details = queries.captured_queries[0]["sql"], queries.captured_queries[1]["sql"]

    assert "claim_partner_customer" in explained(customers) and "claim_item_approved_partner" in explained(customers)
    assert "claim_item_approved_partner" in explained(details)


def explained(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_disassociated_claims_usage_is_no_longer_shown(login, incentives_admin, world):
    from claims import services

    services.claim_disassociate(user=incentives_admin, claim_id=world["bizapps"].pk, reason="The customer left.")
    text = "\n".join(",".join(row) for row in csv_rows(login(incentives_admin).get(USAGE_CSV)))
    assert "Dynamics 365 Sales" not in text and "Exchange Online" in text
