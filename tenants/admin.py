"""Master data in the Django admin, for reviewers: browse and search, never edit.

The directory feed (`manage.py import_directory`) owns tenants, domains, products,
subscriptions, usage and legacy associations: an edit made here would silently disagree
with the vendor's systems and be overwritten by the next feed. So every page here is
read-only, for reviewers and superusers alike; they need the "view" permission only.

Tenant and subscription IDs are GUIDs: a search term that is a GUID, in any letter case,
matches it exactly (the stored UUID), instead of a text search over its printed form.
"""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from cpor.admin_mixins import ReadOnlyAdminMixin

from .identifiers import parse_guid
from .models import Domain, LegacyAssociation, Product, Subscription, Tenant, Usage, Workload


class GuidSearchMixin:
    """A GUID search term matches `guid_search_fields` exactly; other terms search as usual."""

    guid_search_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        guid = parse_guid(search_term)
        if guid is None:
            return super().get_search_results(request, queryset, search_term)
        condition = Q()
        for name in self.guid_search_fields:
            condition |= Q(**{name: guid})
        # The GUID fields are the model's own or across foreign keys: no row can repeat.
        return queryset.filter(condition), False


class DomainInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Domain
    extra = 0


class SubscriptionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ("subscription_id", "product", "channel", "status", "provisioned", "start_date", "end_date")
    show_change_link = True


class TenantLegacyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LegacyAssociation
    extra = 0
    fields = ("partner", "mpn", "subscription", "workload", "since", "ended_at")


@admin.register(Tenant)
class TenantAdmin(GuidSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "tenant_id", "domain_names", "country", "subdivision", "time_zone", "language")
    fields = ("tenant_id", "name", "country", "subdivision", "time_zone", "language", "notification_addresses")
    readonly_fields = ("notification_addresses",)
    list_filter = ("country", "language")
    search_fields = ("name", "domains__name")
    guid_search_fields = ("tenant_id",)
    search_help_text = _("Tenant ID (exact), customer name or domain.")
    inlines = (DomainInline, SubscriptionInline, TenantLegacyInline)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains")

    @admin.display(description=_("domains"))
    def domain_names(self, tenant):
        return ", ".join(domain.name for domain in tenant.domains.all())

    @admin.display(description=_("notification emails"))
    def notification_addresses(self, tenant):
        return ", ".join(tenant.notification_emails) or "-"


@admin.register(Subscription)
class SubscriptionAdmin(GuidSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subscription_id", "tenant", "product", "channel", "status", "provisioned", "end_date")
    list_filter = ("status", "channel", "provisioned", "product__solution_area", "product")
    list_select_related = ("tenant", "product")
    search_fields = ("tenant__name", "product__name", "product__code")
    guid_search_fields = ("subscription_id", "tenant__tenant_id")
    search_help_text = _("Subscription ID or tenant ID (exact), customer name or product.")
    date_hierarchy = "end_date"


@admin.register(Product)
class ProductAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "solution_area", "family", "workload_names")
    list_filter = ("solution_area", "family")
    search_fields = ("code", "name", "workloads__name")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("workloads")

    @admin.display(description=pgettext_lazy("model", "workloads"))
    def workload_names(self, product):
        return ", ".join(workload.name for workload in product.workloads.all())


@admin.register(Workload)
class WorkloadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


@admin.register(Usage)
class UsageAdmin(GuidSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("tenant", "workload", "subscription_guid", "month", "monthly_active_users", "paid_available_units")
    list_filter = ("workload", "month")
    list_select_related = ("tenant", "subscription")
    search_fields = ("tenant__name", "workload")
    guid_search_fields = ("tenant__tenant_id", "subscription__subscription_id")
    search_help_text = _("Tenant or subscription ID (exact), customer name or workload.")
    date_hierarchy = "month"

    @admin.display(description=_("subscription ID"), ordering="subscription__subscription_id")
    def subscription_guid(self, usage):
        return usage.subscription.subscription_id if usage.subscription else "-"


@admin.register(LegacyAssociation)
class LegacyAssociationAdmin(GuidSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("tenant", "partner", "mpn", "subscription", "workload", "since", "ended_at")
    list_filter = (("ended_at", admin.EmptyFieldListFilter), "workload", "partner")
    list_select_related = ("tenant", "partner", "mpn", "subscription__product", "workload")
    search_fields = ("tenant__name", "partner__name", "partner__partner_id", "mpn__mpn_id")
    guid_search_fields = ("tenant__tenant_id", "subscription__subscription_id")
    search_help_text = _("Tenant or subscription ID (exact), customer, partner or MPN ID.")
