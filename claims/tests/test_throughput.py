"""A million claims (issue 10): what keeps the partner pages and the reviewers' list fast, and
that it changes nothing a user sees. The numbers themselves are bench/bench_throughput.py's."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from claims import selectors
from claims.models import Activity, Claim, ClaimStatus, ItemOutcome
from claims.selectors import review as review_selectors
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory, WorkloadItemFactory
from claims.tests.test_admin import as_user
from claims.tests.test_review import make_reviewer, put_approved, put_under_review
from cpor import access
from cpor.backends import UserBackend
from cpor.models import Membership, Role, User
from cpor.tests.factories import MpnIdFactory, PartnerFactory, UserFactory
from tenants.models import Usage
from tenants.tests.factories import TenantFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

LIST = reverse("claims:list")
USAGE = reverse("claims:usage")
ADMIN_LIST = reverse("admin:claims_claim_changelist")
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm exists on PostgreSQL only")


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def mpn(partner):
    return MpnIdFactory(partner=partner, mpn_id="3334445")


def own(mpn, **fields):
    return ClaimFactory(partner=mpn.partner, mpn=mpn, **fields)


def plan(queryset, *, bitmaps_only=False) -> str:
    """PostgreSQL's plan for the queryset with sequential scans priced out, so that a tiny
    test table still shows which indexes the query can use."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        if bitmaps_only:  # not the newest-first index filtered row by row either
            cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- Customer associations -------------------------------------------------------------


@on_postgresql
def test_searching_part_of_a_name_or_domain_uses_the_trigram_indexes(incentives_admin, mpn):
    own(mpn, name="Contoso rollout", domain="contoso.example")
    own(mpn, name="Other", domain="other.example")

    # What the search box asks of the claims table, on its own (the partner's own index
    # competes in the full query on a table this small).
    used = plan(Claim.objects.filter(selectors._search("rollo")).order_by(), bitmaps_only=True)
    found = selectors.claim_list_visible_to(incentives_admin, selectors.ClaimFilters(q="ROLLO"))

    assert "claim_name_trgm" in used and "claim_domain_trgm" in used
    assert [claim.name for claim in found] == ["Contoso rollout"]


@on_postgresql
def test_sorting_by_name_walks_the_partner_name_index(incentives_admin, mpn):
    claims = selectors.claim_list_visible_to(incentives_admin, selectors.ClaimFilters(sort="name"))

    assert "claim_partner_name" in plan(claims[:50])


def test_sorting_by_customer_orders_by_the_customers_name_both_ways(client, incentives_admin, mpn):
    for name in ("Litware", "Adatum", "Contoso"):
        own(mpn, name=f"Claim at {name}", tenant=TenantFactory(name=name))
    client.force_login(incentives_admin)

    ascending = client.get(LIST, {"sort": "customer"}).context["rows"]
    descending = client.get(LIST, {"sort": "-customer"}).context["rows"]

    assert [claim.tenant.name for claim, _, _ in ascending] == ["Adatum", "Contoso", "Litware"]
    assert [claim.tenant.name for claim, _, _ in descending] == ["Litware", "Contoso", "Adatum"]


def test_sorting_by_customer_still_lists_a_claim_without_a_tenant(client, incentives_admin, mpn):
    own(mpn, name="Matched", tenant=TenantFactory(name="Contoso"))
    unmatched = own(mpn, name="Unmatched")
    Claim.objects.filter(pk=unmatched.pk).update(tenant=None)  # the schema allows it
    client.force_login(incentives_admin)

    rows = client.get(LIST, {"sort": "customer"}).context["rows"]

    assert sorted(claim.name for claim, _, _ in rows) == ["Matched", "Unmatched"]


def test_list_rows_escape_what_partners_typed(client, incentives_admin, mpn):
    own(mpn, name='<script>alert("x")</script>', tenant=TenantFactory(name="<b>Bold & Co</b>"))
    client.force_login(incentives_admin)

    page = client.get(LIST).content.decode()

    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in page


def test_list_rows_show_labels_in_the_users_language(client, incentives_admin, mpn):
    own(mpn, status=ClaimStatus.UNDER_REVIEW, activity=Activity.USAGE_PRESALES)
    incentives_admin.language = "fr"
    incentives_admin.save()
    client.force_login(incentives_admin)

    page = client.get(LIST).content.decode()

    assert "En cours d’examen" in page or "En cours d'examen" in page
    assert "État" in page  # the Status column


def test_list_rows_name_at_most_three_items_and_count_the_rest(client, incentives_admin, mpn):
    claim = own(mpn, solution_area="Microsoft 365", activity=Activity.USAGE)
    for name in ("Exchange Online", "Microsoft Teams", "SharePoint Online", "OneDrive", "Intune"):
        WorkloadItemFactory(claim=claim, workload=WorkloadFactory(name=name))
    client.force_login(incentives_admin)

    page = client.get(LIST).content.decode()

    assert "Exchange Online" in page and "SharePoint Online" in page and "Intune" not in page
    assert "and 2 more" in page


def test_the_list_count_stops_at_the_cap_without_counting_every_claim(client, incentives_admin, mpn):
    client.force_login(incentives_admin)
    with CaptureQueriesContext(connection) as queries:
        client.get(LIST, {"sort": "customer"})

    counts = [
        query["sql"] for query in queries if query["sql"].startswith('SELECT COUNT(*) FROM (SELECT "claims_claim"')
    ]
    assert len(counts) == 1 and "LIMIT 10001" in counts[0] and "ORDER BY" not in counts[0]


# --- Usage -----------------------------------------------------------------------------


@pytest.fixture
def exchange_usage(mpn):
    """An approved Exchange Online item at Contoso with 51 months of usage: one more than a page."""
    contoso = TenantFactory(name="Contoso")
    claim = own(mpn, tenant=contoso, solution_area="Microsoft 365", activity=Activity.USAGE)
    WorkloadItemFactory(
        claim=claim,
        workload=WorkloadFactory(name="Exchange Online"),
        outcome=ItemOutcome.APPROVED,
        decided_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),  # usage counts from the approval month
    )
    put_approved(claim)
    Usage.objects.bulk_create(
        Usage(
            tenant=contoso,
            workload="Exchange Online",
            month=datetime.date(2020 + n // 12, 1 + n % 12, 1),
            monthly_active_users=n,
            paid_available_units=100,
        )
        for n in range(51)
    )
    return contoso


def test_usage_customer_filter_is_a_tenant_id_box_not_a_list_of_every_customer(login, incentives_admin, exchange_usage):
    client = login(incentives_admin)

    page = client.get(USAGE).content.decode()
    filtered = client.get(USAGE, {"tenant": str(exchange_usage.tenant_id).upper()})

    assert '<select name="tenant"' not in page and 'name="tenant"' in page
    assert f'href="?tenant={exchange_usage.tenant_id}"' in page  # the customer's name filters by it
    assert filtered.context["form"].is_valid()
    assert {row["customer_name"] for row in filtered.context["rows"]} == {"Contoso"}


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Enter a Directory ID / Tenant ID, such as 00000000-0000-0000-0000-000000000000."),
        ("fr", "Saisissez un ID d’annuaire / ID de locataire, par exemple 00000000-0000-0000-0000-000000000000."),
    ],
)
def test_a_malformed_tenant_id_is_explained_and_filters_nothing(
    login, incentives_admin, exchange_usage, language, message
):
    User.objects.filter(pk=incentives_admin.pk).update(language=language)
    response = login(incentives_admin).get(USAGE, {"tenant": "not-a-guid"})

    assert message in response.content.decode()
    assert len(response.context["rows"]) == 50


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "None of your customers with approved items has this Directory ID / Tenant ID."),
        ("fr", "Aucun de vos clients ayant des éléments approuvés n’a cet ID d’annuaire / ID de locataire."),
    ],
)
def test_a_customer_without_approved_items_is_explained(login, incentives_admin, exchange_usage, language, message):
    User.objects.filter(pk=incentives_admin.pk).update(language=language)
    stranger = TenantFactory(name="Stranger")

    response = login(incentives_admin).get(USAGE, {"tenant": str(stranger.tenant_id)})

    assert message in response.content.decode()


def test_usage_pages_without_counting_the_rows(login, incentives_admin, exchange_usage):
    client = login(incentives_admin)

    with CaptureQueriesContext(connection) as queries:
        first = client.get(USAGE)
    second = client.get(USAGE, {"page": "2"})
    nonsense = client.get(USAGE, {"page": "many"})

    assert not any("COUNT(" in query["sql"] and "tenants_usage" in query["sql"] for query in queries)
    assert len(first.context["rows"]) == 50 and "page=2" in first.content.decode()
    assert [row["monthly_active_users"] for row in second.context["rows"]] == [0]  # the oldest month
    assert "Page 2" in second.content.decode() and "page=3" not in second.content.decode()
    assert nonsense.context["page"].number == 1


# --- The reviewers' list ---------------------------------------------------------------


@pytest.fixture
def reviewer():
    return make_reviewer()


def submitted(**fields):
    claim = ClaimFactory(**fields)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim)


def test_reviewers_find_claims_by_a_quoted_partner_name(reviewer):
    wanted = submitted(partner=PartnerFactory(name="Fabrikam Consulting"), name="Wanted")
    submitted(partner=PartnerFactory(name="Fabrikam Advisory"), name="Other")

    response = as_user(reviewer).get(ADMIN_LIST, {"q": '"Fabrikam Consulting"'})

    assert list(response.context["cl"].result_list) == [wanted]


def test_reviewers_search_words_must_all_match(reviewer):
    wanted = submitted(name="Contoso rollout", domain="contoso.example")
    submitted(name="Contoso pilot", domain="contoso-pilot.example")

    response = as_user(reviewer).get(ADMIN_LIST, {"q": "contoso rollout"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_reviewers_list_never_counts_every_claim(reviewer):
    submitted(name="One")
    with CaptureQueriesContext(connection) as queries:
        response = as_user(reviewer).get(ADMIN_LIST)

    counts = [query["sql"] for query in queries if "COUNT(" in query["sql"] and "claims_claim" in query["sql"]]
    assert response.status_code == 200
    assert len(counts) == 1 and "LIMIT 10001" in counts[0]


@on_postgresql
def test_reviewers_search_by_tenant_id_uses_an_index(reviewer):
    claim = submitted(name="One")
    claims = review_selectors.claims_for_review(reviewer=reviewer).filter(tenant_guid=claim.tenant_guid)

    assert "claim_tenant_guid" in plan(claims)


# --- Every partner page ----------------------------------------------------------------


def test_membership_and_partner_are_read_in_one_query(incentives_admin, partner):
    user = User.objects.get(pk=incentives_admin.pk)

    with CaptureQueriesContext(connection) as queries:
        first = access.membership_of(user)
        again = access.partner_of(user)
        direct = user.membership

    assert len(queries) == 1
    assert first is direct and again == partner


def test_a_user_without_membership_is_no_partner_user_in_one_query(db):
    user = User.objects.get(pk=UserFactory().pk)

    with CaptureQueriesContext(connection) as queries:
        assert access.membership_of(user) is None
        assert access.partner_of(user) is None

    assert len(queries) == 1


def test_a_staff_account_is_no_partner_user_without_a_query(db):
    user = User.objects.get(pk=make_reviewer().pk)

    with CaptureQueriesContext(connection) as queries:
        assert access.membership_of(user) is None
        assert access.partner_of(user) is None

    assert len(queries) == 0


def test_a_signed_in_request_reads_user_membership_and_partner_in_one_query(client, incentives_admin, partner):
    client.force_login(incentives_admin)
    with CaptureQueriesContext(connection) as queries:
        user = UserBackend().get_user(incentives_admin.pk)
        membership = access.membership_of(user)

    assert len(queries) == 1
    assert membership.partner == partner and membership.role == incentives_admin.membership.role
    # The whole page: session, user with membership and partner, then the page's own reads.
    with CaptureQueriesContext(connection) as page:
        client.get(reverse("mpn_ids"))
    assert not any('FROM "cpor_membership"' in query["sql"].split(" WHERE ")[0] for query in page.captured_queries)


def test_a_role_changed_or_removed_holds_from_the_next_request(client, incentives_admin):
    client.force_login(incentives_admin)
    assert client.get(reverse("claims:new")).status_code == 200

    Membership.objects.filter(user=incentives_admin).update(role=Role.INCENTIVES_USER)
    assert client.get(reverse("claims:new")).status_code == 403

    Membership.objects.filter(user=incentives_admin).delete()
    assert client.get(LIST).status_code == 403


def test_a_user_made_inactive_is_signed_out_by_the_backend(client, incentives_admin):
    User.objects.filter(pk=incentives_admin.pk).update(is_active=False)

    assert UserBackend().get_user(incentives_admin.pk) is None
    assert UserBackend().get_user(10**9) is None


# --- Background work (issue 10, section 2) ---------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
def test_the_approval_timer_finds_due_claims_through_the_status_deadline_index(mpn):
    from claims import pipeline

    own(mpn, status=ClaimStatus.UNDER_REVIEW)
    with CaptureQueriesContext(connection) as queries:
        pipeline.claims_approve_due()
    (selection,) = [query["sql"] for query in queries if "opt_out_deadline" in query["sql"]]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {selection}")
        used = "\n".join(row[0] for row in cursor.fetchall())

    assert "claim_status_deadline" in used
