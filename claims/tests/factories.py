import factory

from claims.models import Activity, Claim, ClaimItem, ClaimStatus
from cpor.models import Program
from cpor.tests.factories import MpnIdFactory
from tenants.models import SolutionArea
from tenants.tests.factories import SubscriptionFactory, TenantFactory


class ClaimFactory(factory.django.DjangoModelFactory):
    """A Business Applications Usage claim, complete enough to submit."""

    class Meta:
        model = Claim

    mpn = factory.SubFactory(MpnIdFactory)
    partner = factory.SelfAttribute("mpn.partner")
    name = factory.Sequence(lambda n: f"Claim {n}")
    tenant = factory.SubFactory(TenantFactory)
    tenant_guid = factory.SelfAttribute("tenant.tenant_id")
    domain = factory.LazyAttribute(lambda claim: claim.tenant.domains.first().name)
    solution_area = SolutionArea.BUSINESS_APPLICATIONS
    activity = Activity.USAGE
    customer_contact_name = "Ada Customer"
    customer_contact_title = "CIO"
    customer_contact_email = "ada@customer.example"
    technical_contact_name = "Tom Tech"
    technical_contact_title = "IT lead"
    technical_contact_email = "tom@customer.example"
    partner_contact_name = "Paula Partner"
    partner_contact_email = "paula@partner.example"
    status = ClaimStatus.DRAFT


class SubscriptionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimItem

    claim = factory.SubFactory(ClaimFactory)
    program = Program.OSU_BIZAPPS
    subscription = factory.SubFactory(SubscriptionFactory, tenant=factory.SelfAttribute("..claim.tenant"))
    product = factory.SelfAttribute("subscription.product")
    item_key = factory.LazyAttribute(lambda item: ClaimItem.key_for_subscription(item.subscription))
