import datetime
import uuid

import factory

from tenants.models import Channel, Domain, Product, SolutionArea, Subscription, SubscriptionStatus, Tenant, Workload


class WorkloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workload
        django_get_or_create = ("name",)

    name = "Exchange Online"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D365_P{n}")
    name = factory.Sequence(lambda n: f"Dynamics 365 Product {n}")
    solution_area = SolutionArea.BUSINESS_APPLICATIONS
    family = "Dynamics 365"


class M365ProductFactory(ProductFactory):
    class Meta:
        skip_postgeneration_save = True

    code = "M365_E3"
    name = "Microsoft 365 E3"
    solution_area = SolutionArea.MICROSOFT_365
    family = "Microsoft 365"

    @factory.post_generation
    def workloads(obj, create, extracted, **kwargs):
        names = extracted or ["Exchange Online", "SharePoint Online", "Microsoft Teams"]
        obj.workloads.set([WorkloadFactory(name=name) for name in names])


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    tenant_id = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"Customer {n}")
    country = "FR"
    time_zone = "Europe/Paris"
    language = "fr"

    @factory.post_generation
    def domains(obj, create, extracted, **kwargs):
        names = extracted if extracted is not None else [f"{obj.name.lower().replace(' ', '')}.onmicrosoft.com"]
        for name in names:
            Domain.objects.create(tenant=obj, name=name)


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    subscription_id = factory.LazyFunction(uuid.uuid4)
    tenant = factory.SubFactory(TenantFactory)
    product = factory.SubFactory(ProductFactory)
    channel = Channel.VOLUME_LICENSING
    status = SubscriptionStatus.ACTIVE
    provisioned = True
    start_date = datetime.date(2026, 1, 1)
    end_date = datetime.date(2027, 12, 31)
