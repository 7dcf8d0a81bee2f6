"""The two columns the database copies (claims migration 0012): a claim's `tenant_name`, and
an item's `partner`. Whatever path writes a claim, an item or a tenant, and even a hostile
write of the copy itself, the copy is the original's."""

import io
import json

import pytest
from django.db import connection
from django.utils import timezone

from claims import selectors, services, usage
from claims.models import Claim, ClaimItem, ItemOutcome
from claims.selectors import ClaimFilters
from claims.services import ProductChoice
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory, WorkloadItemFactory, directory_world
from cpor.tests.factories import MpnIdFactory
from tenants.importer import directory_import
from tenants.models import Tenant
from tenants.tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def stored_tenant_name(claim) -> str | None:
    return Claim.objects.values_list("tenant_name", flat=True).get(pk=claim.pk)


def stored_partner(item) -> int | None:
    return ClaimItem.objects.values_list("partner_id", flat=True).get(pk=item.pk)


class TestTheCustomersName:
    def test_a_new_claim_carries_its_tenants_name(self):
        claim = ClaimFactory(tenant=TenantFactory(name="Fabrikam"))
        assert stored_tenant_name(claim) == "Fabrikam"

    def test_a_claim_without_a_tenant_has_no_name(self):
        claim = ClaimFactory(tenant=None, tenant_guid=TenantFactory().tenant_id, domain="unknown.example")
        assert stored_tenant_name(claim) is None

    def test_a_saved_claim_on_another_tenant_takes_that_tenants_name(self):
        claim = ClaimFactory(tenant=TenantFactory(name="Fabrikam"))
        claim.tenant = TenantFactory(name="Litware")
        claim.save()
        assert stored_tenant_name(claim) == "Litware"

    def test_a_set_of_claims_given_their_tenants_in_one_update_takes_their_names(self):
        # The validation of a set writes its claims' tenants with bulk_update (claims.pipeline).
        claims = [
            ClaimFactory(tenant=None, tenant_guid=TenantFactory().tenant_id, domain="x.example") for _ in range(3)
        ]
        tenants = [TenantFactory(name=name) for name in ("Alpha", "Bravo", "Charlie")]
        for claim, tenant in zip(claims, tenants, strict=True):
            claim.tenant = tenant
        Claim.objects.bulk_update(claims, ["tenant"])
        assert [stored_tenant_name(claim) for claim in claims] == ["Alpha", "Bravo", "Charlie"]

    def test_a_tenant_renamed_by_the_directory_import_renames_its_claims(self):
        claim = ClaimFactory(tenant=TenantFactory(name="Contoso Ltd"))
        other = ClaimFactory(tenant=TenantFactory(name="Litware"))
        tenant = claim.tenant
        record = {
            "type": "tenant",
            "tenant_id": str(tenant.tenant_id),
            "name": "Contoso Group",
            "country": tenant.country,
            "time_zone": tenant.time_zone,
            "language": tenant.language,
            "domains": list(tenant.domains.values_list("name", flat=True)),
        }
        report = directory_import(stream=io.BytesIO(json.dumps(record).encode()))

        assert report.counts["tenant"].updated == 1
        assert stored_tenant_name(claim) == "Contoso Group"
        assert stored_tenant_name(other) == "Litware"

    def test_a_tenant_renamed_by_a_queryset_update_renames_its_claims(self):
        claim = ClaimFactory(tenant=TenantFactory(name="Contoso Ltd"))
        Tenant.objects.filter(pk=claim.tenant_id).update(name="Contoso Group")
        assert stored_tenant_name(claim) == "Contoso Group"

    def test_the_application_cannot_write_a_false_name(self):
        # A hostile or careless write of the copy: the database puts the tenant's name back,
        # so no partner can move its claims up a list sorted by customer.
        claim = ClaimFactory(tenant=TenantFactory(name="Zeta"))
        Claim.objects.filter(pk=claim.pk).update(tenant_name="Aaa first")
        assert stored_tenant_name(claim) == "Zeta"

    def test_the_customer_sort_follows_a_rename(self, mpn, incentives_admin):
        alpha = ClaimFactory(partner=mpn.partner, mpn=mpn, tenant=TenantFactory(name="Alpha"))
        bravo = ClaimFactory(partner=mpn.partner, mpn=mpn, tenant=TenantFactory(name="Bravo"))
        sort = ClaimFilters(sort="customer")
        assert list(selectors.claim_list_visible_to(incentives_admin, sort)) == [alpha, bravo]

        Tenant.objects.filter(pk=alpha.tenant_id).update(name="Zulu")

        assert list(selectors.claim_list_visible_to(incentives_admin, sort)) == [bravo, alpha]
        assert list(selectors.claim_list_visible_to(incentives_admin, ClaimFilters(sort="-customer"))) == [
            alpha,
            bravo,
        ]

    def test_the_list_shows_the_tenants_current_name(self, mpn, incentives_admin):
        claim = ClaimFactory(partner=mpn.partner, mpn=mpn, tenant=TenantFactory(name="Contoso Ltd"))
        Tenant.objects.filter(pk=claim.tenant_id).update(name="Contoso Group")
        page = selectors.claim_list_page(incentives_admin, ClaimFilters(), None)
        assert [row.tenant_name for row in page.object_list] == ["Contoso Group"]


class TestTheItemsPartner:
    def test_an_item_carries_its_claims_partner(self):
        item = SubscriptionItemFactory()
        assert stored_partner(item) == item.claim.partner_id

    def test_items_written_by_the_wizard_carry_the_partner(self, partner, incentives_admin):
        from claims.tests.test_services import draft

        world = directory_world(partner)
        claim = draft(world, incentives_admin)
        services.claim_set_items(user=incentives_admin, claim_id=claim.pk, products=[ProductChoice(world.sales.pk)])

        assert claim.items.exists()
        assert set(claim.items.values_list("partner_id", flat=True)) == {partner.pk}
        assert stored_tenant_name(claim) == world.tenant.name

    def test_the_application_cannot_give_an_item_to_another_partner(self):
        item = WorkloadItemFactory()
        rival = MpnIdFactory().partner
        ClaimItem.objects.filter(pk=item.pk).update(partner=rival)
        assert stored_partner(item) == item.claim.partner_id

        item.partner = rival
        item.save()
        assert stored_partner(item) == item.claim.partner_id

    def test_the_usage_page_reads_only_the_partners_approved_items(self, incentives_admin, mpn):
        approved = {"outcome": ItemOutcome.APPROVED, "decided_at": timezone.now()}
        mine = SubscriptionItemFactory(claim=ClaimFactory(partner=mpn.partner, mpn=mpn), **approved)
        pending = SubscriptionItemFactory(claim=ClaimFactory(partner=mpn.partner, mpn=mpn))
        # Another partner's approved item on the same customer.
        SubscriptionItemFactory(claim=ClaimFactory(tenant=pending.claim.tenant), **approved)
        rows = usage.usage_rows_visible_to(incentives_admin)
        customers = rows._customers(None, 50)
        assert [tenant for _name, tenant in customers] == [mine.claim.tenant_id]
        assert [item["pk"] for item in rows._details([mine.claim.tenant_id, pending.claim.tenant_id])] == [mine.pk]


def test_the_copies_are_kept_by_triggers_in_the_database():
    # SQLite drops a table's triggers when a migration rebuilds the table: a later migration
    # that does so must create them again, and this test says when one forgot.
    catalogue = {
        "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
        "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(catalogue)
        names = {row[0] for row in cursor.fetchall()}
    expected = {
        "postgresql": {"claims_claim_tenant_name", "claims_tenant_renamed", "claims_claimitem_partner_id"},
        "sqlite": {
            "claims_claim_tenant_name_insert",
            "claims_claim_tenant_name_update",
            "claims_tenant_renamed",
            "claims_claimitem_partner_insert",
            "claims_claimitem_partner_update",
        },
    }[connection.vendor]
    assert expected <= names
