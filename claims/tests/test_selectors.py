"""Reads scoped to the user's partner (claims/selectors/__init__.py)."""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from claims import selectors
from claims.models import Activity, ClaimStatus, Comment
from claims.selectors import ClaimFilters
from claims.tests.factories import (
    ClaimFactory,
    ProofFactory,
    SubscriptionItemFactory,
    WorkloadItemFactory,
    directory_world,
)
from cpor.models import Program, Role
from cpor.tests.factories import MpnIdFactory, UserFactory, partner_user
from tenants.models import SolutionArea
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def own_claim(mpn, **fields):
    return ClaimFactory(partner=mpn.partner, mpn=mpn, **fields)


class TestList:
    def test_a_partner_sees_only_its_own_claims(self, mpn, incentives_admin):
        mine = own_claim(mpn)
        ClaimFactory()
        assert list(selectors.claim_list_visible_to(incentives_admin)) == [mine]

    @pytest.mark.parametrize("role", [Role.BILLING_ADMIN, Role.GLOBAL_ADMIN, Role.INCENTIVES_USER])
    def test_every_role_of_the_partner_reads_the_list(self, mpn, role):
        mine = own_claim(mpn)
        assert list(selectors.claim_list_visible_to(partner_user(mpn.partner, role))) == [mine]

    def test_a_user_without_a_partner_sees_nothing(self, mpn):
        own_claim(mpn)
        assert not selectors.claim_list_visible_to(UserFactory(is_staff=True)).exists()

    def test_search_by_claim_id_name_domain_or_tenant_id(self, mpn, incentives_admin):
        target = own_claim(mpn, name="Contoso rollout", tenant=TenantFactory(domains=["contoso.fr"]))
        own_claim(mpn, name="Other", tenant=TenantFactory(domains=["litware.com"]))
        for text in (str(target.pk), f"#{target.pk}", "contoso ROLL", "CONTOSO.FR", str(target.tenant_guid).upper()):
            found = selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q=text))
            assert list(found) == [target], text

    def test_text_of_several_words_must_be_found_whole_not_word_by_word(self, mpn, incentives_admin):
        # Looked up by its longest word in the indexes, the text must then be held whole.
        target = own_claim(mpn, name="Teams adoption", tenant=TenantFactory(domains=["fabrikam-223fcd-101.example"]))
        own_claim(mpn, name="Adoption of Teams", tenant=TenantFactory(domains=["fabrikam-223fcd-7.example"]))
        own_claim(mpn, name="Other", tenant=TenantFactory(domains=["223fcd-fabrikam-101.example"]))
        for text in ("rikam-223fcd-101", "RIKAM-223FCD-101.EX", "teams ADOPTION", "ms ado", "Teams adoption"):
            found = selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q=text))
            assert list(found) == [target], text
        for text in ("223fcd-101-rikam", "adoption teams", "teams  adoption", "fab_rikam"):
            assert not selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q=text)).exists(), text

    def test_wildcards_in_the_text_are_plain_characters(self, mpn, incentives_admin):
        target = own_claim(mpn, name="50% off_deal")
        own_claim(mpn, name="500 offXdeal")
        for text in ("50% off_deal", "% off_", "0% o"):
            assert list(selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q=text))) == [target], text

    def test_a_number_is_a_claim_id_not_part_of_a_name(self, mpn, incentives_admin):
        named = own_claim(mpn, name="Rollout 2024")
        target = own_claim(mpn)
        found = selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q=str(target.pk)))
        assert list(found) == [target]
        assert list(selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q="Rollout 2024"))) == [named]
        assert not selectors.claim_list_visible_to(incentives_admin, ClaimFilters(q="9" * 30)).exists()

    def test_filters_by_status_solution_area_activity_and_mpn_id(self, mpn, incentives_admin):
        target = own_claim(mpn, status=ClaimStatus.UNDER_REVIEW, activity=Activity.PRESALES)
        own_claim(mpn, status=ClaimStatus.DRAFT, activity=Activity.PRESALES)
        own_claim(mpn, status=ClaimStatus.UNDER_REVIEW, activity=Activity.USAGE)
        own_claim(
            MpnIdFactory(partner=mpn.partner),
            status=ClaimStatus.UNDER_REVIEW,
            activity=Activity.PRESALES,
        )
        own_claim(mpn, status=ClaimStatus.UNDER_REVIEW, solution_area=SolutionArea.MICROSOFT_365)
        filters = ClaimFilters(
            status=ClaimStatus.UNDER_REVIEW,
            solution_area=SolutionArea.BUSINESS_APPLICATIONS,
            activity=Activity.PRESALES,
            mpn=mpn.mpn_id,
        )
        assert list(selectors.claim_list_visible_to(incentives_admin, filters)) == [target]

    def test_sort_by_a_column_either_way_newest_first_by_default(self, mpn, incentives_admin):
        beta, alpha = own_claim(mpn, name="Beta"), own_claim(mpn, name="Alpha")
        assert list(selectors.claim_list_visible_to(incentives_admin)) == [alpha, beta]
        assert list(selectors.claim_list_visible_to(incentives_admin, ClaimFilters(sort="name"))) == [alpha, beta]
        assert list(selectors.claim_list_visible_to(incentives_admin, ClaimFilters(sort="-name"))) == [beta, alpha]
        assert list(selectors.claim_list_visible_to(incentives_admin, ClaimFilters(sort="drop table"))) == [
            alpha,
            beta,
        ]

    def test_the_list_costs_the_same_queries_for_5_or_50_claims(self, mpn, incentives_admin):
        def page_queries():
            with CaptureQueriesContext(connection) as queries:
                page = selectors.claim_page(selectors.claim_list_visible_to(incentives_admin), 1)
                for claim in page:
                    for group in selectors.claim_items_grouped(claim):
                        str(group["label"])
                    str(claim.mpn.mpn_id), str(claim.tenant.name)
            return len(queries), len(page.object_list)

        for _ in range(5):
            SubscriptionItemFactory(claim=own_claim(mpn))
        small = page_queries()
        for _ in range(45):
            claim = own_claim(mpn, solution_area=SolutionArea.MICROSOFT_365)
            WorkloadItemFactory(claim=claim)
        large = page_queries()
        assert small[1] == 5 and large[1] == 50
        assert small[0] == large[0] == 3

    def test_the_count_stops_at_the_cap(self, mpn, incentives_admin, monkeypatch):
        monkeypatch.setattr(selectors.CappedPaginator, "cap", 3)
        for _ in range(5):
            own_claim(mpn)
        page = selectors.claim_page(selectors.claim_list_visible_to(incentives_admin), 1, per_page=2)
        assert page.paginator.is_capped
        assert page.paginator.count == 4


class TestSingleObjects:
    def test_another_partners_claim_is_404_like_a_missing_one(self, mpn, incentives_admin):
        foreign = ClaimFactory()
        with pytest.raises(Http404):
            selectors.claim_get_for_user(incentives_admin, foreign.pk)
        with pytest.raises(Http404):
            selectors.claim_get_for_user(incentives_admin, foreign.pk + 1000)
        assert selectors.claim_get_for_user(incentives_admin, own_claim(mpn).pk)

    def test_another_partners_file_is_404(self, mpn, incentives_admin):
        foreign = ProofFactory()
        with pytest.raises(Http404):
            selectors.poe_get_for_user(incentives_admin, foreign.pk)
        mine = ProofFactory(claim=own_claim(mpn))
        assert selectors.poe_get_for_user(incentives_admin, mine.pk) == mine

    def test_internal_reviewer_notes_are_never_shown_to_partners(self, mpn, incentives_admin):
        claim = own_claim(mpn, status=ClaimStatus.UNDER_REVIEW)
        reviewer = UserFactory(is_staff=True, is_superuser=True)
        shown = Comment.objects.create(claim=claim, author=reviewer, body="Please add the signed SoW.")
        Comment.objects.create(claim=claim, author=reviewer, body="Competitor looks stronger.", is_internal=True)
        for role in Role.values:
            assert list(selectors.comments_visible_to(partner_user(mpn.partner, role), claim)) == [shown]
        assert selectors.comments_visible_to(reviewer, claim).count() == 2

    def test_items_are_grouped_per_subscription_with_each_programmes_outcome(self, mpn):
        claim = own_claim(mpn, activity=Activity.USAGE_PRESALES)
        usage = SubscriptionItemFactory(claim=claim, program=Program.OSU_BIZAPPS)
        SubscriptionItemFactory(
            claim=claim, program=Program.OSA_SELL, subscription=usage.subscription, outcome="contested"
        )
        groups = selectors.claim_items_grouped(claim)
        assert len(groups) == 1
        assert [(line.program, line.outcome) for line in groups[0]["lines"]] == [
            (Program.OSU_BIZAPPS, "pending"),
            (Program.OSA_SELL, "contested"),
        ]

    def test_status_counts_cover_every_status(self, mpn, incentives_admin):
        own_claim(mpn, status=ClaimStatus.UNDER_REVIEW)
        own_claim(mpn, status=ClaimStatus.UNDER_REVIEW)
        ClaimFactory(status=ClaimStatus.APPROVED)
        counts = selectors.claim_status_counts(incentives_admin)
        assert set(counts) == set(ClaimStatus.values)
        assert counts[ClaimStatus.UNDER_REVIEW] == 2 and counts[ClaimStatus.APPROVED] == 0


class TestEarlyFeedback:
    def test_products_of_the_tenant_with_what_is_known_before_picking(self, partner):
        world = directory_world(partner)
        claim = ClaimFactory(partner=partner, mpn=world.mpn, tenant=world.tenant)
        rival = ClaimFactory(tenant=world.tenant, status=ClaimStatus.UNDER_REVIEW)
        SubscriptionItemFactory(claim=rival, subscription=world.sales_subscription)
        options = {option.name: option for option in selectors.product_options_for(claim)}
        assert set(options) == {
            "Dynamics 365 Sales",
            "Dynamics 365 Customer Service",
            "Dynamics 365 Finance",
            "Dynamics 365 Field Service",
        }
        assert options["Dynamics 365 Sales"].competing
        assert options["Dynamics 365 Customer Service"].needs_subscription_id
        assert [p.code for p in options["Dynamics 365 Finance"].problems] == ["csp"]
        assert [p.code for p in options["Dynamics 365 Field Service"].problems] == ["not_provisioned"]

    def test_workloads_of_the_tenant_flag_the_partners_own_holdings(self, partner):
        world = directory_world(partner)
        exchange = world.workloads["Exchange Online"]
        held = ClaimFactory(
            partner=partner,
            mpn=world.mpn,
            tenant=world.tenant,
            solution_area=SolutionArea.MICROSOFT_365,
            status=ClaimStatus.UNDER_REVIEW,
        )
        WorkloadItemFactory(claim=held, workload=exchange, product=world.m365)
        claim = ClaimFactory(
            partner=partner, mpn=world.mpn, tenant=world.tenant, solution_area=SolutionArea.MICROSOFT_365
        )
        options = {option.name: option for option in selectors.workload_options_for(claim)}
        assert set(options) == {"Exchange Online", "SharePoint Online", "Microsoft Teams"}
        assert options["Exchange Online"].own and not options["Exchange Online"].competing
