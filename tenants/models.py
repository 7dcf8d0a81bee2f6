"""Customer tenants and what they hold: domains, subscriptions, monthly usage.

Also the vendor's product catalogue and the associations that predate the claim model.
GUIDs are stored as UUIDs (normalised, so they compare case-insensitively) and domain
names are stored lower-case with a constraint that says so.
"""

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SolutionArea(models.TextChoices):
    BUSINESS_APPLICATIONS = "Business Applications", _("Business Applications")
    MICROSOFT_365 = "Microsoft 365", _("Microsoft 365")


class Workload(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("workload")
        verbose_name_plural = pgettext_lazy("model", "workloads")

    def __str__(self):
        return self.name


class Product(models.Model):
    code = models.CharField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=200)
    solution_area = models.CharField(_("solution area"), max_length=32, choices=SolutionArea.choices)
    family = models.CharField(_("family"), max_length=100)
    workloads = models.ManyToManyField(
        Workload, blank=True, related_name="products", verbose_name=pgettext_lazy("model", "workloads")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("product")
        verbose_name_plural = pgettext_lazy("model", "products")
        constraints = [
            models.CheckConstraint(condition=models.Q(solution_area__in=SolutionArea.values), name="product_area_valid")
        ]

    def __str__(self):
        return self.name

    @property
    def is_dynamics(self) -> bool:
        return self.family == "Dynamics 365"


class Tenant(models.Model):
    """A customer's directory; its Tenant ID is the Directory ID."""

    tenant_id = models.UUIDField(_("tenant ID"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    country = models.CharField(_("country"), max_length=2)
    subdivision = models.CharField(_("subdivision"), max_length=10, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64)
    language = models.CharField(_("language"), max_length=8, default="en")
    # The customer's own notification addresses, as the directory holds them (feed format 1.1):
    # every customer notice about a claim on this tenant goes to each of them too.
    notification_emails = models.JSONField(
        _("notification emails"),
        default=list,
        blank=True,
        help_text=_("The customer's own notification addresses, from the directory feed."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        # Lists of claims or usage sorted by customer walk the customers in name order.
        indexes = [models.Index(fields=["name", "id"], name="tenant_name")]

    def __str__(self):
        return f"{self.name} ({self.tenant_id})"


class Domain(models.Model):
    """A verified domain of a tenant; names are unique across tenants, compared lower-case."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains", verbose_name=_("tenant"))
    name = models.CharField(_("domain"), max_length=253, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")
        constraints = [models.CheckConstraint(condition=models.Q(name=Lower("name")), name="domain_name_lowercase")]

    def __str__(self):
        return self.name


class Channel(models.TextChoices):
    VOLUME_LICENSING = "Volume Licensing", _("Volume Licensing")
    WEB_DIRECT = "Web Direct", _("Web Direct")
    CSP = "CSP", _("CSP")


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    IN_GRACE = "in_grace", _("In grace")
    DISABLED = "disabled", _("Disabled")
    DELETED = "deleted", _("Deleted")


LIVE_SUBSCRIPTION_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.IN_GRACE)


class Subscription(models.Model):
    subscription_id = models.UUIDField(_("subscription ID"), unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("tenant"))
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("product")
    )
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=SubscriptionStatus.choices)
    provisioned = models.BooleanField(_("provisioned"), default=False)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))

    class Meta:
        ordering = ["tenant", "product", "start_date"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            # The few subscriptions that ended: where the subscription checks (claims.pipeline)
            # start every minute, instead of reading the whole table.
            models.Index(
                fields=["id"], condition=~models.Q(status__in=LIVE_SUBSCRIPTION_STATUSES), name="subscription_not_live"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(channel__in=Channel.values), name="subscription_channel_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=SubscriptionStatus.values), name="subscription_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.product} {self.subscription_id}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_SUBSCRIPTION_STATUSES


class Usage(models.Model):
    """One month of a tenant's usage of a workload (or, for Business Applications, a product code).

    Business Applications figures may be for one subscription (feed format 1.1): a tenant with
    several subscriptions to one product then has one row per subscription and month, and the
    row's workload is that subscription's product code. Figures without a subscription are the
    tenant's, for the product as a whole (format 1).
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="usage", verbose_name=_("tenant"))
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="usage",
        verbose_name=_("subscription"),
        help_text=_("Business Applications: the subscription the figures are for."),
    )
    workload = models.CharField(_("workload"), max_length=100)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    monthly_active_users = models.PositiveIntegerField(_("monthly active users"))
    paid_available_units = models.PositiveIntegerField(_("paid available units"))

    class Meta:
        ordering = ["tenant", "workload", "month"]
        verbose_name = _("usage")
        verbose_name_plural = _("usage")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "workload", "month"],
                condition=models.Q(subscription__isnull=True),
                name="usage_unique_per_month",
            ),
            models.UniqueConstraint(
                fields=["subscription", "month"],
                condition=models.Q(subscription__isnull=False),
                name="usage_unique_per_subscription_month",
            ),
            models.CheckConstraint(condition=models.Q(month__day=1), name="usage_month_first_day"),
        ]


class LegacyAssociation(models.Model):
    """An association from before the claim model.

    Dynamics 365 and Power BI ones (with a subscription) stay valid until the subscription
    expires; Microsoft 365 ones (with a workload) must be re-associated through a claim.
    """

    partner = models.ForeignKey(
        "cpor.Partner", on_delete=models.CASCADE, related_name="legacy_associations", verbose_name=_("partner")
    )
    mpn = models.ForeignKey(
        "cpor.MpnId", on_delete=models.CASCADE, related_name="legacy_associations", verbose_name=_("MPN ID")
    )
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="legacy_associations", verbose_name=_("tenant")
    )
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="legacy_associations",
        verbose_name=_("subscription"),
    )
    workload = models.ForeignKey(
        Workload,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="legacy_associations",
        verbose_name=_("workload"),
    )
    since = models.DateField(_("since"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("legacy association")
        verbose_name_plural = _("legacy associations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(subscription__isnull=False, workload__isnull=True)
                | models.Q(subscription__isnull=True, workload__isnull=False),
                name="legacy_subscription_xor_workload",
            ),
            models.UniqueConstraint(
                fields=["mpn", "tenant", "subscription"],
                condition=models.Q(subscription__isnull=False),
                name="legacy_unique_subscription",
            ),
            models.UniqueConstraint(
                fields=["mpn", "tenant", "workload"],
                condition=models.Q(workload__isnull=False),
                name="legacy_unique_workload",
            ),
        ]

    def __str__(self):
        return f"{self.partner} → {self.tenant} ({self.subscription or self.workload})"
