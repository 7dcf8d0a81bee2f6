"""Reads for the webhooks pages: scoped to the user's partner, 404 for anything else."""

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from cpor import access

from .models import WebhookAttempt, WebhookEndpoint, WebhookMessage


def _partner_or_404(user):
    partner = access.partner_of(user)
    if partner is None:
        raise Http404
    return partner


def endpoint_list_visible_to(user) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(partner=_partner_or_404(user)).order_by("created_at", "id")


def endpoint_get_for_user(user, pk) -> WebhookEndpoint:
    endpoint = endpoint_list_visible_to(user).filter(pk=pk).first()
    if endpoint is None:
        raise Http404
    return endpoint


def endpoint_messages(endpoint: WebhookEndpoint, limit: int = 100) -> QuerySet[WebhookMessage]:
    """The delivery log: the newest messages, each with its attempts."""
    attempts = Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("attempted_at", "id"))
    return endpoint.messages.prefetch_related(attempts).order_by("-created_at", "-id")[:limit]
