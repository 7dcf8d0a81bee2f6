import factory

from claims.models import Activity, Claim, ClaimItem, ClaimStatus, ProofOfExecution
from cpor.models import Program
from cpor.tests.factories import MpnIdFactory
from tenants.models import SolutionArea
from tenants.tests.factories import M365ProductFactory, SubscriptionFactory, TenantFactory, WorkloadFactory


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
    # The customer's addresses are on the tenant's verified domain, and the partner contact is
    # one of the partner's active users (the contacts' rules): a claim built here passes.
    customer_contact_email = factory.LazyAttribute(lambda claim: f"ada@{claim.domain}")
    technical_contact_name = "Tom Tech"
    technical_contact_title = "IT lead"
    technical_contact_email = factory.LazyAttribute(lambda claim: f"tom@{claim.domain}")
    partner_contact_name = "Paula Partner"
    partner_contact_email = factory.LazyAttribute(lambda claim: partner_contact_for(claim.partner))
    status = ClaimStatus.DRAFT


def partner_contact_for(partner) -> str:
    """The address of one of the partner's active users, making one (Paula, an Incentives
    user) when the partner has none yet."""
    from claims.validation import partner_contact_users
    from cpor.models import Role
    from cpor.tests.factories import partner_user

    existing = partner_contact_users(partner).order_by("pk").values_list("email", flat=True).first()
    if existing:
        return existing
    return partner_user(partner, Role.INCENTIVES_USER, email=f"paula@{partner.partner_id}.partner.example").email


class SubscriptionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimItem

    claim = factory.SubFactory(ClaimFactory)
    program = Program.OSU_BIZAPPS
    subscription = factory.SubFactory(SubscriptionFactory, tenant=factory.SelfAttribute("..claim.tenant"))
    product = factory.SelfAttribute("subscription.product")
    item_key = factory.LazyAttribute(lambda item: ClaimItem.key_for_subscription(item.subscription))


class WorkloadItemFactory(factory.django.DjangoModelFactory):
    """A Microsoft 365 item: a workload of the claim's tenant, for OSU-M365."""

    class Meta:
        model = ClaimItem

    claim = factory.SubFactory(ClaimFactory, solution_area=SolutionArea.MICROSOFT_365, activity=Activity.USAGE)
    program = Program.OSU_M365
    workload = factory.SubFactory(WorkloadFactory)
    product = factory.SubFactory(M365ProductFactory)
    subscription = None
    item_key = factory.LazyAttribute(lambda item: ClaimItem.key_for_workload(item.claim.tenant, item.workload))


# A minimal but real PDF: what libmagic recognises as application/pdf.
PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


class ProofFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProofOfExecution

    claim = factory.SubFactory(ClaimFactory)
    file = factory.django.FileField(data=PDF_BYTES, filename="poe")
    original_name = "statement-of-work.pdf"
    content_type = "application/pdf"
    size = len(PDF_BYTES)


def directory_world(partner=None):
    """The master data the partner-side tests file against, as a namespace.

    One customer tenant (Contoso) with a verified domain pair, and on it: a Dynamics 365
    product with one claimable subscription, one with two subscriptions (the partner must
    name one), one bought through CSP, one not yet provisioned, and a Microsoft 365 E3
    subscription carrying three workloads. The partner has one MPN ID enrolled everywhere
    and one enrolled nowhere, and a user, Paula (paula@fabrikam.example), whom the wizard's
    tests name as the partner's contact.
    """
    from types import SimpleNamespace

    from cpor.models import Role
    from cpor.tests.factories import PartnerFactory, partner_user
    from tenants.models import Channel
    from tenants.tests.factories import ProductFactory

    partner = partner or PartnerFactory()
    tenant = TenantFactory(name="Contoso", domains=["contoso.onmicrosoft.com", "contoso.fr"])
    sales = ProductFactory(code="D365_SALES", name="Dynamics 365 Sales")
    service = ProductFactory(code="D365_SERVICE", name="Dynamics 365 Customer Service")
    finance = ProductFactory(code="D365_FINANCE", name="Dynamics 365 Finance")
    field = ProductFactory(code="D365_FIELD", name="Dynamics 365 Field Service")
    m365 = M365ProductFactory()
    world = SimpleNamespace(
        partner=partner,
        mpn=MpnIdFactory(partner=partner, mpn_id="1234567", location="Paris, FR"),
        unenrolled_mpn=MpnIdFactory(
            partner=partner, mpn_id="7654321", location="Lyon, FR", osa_sell=False, osu_m365=False, osu_bizapps=False
        ),
        tenant=tenant,
        domain="contoso.fr",
        sales=sales,
        sales_subscription=SubscriptionFactory(tenant=tenant, product=sales),
        service=service,
        service_subscriptions=[
            SubscriptionFactory(tenant=tenant, product=service),
            SubscriptionFactory(tenant=tenant, product=service),
        ],
        finance=finance,
        finance_subscription=SubscriptionFactory(tenant=tenant, product=finance, channel=Channel.CSP),
        field=field,
        field_subscription=SubscriptionFactory(tenant=tenant, product=field, provisioned=False),
        m365=m365,
        m365_subscription=SubscriptionFactory(tenant=tenant, product=m365),
        workloads={workload.name: workload for workload in m365.workloads.all()},
        other_tenant=TenantFactory(name="Litware", domains=["litware.com"]),
        contact=partner_user(partner, Role.INCENTIVES_USER, email="paula@fabrikam.example"),
    )
    return world
