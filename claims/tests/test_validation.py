"""The section-4 checks, one named test per rule of PRODUCT.md."""

import uuid

import pytest

from claims import validation
from claims.models import ClaimItem, ClaimStatus, ItemOutcome
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from cpor.models import Program
from cpor.tests.factories import MpnIdFactory
from tenants.models import Channel, SolutionArea, SubscriptionStatus
from tenants.tests.factories import M365ProductFactory, ProductFactory, SubscriptionFactory, TenantFactory

pytestmark = pytest.mark.django_db


def codes(problems):
    return [problem.code for problem in problems]


class TestDomainTenant:
    def test_a_verified_domain_of_the_tenant_matches_in_any_letter_case(self):
        tenant = TenantFactory(domains=["contoso.onmicrosoft.com", "contoso.fr"])
        assert validation.tenant_for(" Contoso.FR ", str(tenant.tenant_id).upper()) == tenant

    def test_domain_of_another_tenant_is_a_mismatch(self):
        tenant = TenantFactory(domains=["contoso.fr"])
        TenantFactory(domains=["litware.com"])
        assert validation.tenant_for("litware.com", tenant.tenant_id) is None

    def test_unknown_domain_or_tenant_is_a_mismatch(self):
        tenant = TenantFactory(domains=["contoso.fr"])
        assert validation.tenant_for("unknown.example", tenant.tenant_id) is None
        assert validation.tenant_for("contoso.fr", uuid.uuid4()) is None

    def test_a_malformed_tenant_id_is_a_mismatch_not_a_crash(self):
        TenantFactory(domains=["contoso.fr"])
        assert validation.tenant_for("contoso.fr", "not-a-guid") is None
        assert validation.parse_guid("not-a-guid") is None


class TestSubscriptions:
    def test_the_only_subscription_of_the_product_is_taken(self):
        subscription = SubscriptionFactory()
        found, problems = validation.resolve_subscription(subscription.tenant, subscription.product)
        assert found == subscription
        assert problems == []

    def test_several_subscriptions_of_the_product_require_a_subscription_id(self):
        subscription = SubscriptionFactory()
        SubscriptionFactory(tenant=subscription.tenant, product=subscription.product)
        found, problems = validation.resolve_subscription(subscription.tenant, subscription.product)
        assert found is None
        assert codes(problems) == ["subscription_required"]
        found, problems = validation.resolve_subscription(
            subscription.tenant, subscription.product, str(subscription.subscription_id).upper()
        )
        assert found == subscription and problems == []

    def test_product_not_on_the_tenant(self):
        tenant = TenantFactory()
        _, problems = validation.resolve_subscription(tenant, ProductFactory())
        assert codes(problems) == ["product_not_on_tenant"]

    def test_identifier_that_is_not_a_subscription_id(self):
        subscription = SubscriptionFactory()
        for text in ("12345", str(uuid.uuid4())):
            _, problems = validation.resolve_subscription(subscription.tenant, subscription.product, text)
            assert codes(problems) == ["not_a_subscription_id"]

    def test_subscription_of_another_tenant(self):
        subscription = SubscriptionFactory()
        other = SubscriptionFactory(product=subscription.product)
        _, problems = validation.resolve_subscription(
            subscription.tenant, subscription.product, str(other.subscription_id)
        )
        assert codes(problems) == ["subscription_not_on_tenant"]

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"channel": Channel.CSP}, "csp"),
            ({"provisioned": False}, "not_provisioned"),
            ({"status": SubscriptionStatus.DISABLED}, "subscription_not_active"),
            ({"status": SubscriptionStatus.DELETED}, "subscription_not_active"),
        ],
    )
    def test_each_subscription_error_has_its_own_reason(self, fields, code):
        subscription = SubscriptionFactory(**fields)
        _, problems = validation.resolve_subscription(subscription.tenant, subscription.product)
        assert codes(problems) == [code]

    def test_a_subscription_in_grace_is_claimable(self):
        subscription = SubscriptionFactory(status=SubscriptionStatus.IN_GRACE)
        _, problems = validation.resolve_subscription(subscription.tenant, subscription.product)
        assert problems == []

    def test_a_subscription_that_is_not_for_dynamics(self):
        m365 = M365ProductFactory()
        subscription = SubscriptionFactory(product=m365)
        _, problems = validation.resolve_subscription(subscription.tenant, m365, str(subscription.subscription_id))
        assert "not_dynamics" in codes(problems)

    def test_messages_use_the_troubleshooting_words_and_name_their_subject(self):
        problem = validation.Problem("csp", "2667c31e-8016-578d-b83d-a0faa6369a17")
        assert problem.message.startswith("2667c31e-8016-578d-b83d-a0faa6369a17: The subscription provided is for CSP.")
        assert "correct tenant ID" in problem.message
        assert validation.Problem.from_dict(problem.as_dict()) == problem


class TestWorkloads:
    def test_a_workload_of_a_live_m365_subscription_exists_on_the_tenant(self):
        product = M365ProductFactory()
        subscription = SubscriptionFactory(product=product)
        exchange = product.workloads.get(name="Exchange Online")
        assert validation.workload_problems(subscription.tenant, exchange) == []

    def test_a_workload_without_a_live_subscription_does_not_exist_on_the_tenant(self):
        product = M365ProductFactory()
        subscription = SubscriptionFactory(product=product, status=SubscriptionStatus.DISABLED)
        exchange = product.workloads.get(name="Exchange Online")
        assert codes(validation.workload_problems(subscription.tenant, exchange)) == ["workload_not_on_tenant"]


class TestEnrolment:
    def test_an_activity_tied_to_a_programme_needs_an_mpn_enrolled_in_it(self):
        mpn = MpnIdFactory(osa_sell=False, osu_bizapps=True, osu_m365=False)
        assert codes(validation.mpn_problems(mpn, (Program.OSU_BIZAPPS, Program.OSA_SELL))) == ["mpn_not_enrolled"]
        assert validation.mpn_problems(mpn, (Program.OSU_BIZAPPS,)) == []

    def test_revenue_association_needs_no_enrolment(self):
        mpn = MpnIdFactory(osa_sell=False, osu_bizapps=False, osu_m365=False)
        assert validation.mpn_problems(mpn, ("",)) == []


class TestCompetition:
    def _open_item(self, **claim_fields):
        item = SubscriptionItemFactory(claim=ClaimFactory(status=ClaimStatus.UNDER_REVIEW, **claim_fields))
        return item

    def test_another_partners_open_claim_on_the_item_is_a_competing_claim(self):
        held = self._open_item()
        newcomer = MpnIdFactory().partner
        assert validation.is_competing(partner=newcomer, item_key=held.item_key, program=held.program)

    def test_the_same_item_in_another_programme_does_not_compete(self):
        held = self._open_item()
        newcomer = MpnIdFactory().partner
        assert not validation.is_competing(partner=newcomer, item_key=held.item_key, program=Program.OSA_SELL)

    def test_revenue_association_items_never_compete(self):
        held = self._open_item()
        newcomer = MpnIdFactory().partner
        assert not validation.is_competing(partner=newcomer, item_key=held.item_key, program="")

    def test_the_partners_own_open_claim_is_already_claimed_not_competing(self):
        held = self._open_item()
        partner = held.claim.partner
        assert not validation.is_competing(partner=partner, item_key=held.item_key, program=held.program)
        assert validation.held_by_own_partner(partner=partner, item_key=held.item_key, program=held.program)
        assert not validation.held_by_own_partner(
            partner=partner, item_key=held.item_key, program=held.program, exclude_claim_id=held.claim_id
        )

    def test_closed_claims_and_rejected_items_hold_nothing(self):
        rejected = SubscriptionItemFactory(
            claim=ClaimFactory(status=ClaimStatus.REJECTED), outcome=ItemOutcome.REJECTED
        )
        newcomer = MpnIdFactory().partner
        assert not validation.is_competing(partner=newcomer, item_key=rejected.item_key, program=rejected.program)

    def test_a_live_legacy_dynamics_association_of_another_partner_competes(self):
        from tenants.models import LegacyAssociation

        subscription = SubscriptionFactory()
        holder = MpnIdFactory()
        LegacyAssociation.objects.create(
            partner=holder.partner,
            mpn=holder,
            tenant=subscription.tenant,
            subscription=subscription,
            since="2019-01-01",
        )
        key = ClaimItem.key_for_subscription(subscription)
        newcomer = MpnIdFactory().partner
        assert validation.is_competing(
            partner=newcomer, item_key=key, program=Program.OSU_BIZAPPS, subscription=subscription
        )
        assert not validation.is_competing(
            partner=holder.partner, item_key=key, program=Program.OSU_BIZAPPS, subscription=subscription
        )


def test_every_problem_code_has_a_message():
    for code in validation.MESSAGES:
        assert validation.Problem(code).message
    assert SolutionArea.BUSINESS_APPLICATIONS


def test_the_not_provisioned_message_gives_its_advice_once():
    message = validation.Problem("not_provisioned").message
    assert "Contact your customer" in message
    assert str(validation.CHECK_WITH_CUSTOMER) not in message


class TestContacts:
    """Issue 7: the customer's notice reaches the customer, and partner mail the partner."""

    def test_a_customer_address_on_a_verified_domain_or_a_subdomain_of_one_is_on_the_tenant(self):
        tenant = TenantFactory(domains=["contoso.onmicrosoft.com", "contoso.fr"])
        for address in ("ada@contoso.fr", "Ada@Contoso.FR", "ada@paris.contoso.fr", "tom@contoso.onmicrosoft.com"):
            assert validation.contact_problems(tenant=tenant, customer_email=address) == [], address

    def test_a_customer_address_off_the_tenants_domains_is_refused_lookalikes_included(self):
        tenant = TenantFactory(domains=["contoso.fr"])
        TenantFactory(domains=["fabrikam.example"])
        for address in (
            "someone@fabrikam.example",
            "ada@evilcontoso.fr",
            "ada@contoso.fr.evil.example",
            "ada@fr",
            "contoso.fr",
        ):
            assert codes(validation.contact_problems(tenant=tenant, customer_email=address)) == [
                "customer_contact_off_domain"
            ], address

    def test_the_technical_contact_is_on_the_tenants_domains_when_the_claim_needs_one(self):
        tenant = TenantFactory(domains=["contoso.fr"])
        problems = validation.contact_problems(
            tenant=tenant, customer_email="ada@contoso.fr", technical_email="tom@fabrikam.example", needs_technical=True
        )
        assert codes(problems) == ["technical_contact_off_domain"]
        assert (
            validation.contact_problems(
                tenant=tenant, customer_email="ada@contoso.fr", technical_email="", needs_technical=False
            )
            == []
        )

    def test_the_partner_contact_is_an_active_user_of_the_partner_in_any_letter_case(self, partner, other_partner):
        from cpor.models import Role
        from cpor.tests.factories import UserFactory, partner_user

        partner_user(partner, Role.BILLING_ADMIN, email="paula@fabrikam.example")
        partner_user(partner, Role.INCENTIVES_USER, email="gone@fabrikam.example", is_active=False)
        partner_user(other_partner, Role.INCENTIVES_ADMIN, email="nina@northwind.example")
        UserFactory(email="reviewer@vendor.example", is_staff=True)

        def problems(address):
            return codes(validation.partner_contact_problems(partner=partner, partner_email=address))

        assert problems("Paula@Fabrikam.Example") == []
        for address in (
            "gone@fabrikam.example",
            "nina@northwind.example",
            "reviewer@vendor.example",
            "stranger@x.example",
        ):
            assert problems(address) == ["partner_contact_not_a_user"], address

    def test_the_contact_rules_read_in_french(self):
        from django.utils import translation

        for code in ("customer_contact_off_domain", "technical_contact_off_domain", "partner_contact_not_a_user"):
            english = validation.Problem(code).message
            with translation.override("fr"):
                french = validation.Problem(code).message
            assert french != english, code
