"""Partner emails in the Django admin, for the reviewers: what went out, what waits, what failed."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from cpor import access
from cpor.admin_mixins import OutboxAdminMixin, ReadOnlyAdminMixin

from .models import PartnerEmail


@admin.register(PartnerEmail)
class PartnerEmailAdmin(OutboxAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "event_claim", "recipient", *OutboxAdminMixin.OUTBOX_COLUMNS)
    search_fields = ("=event__claim__id", "recipient")
    list_select_related = ("event__claim",)
    fields = readonly_fields = ("event", "recipient", "language", *OutboxAdminMixin.OUTBOX_FIELDS)

    def has_module_permission(self, request):
        return access.is_reviewer(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_reviewer(request.user)

    @admin.display(description=_("claim"), ordering="event__claim_id")
    def event_claim(self, email):
        return email.event.claim
