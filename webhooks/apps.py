from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _queue_webhook_messages(sender, *, event, **kwargs) -> None:
    # Inside the transaction that wrote the event: the outbox rows commit (or roll back) with it.
    from .services import webhook_messages_record

    webhook_messages_record(event=event)


def _queue_webhook_messages_many(sender, *, events, **kwargs) -> None:
    # Events written together (claims.lifecycle.record_events): their endpoints read once.
    from .services import webhook_messages_record_many

    webhook_messages_record_many(events=events)


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self):
        from claims.signals import claim_event_recorded, claim_events_recorded
        from cpor.periodic import periodic_job_register

        from . import services

        claim_event_recorded.connect(_queue_webhook_messages, dispatch_uid="webhooks.outbox")
        claim_events_recorded.connect(_queue_webhook_messages_many, dispatch_uid="webhooks.outbox_many")
        periodic_job_register("webhooks", services.webhook_messages_deliver_due, uses_clock=True)
