"""Webhooks: the endpoints a partner's Global admin registers, the outbox of claim events to
POST to them, and the log of every attempt with its response code.

A message is written in the transaction that records the claim event, so an event is never
lost and never sent for a change that rolled back; Celery and the periodic job deliver it at
least once. The receiver de-duplicates by `event_id` (header `X-CPOR-Event-Id`).
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEndpoint(models.Model):
    """An HTTPS address of the partner's, with the claim events it subscribes to.

    The signing secret must be readable by the server to sign each delivery, so it is stored
    as is; the page shows it once, when it is created or rotated.
    """

    partner = models.ForeignKey("cpor.Partner", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.url


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


# The one table of allowed changes: a pending message is delivered or, after the last
# attempt, failed; the partner may redeliver any finished message, which makes it pending.
MESSAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    MessageStatus.PENDING: frozenset({MessageStatus.DELIVERED, MessageStatus.FAILED}),
    MessageStatus.DELIVERED: frozenset({MessageStatus.PENDING}),
    MessageStatus.FAILED: frozenset({MessageStatus.PENDING}),
}


class WebhookMessage(models.Model):
    """One claim event for one endpoint: the outbox row, with the exact body that is signed."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages")
    # The claim event may go (a deleted draft takes its history with it); the body stays.
    claim_event = models.ForeignKey(
        "claims.ClaimEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    event_id = models.UUIDField(_("event ID"), default=uuid.uuid4, editable=False)
    event_type = models.CharField(_("event"), max_length=60)
    claim_id_sent = models.BigIntegerField(_("claim ID"))
    body = models.TextField()
    status = models.CharField(_("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set while a worker holds the message for one attempt; a worker that died frees it when it passes.
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook message")
        verbose_name_plural = _("webhook messages")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "claim_event"], name="webhook_message_once_per_event"),
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_message_event_id_unique"),
            models.CheckConstraint(
                condition=models.Q(status__in=MessageStatus.values), name="webhook_message_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_message_due",
            ),
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_message_recent"),
        ]

    def __str__(self):
        return f"{self.event_type} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One POST of a message: when, the response code or the error, and how long it took."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(_("time"))
    status_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    redelivery = models.BooleanField(_("redelivery"), default=False)

    class Meta:
        ordering = ["attempted_at", "id"]

    def __str__(self):
        return f"{self.message_id} {self.status_code or self.error}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
