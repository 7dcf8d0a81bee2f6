"""What partners are told about their claims (PRODUCT.md section 6): an on-site notification
per partner user and event, and the partner emails with their delivery state.

Both are keyed on the claim event, so handling an event twice creates nothing twice.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One claim event, shown to one user of the claim's partner."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    claim = models.ForeignKey("claims.Claim", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("claims.ClaimEvent", on_delete=models.CASCADE, related_name="notifications")
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["event", "user"], name="notification_once_per_event_and_user")]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_user_recent"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_user_unread"),
        ]

    def __str__(self):
        return f"{self.user} · {self.event}"


class PartnerEmail(models.Model):
    """One email about one claim event to one address: sent exactly once.

    The row is written before sending and stamped `sent_at` when the mail server accepted it;
    an unsent row is retried (by the task, then by the periodic job) by the outbox policy
    (cpor/outbox.py): capped attempts with backoff, then failed, shown in the admin.
    """

    event = models.ForeignKey("claims.ClaimEvent", on_delete=models.CASCADE, related_name="partner_emails")
    recipient = models.EmailField(_("recipient"))
    language = models.CharField(_("language"), max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # The outbox policy's (cpor/outbox.py): when the next attempt is due, and the lease of
    # the worker sending it now.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("partner email")
        verbose_name_plural = _("partner emails")
        constraints = [models.UniqueConstraint(fields=["event", "recipient"], name="partner_email_once_per_event")]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="partner_email_unsent")
        ]

    def __str__(self):
        return f"{self.recipient} · {self.event}"


class CatchUpMark(models.Model):
    """How far the periodic catch-up (`services.notify_pending_events`) has seen every claim
    event handled: it never reads the events up to `last_event_id` again. One row."""

    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification catch-up mark")
        verbose_name_plural = _("notification catch-up marks")

    def __str__(self):
        return str(self.last_event_id)
