"""Master data in the Django admin (tenants/admin.py): reviewers browse and search, nobody edits."""

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from cpor.models import Role
from cpor.reviewers import reviewers_group_ensure
from cpor.tests.factories import MpnIdFactory, PartnerFactory, UserFactory, partner_user
from tenants.models import LegacyAssociation, Subscription, Tenant, Usage
from tenants.tests.factories import M365ProductFactory, SubscriptionFactory, TenantFactory, WorkloadFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = ["tenant", "subscription", "product", "workload", "usage", "legacyassociation"]


@pytest.fixture
def reviewer():
    user = UserFactory(is_staff=True)
    group, _ = reviewers_group_ensure()
    user.groups.add(group)
    return user


@pytest.fixture
def directory():
    contoso = TenantFactory(name="Contoso", domains=["contoso.onmicrosoft.com", "contoso.fr"])
    litware = TenantFactory(name="Litware", domains=["litware.com"])
    subscription = SubscriptionFactory(tenant=contoso)
    SubscriptionFactory(tenant=litware)
    m365 = M365ProductFactory()
    SubscriptionFactory(tenant=contoso, product=m365)
    Usage.objects.create(
        tenant=contoso,
        workload="Exchange Online",
        month=datetime.date(2026, 9, 1),
        monthly_active_users=10,
        paid_available_units=12,
    )
    mpn = MpnIdFactory()
    LegacyAssociation.objects.create(
        partner=mpn.partner, mpn=mpn, tenant=contoso, workload=WorkloadFactory(), since=datetime.date(2019, 3, 1)
    )
    return {"contoso": contoso, "litware": litware, "subscription": subscription}


def changelist(model: str) -> str:
    return reverse(f"admin:tenants_{model}_changelist")


def listed(response) -> list:
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_a_reviewer_can_open_each_master_data_list(client, reviewer, directory, model):
    client.force_login(reviewer)

    response = client.get(changelist(model))

    assert response.status_code == 200
    assert listed(response)


@pytest.mark.parametrize("model", CHANGELISTS)
def test_a_partner_user_is_sent_to_the_admin_sign_in(client, model):
    client.force_login(partner_user(PartnerFactory(), Role.GLOBAL_ADMIN))

    response = client.get(changelist(model))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_an_anonymous_visitor_is_sent_to_the_admin_sign_in(client):
    response = client.get(changelist("tenant"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_reviewer_finds_a_tenant_by_its_guid_in_upper_case(client, reviewer, directory):
    client.force_login(reviewer)

    response = client.get(changelist("tenant"), {"q": str(directory["contoso"].tenant_id).upper()})

    assert listed(response) == [directory["contoso"]]


def test_a_reviewer_finds_a_tenant_by_a_domain_in_any_case(client, reviewer, directory):
    client.force_login(reviewer)

    response = client.get(changelist("tenant"), {"q": "Contoso.FR"})

    assert listed(response) == [directory["contoso"]]


def test_a_reviewer_finds_a_tenant_by_name(client, reviewer, directory):
    client.force_login(reviewer)

    response = client.get(changelist("tenant"), {"q": "litw"})

    assert listed(response) == [directory["litware"]]


def test_a_guid_search_that_matches_nothing_finds_nothing(client, reviewer, directory):
    client.force_login(reviewer)

    response = client.get(changelist("tenant"), {"q": str(uuid.uuid4())})

    assert listed(response) == []


def test_a_reviewer_finds_a_subscription_by_its_id(client, reviewer, directory):
    client.force_login(reviewer)
    subscription = directory["subscription"]

    response = client.get(changelist("subscription"), {"q": str(subscription.subscription_id).upper()})

    assert listed(response) == [subscription]


def test_a_reviewer_filters_subscriptions_by_status_channel_and_product(client, reviewer, directory):
    client.force_login(reviewer)
    subscription = directory["subscription"]
    subscription.status = "disabled"
    subscription.channel = "CSP"
    subscription.save()

    response = client.get(
        changelist("subscription"),
        {"status": "disabled", "channel": "CSP", "product__id__exact": subscription.product_id},
    )

    assert listed(response) == [subscription]


def test_a_reviewer_opens_a_tenant_with_its_domains_and_subscriptions(client, reviewer, directory):
    client.force_login(reviewer)
    contoso = directory["contoso"]

    response = client.get(reverse("admin:tenants_tenant_change", args=[contoso.pk]))

    assert response.status_code == 200
    assert b"contoso.onmicrosoft.com" in response.content
    assert str(directory["subscription"].subscription_id).encode() in response.content


def test_a_reviewer_sees_a_tenant_s_notification_emails_from_the_directory(client, reviewer, directory):
    client.force_login(reviewer)
    contoso = directory["contoso"]
    contoso.notification_emails = ["it-notifications@contoso.fr", "legal@contoso.fr"]
    contoso.save(update_fields=["notification_emails"])

    response = client.get(reverse("admin:tenants_tenant_change", args=[contoso.pk]))

    assert b"it-notifications@contoso.fr, legal@contoso.fr" in response.content


def test_a_reviewer_finds_a_subscription_s_usage_by_its_id(client, reviewer, directory):
    client.force_login(reviewer)
    subscription = directory["subscription"]
    figures = Usage.objects.create(
        tenant=subscription.tenant,
        subscription=subscription,
        workload=subscription.product.code,
        month=datetime.date(2026, 9, 1),
        monthly_active_users=3,
        paid_available_units=5,
    )

    response = client.get(changelist("usage"), {"q": str(subscription.subscription_id).upper()})

    assert listed(response) == [figures]


def test_master_data_is_read_only_in_the_admin_even_for_a_superuser(client, directory):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    contoso = directory["contoso"]
    change_url = reverse("admin:tenants_tenant_change", args=[contoso.pk])

    assert client.get(reverse("admin:tenants_tenant_add")).status_code == 403
    assert client.post(reverse("admin:tenants_tenant_delete", args=[contoso.pk]), {"post": "yes"}).status_code == 403
    client.post(change_url, {"name": "Renamed"})

    contoso.refresh_from_db()
    assert contoso.name == "Contoso"


def test_master_data_model_names_read_in_french():
    with translation.override("fr"):
        names = [str(model._meta.verbose_name_plural) for model in (Tenant, Subscription, LegacyAssociation)]

    assert names == ["locataires", "abonnements", "associations antérieures"]
