from django.apps import AppConfig


def _queue_partner_notification(sender, *, event, **kwargs) -> None:
    # Only the events the partner is told about reach the broker: a draft's edits send nothing.
    from .tasks import enqueue_event_notification
    from .texts import is_notified

    if is_notified(event):
        enqueue_event_notification(event.pk)


def _queue_partner_notifications(sender, *, events, **kwargs) -> None:
    # Events written together (the approval timer's sets): a few tasks for them all, not one each.
    from .tasks import enqueue_events_notification
    from .texts import is_notified

    notified = [event.pk for event in events if is_notified(event)]
    if notified:
        enqueue_events_notification(notified)


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from claims.signals import claim_event_recorded, claim_events_recorded
        from cpor.periodic import periodic_job_register

        from . import services

        claim_event_recorded.connect(_queue_partner_notification, dispatch_uid="notifications.partner_notification")
        claim_events_recorded.connect(_queue_partner_notifications, dispatch_uid="notifications.partner_notifications")
        periodic_job_register("partner_notifications", services.notify_pending_events)
        periodic_job_register("partner_emails", services.emails_retry_unsent)
