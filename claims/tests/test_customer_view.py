"""The customer's view (issue 9, section 7): the page the opt-out link opens also lists every
current association on the customer's tenant, naming partners and items and nothing else."""

import datetime

import pytest
import time_machine

from claims.models import ItemOutcome
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory, WorkloadItemFactory
from claims.tests.test_optout import path_of
from claims.tests.test_pipeline import MONDAY_MORNING, validated_claim
from claims.tests.test_review import put_approved, put_under_review
from cpor.tests.factories import MpnIdFactory, PartnerFactory
from tenants.models import LegacyAssociation
from tenants.tests.factories import SubscriptionFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

DECIDED = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


def approved_claim_of(partner_name, tenant, **item):
    claim = ClaimFactory(
        mpn=MpnIdFactory(partner=PartnerFactory(name=partner_name)), tenant=tenant, **item.pop("claim", {})
    )
    SubscriptionItemFactory(claim=claim, outcome=ItemOutcome.APPROVED, decided_at=DECIDED, **item)
    return put_approved(claim)


def page_of(client, claim, lang="en"):
    with time_machine.travel(MONDAY_MORNING, tick=False):
        response = client.get(path_of(claim), {"lang": lang})
    assert response.status_code == 200
    return response.content.decode()


def section_of(page: str) -> str:
    return page.split('data-testid="current-associations"', 1)[1]


def test_the_page_lists_every_current_association_on_the_tenant(client):
    claim = validated_claim()
    tenant = claim.tenant
    approved_claim_of("Litware Partners", tenant, subscription=SubscriptionFactory(tenant=tenant))
    LegacyAssociation.objects.create(
        partner=PartnerFactory(name="Adatum Legacy"),
        mpn=MpnIdFactory(),
        tenant=tenant,
        workload=WorkloadFactory(name="Exchange Online"),
        since=datetime.date(2019, 5, 1),
    )
    section = section_of(page_of(client, claim))
    assert "Litware Partners" in section
    assert "Adatum Legacy" in section and "Exchange Online" in section
    assert "Association from before claims" in section
    assert section.index("Adatum Legacy") < section.index("Litware Partners")  # by partner name


def test_what_is_not_current_is_not_listed(client):
    claim = validated_claim()
    tenant = claim.tenant
    pending = ClaimFactory(mpn=MpnIdFactory(partner=PartnerFactory(name="Pending Partner")), tenant=tenant)
    WorkloadItemFactory(claim=pending)
    put_under_review(pending)
    ended = approved_claim_of("Ended Partner", tenant, subscription=SubscriptionFactory(tenant=tenant))
    ended.items.update(outcome=ItemOutcome.ENDED)
    LegacyAssociation.objects.create(
        partner=PartnerFactory(name="Gone Legacy"),
        mpn=MpnIdFactory(),
        tenant=tenant,
        workload=WorkloadFactory(),
        since=datetime.date(2019, 5, 1),
        ended_at=DECIDED,
    )
    approved_claim_of("Elsewhere Partner", SubscriptionFactory().tenant)
    section = section_of(page_of(client, claim))
    for name in ("Pending Partner", "Ended Partner", "Gone Legacy", "Elsewhere Partner"):
        assert name not in section
    assert 'data-testid="no-associations"' in section


def test_the_list_names_partners_and_items_and_nothing_else(client):
    claim = validated_claim()
    tenant = claim.tenant
    other = approved_claim_of("Litware Partners", tenant, subscription=SubscriptionFactory(tenant=tenant))
    section = section_of(page_of(client, claim))
    for private in (
        other.mpn.mpn_id,
        other.partner_contact_email,
        other.customer_contact_email,
        other.partner_contact_name,
        other.name,
    ):
        assert private not in section


def test_the_list_reads_in_french(client):
    claim = validated_claim()
    approved_claim_of("Litware Partners", claim.tenant, subscription=SubscriptionFactory(tenant=claim.tenant))
    section = section_of(page_of(client, claim, lang="fr"))
    assert "Partenaires enregistrés pour" in section
    assert "Depuis" in section


def test_an_invalid_link_shows_no_association(client):
    claim = validated_claim()
    approved_claim_of("Litware Partners", claim.tenant, subscription=SubscriptionFactory(tenant=claim.tenant))
    response = client.get(path_of(claim)[:-6] + "forged/")
    assert response.status_code == 404
    assert "Litware Partners" not in response.content.decode()
