"""What the admin pages of several apps share."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox


class ReadOnlyAdminMixin:
    """Nobody adds, changes or deletes through this admin page: another part of the site is the
    only writer (the directory feed, the claim services)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OutboxStateFilter(admin.SimpleListFilter):
    """An outbox's rows by state: waiting to be sent, sent, failed (every attempt used)."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("waiting", _("Waiting")), ("sent", _("Sent")), ("failed", _("Failed"))]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(outbox.unsent()).exclude(outbox.failed())
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        if self.value() == "failed":
            return queryset.filter(outbox.failed())
        return queryset


class OutboxAdminMixin:
    """An outbox's admin page: its state as a column and a filter, and a retry for the rows
    that failed (cpor/outbox.py)."""

    actions = ["outbox_retry"]
    list_filter = (OutboxStateFilter,)
    show_full_result_count = False
    # The columns and fields every outbox shows after its own.
    OUTBOX_COLUMNS = ("state", "attempts", "next_attempt_at", "sent_at")
    OUTBOX_FIELDS = ("created_at", "sent_at", "attempts", "next_attempt_at", "last_error")

    @admin.display(description=_("state"))
    def state(self, row):
        return outbox.outbox_state(row)

    @admin.action(description=_("Try the selected unsent emails again"))
    def outbox_retry(self, request, queryset):
        count = outbox.outbox_retry(queryset)
        messages.success(
            request,
            ngettext("%(count)d email will be tried again.", "%(count)d emails will be tried again.", count)
            % {"count": count},
        )
