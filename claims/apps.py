from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _check_subscriptions_after_import(sender, **kwargs) -> str:
    from .pipeline import subscriptions_check

    ended = subscriptions_check()
    if not ended:
        return ""
    return f"{ended} approved item(s) ended: their subscription is no longer active or in grace."


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("Customer associations")

    def ready(self):
        from cpor.periodic import periodic_job_register
        from tenants.signals import directory_imported

        from . import followup, notices, pipeline

        # A subscription whose status changed in the feed ends the approved items it held.
        directory_imported.connect(_check_subscriptions_after_import, dispatch_uid="claims.subscriptions_check")
        periodic_job_register("validated", pipeline.claims_validate_submitted)
        # Customer notices before the timer: a notice sent now starts its claim's window.
        periodic_job_register("customer_emails", notices.customer_emails_retry)
        periodic_job_register("approved", pipeline.claims_approve_due, uses_clock=True)
        periodic_job_register("ended", pipeline.subscriptions_check, uses_clock=True)
        # Reminders before the "No response" rejection, so a pass at the deadline reminds first.
        periodic_job_register("response_reminders", followup.response_reminders_send, uses_clock=True)
        periodic_job_register("no_response", followup.claims_reject_unanswered, uses_clock=True)
        periodic_job_register("disassociation_emails", followup.disassociation_emails_retry)
