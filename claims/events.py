"""The actions a claim's History records (`ClaimEvent.action`), in one place.

Each member's value is what the database, the Partner API and the webhooks (`claim.<action>`)
carry; its label is what History shows. Every service records its events with a member
(`lifecycle.record_event` refuses any other string), so that a new action cannot reach
History, notifications or webhooks without a label.

The model field keeps no `choices`: the list may grow without a migration.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventAction(models.TextChoices):
    # The partner's own actions (claims.services).
    DRAFT_CREATED = "draft_created", _("Claim created")
    DRAFT_UPDATED = "draft_updated", _("Claim details changed")
    ITEMS_CHANGED = "items_changed", _("Products or workloads changed")
    CONTACTS_CHANGED = "contacts_changed", _("Contacts changed")
    POE_ADDED = "poe_added", _("Proof of execution added")
    POE_REMOVED = "poe_removed", _("Proof of execution removed")
    COMMENT_ADDED = "comment_added", _("Comment added")
    SUBMITTED = "submitted", _("Claim submitted")
    PARTNER_RESPONDED = "partner_responded", _("Partner answered the request for information")
    # The background pipeline (claims.pipeline, claims.notices).
    VALIDATED = "validated", _("Validation passed")
    VALIDATION_FAILED = "validation_failed", _("Validation failed")
    COMPETING_CLAIM = "competing_claim", _("Competing claim: items go to arbitration")
    CUSTOMER_NOTIFIED = "customer_notified", _("Customer emailed")
    OPTED_OUT = "opted_out", _("Customer opted out")
    ITEMS_APPROVED = "items_approved", _("Items approved")
    APPROVED = "approved", _("Claim approved")
    ITEM_ENDED = "item_ended", _("Item ended")
    ENDED = "ended", _("Association ended")
    # Reviewers (claims.review).
    REVIEWER_COMMENT = "reviewer_comment", _("Reviewer commented")
    INFORMATION_REQUESTED = "information_requested", _("Reviewer asked for more information")
    ITEM_APPROVED = "item_approved", _("Item approved")
    ARBITRATION_WON = "arbitration_won", _("Arbitration: your organisation was chosen")
    ITEM_REJECTED = "item_rejected", _("Item rejected")
    ITEMS_REJECTED = "items_rejected", _("Items rejected")
    REJECTED = "rejected", _("Claim rejected")
    # After the decision (claims.services, claims.review, claims.followup).
    DISPUTED = "disputed", _("Rejection disputed")
    DISPUTE_UPHELD = "dispute_upheld", _("Dispute answered: rejection upheld")
    DISPUTE_OVERTURNED = "dispute_overturned", _("Dispute answered: rejection overturned")
    DISASSOCIATED = "disassociated", _("Customer disassociated")
    RESPONSE_REMINDER = "response_reminder", _("Reminder: answer due")
    # The reviewers' desk (internal: partners never see these).
    CLAIM_TAKEN = "claim_taken", _("Reviewer took the claim")
    CLAIM_TAKEN_OVER = "claim_taken_over", _("Reviewer took the claim over")
    CLAIM_RELEASED = "claim_released", _("Reviewer released the claim")
