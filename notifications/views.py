"""The user's notifications, mounted at /notifications/ (namespace "notifications")."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cpor.access import partner_required

from . import selectors, services, texts


@partner_required()
def notification_list(request):
    """Newest first, a page at a time; unread ones stand out until opened or marked read."""
    page = Paginator(selectors.notifications_of(request.user), 25).get_page(request.GET.get("page"))
    rows = [(notification, texts.describe(notification.event)) for notification in page.object_list]
    return render(
        request,
        "notifications/list.html",
        {
            "nav": "notifications",
            "breadcrumbs": [(_("Notifications"), None)],
            "page": page,
            "rows": rows,
        },
    )


@require_POST
@partner_required()
def notification_open(request, pk):
    """Mark the notification read and go to its claim. A POST: a GET must change nothing
    (link prefetchers and scanners follow links)."""
    notification = selectors.notification_get_for_user(request.user, pk)
    services.notification_mark_read(user=request.user, notification_id=notification.pk)
    return redirect(reverse("claims:detail", args=[notification.claim_id]))


@require_POST
@partner_required()
def notification_mark_all_read(request):
    services.notifications_mark_all_read(user=request.user)
    return redirect("notifications:list")
