"""What the API says about a claim, built from the same selectors and presentation helpers
as the site's claim page, in the active language (the key owner's)."""

from __future__ import annotations

from django.utils import timezone

from claims import presentation, selectors, services
from claims.models import REVIEW_STATUSES, Claim, ClaimItem, ClaimStatus
from claims.validation import Problem
from tenants.models import SolutionArea


def item_payload(item: ClaimItem) -> dict:
    return {
        "id": item.pk,
        "label": item.label,
        "program": item.program,
        "outcome": item.outcome,
        "outcome_label": str(item.get_outcome_display()),
        "outcome_meaning": str(presentation.OUTCOME_MEANINGS.get(item.outcome, "")),
        "product": item.product.name if item.product_id else None,
        "subscription_id": item.subscription.subscription_id if item.subscription_id else None,
        "workload": item.workload.name if item.workload_id else None,
        "decided_at": item.decided_at,
    }


def claim_summary(claim: Claim) -> dict:
    return {
        "id": claim.pk,
        "name": claim.name,
        "status": claim.status,
        "status_label": str(claim.get_status_display()),
        "mpn_id": claim.mpn.mpn_id,
        "customer": claim.tenant.name if claim.tenant_id else None,
        "domain": claim.domain,
        "tenant_id": claim.tenant_guid,
        "solution_area": claim.solution_area,
        "activity": claim.activity,
        "items": [item_payload(item) for item in claim.items.all()],
        "created_at": claim.created_at,
        "submitted_at": claim.submitted_at,
        "opt_out_deadline": claim.opt_out_deadline,
    }


def _problems(claim: Claim) -> list[dict]:
    problems = []
    for entry in claim.validation_errors or []:
        try:
            problem = Problem.from_dict(entry)
            problems.append({"code": problem.code, "subject": problem.subject, "message": problem.message})
        except (KeyError, TypeError):
            problems.append({"code": "", "subject": "", "message": str(entry)})
    return problems


def proof_payload(proof) -> dict:
    return {
        "id": proof.pk,
        "file_name": proof.original_name,
        "content_type": proof.content_type,
        "size": proof.size,
        "uploaded_at": proof.uploaded_at,
    }


def comment_payload(comment) -> dict:
    return {
        "id": comment.pk,
        "author": presentation.actor_label(comment.author),
        "body": comment.body,
        "created_at": comment.created_at,
    }


def claim_detail(user, claim: Claim) -> dict:
    """Everything the claim page shows the partner: fields, status with what it means and
    what happens next, deadlines, items, PoE, the comments a partner may read, History."""
    status = presentation.status_text(claim)
    is_draft = claim.status == ClaimStatus.DRAFT
    return {
        **claim_summary(claim),
        "solution_seller_name": claim.solution_seller_name,
        "customer_name": claim.customer_name,
        "isv_solution_name": claim.isv_solution_name,
        "contacts": {field: getattr(claim, field) for field in services.CONTACT_FIELDS},
        "status_text": {
            "code": status.status,
            "label": status.label,
            "meaning": status.meaning,
            "next_step": status.next_step,
        },
        "rejection_reason": claim.rejection_reason,
        "validation_errors": _problems(claim),
        "notified_at": claim.notified_at,
        "opt_out_deadline_local": status.opt_out_deadline,
        "review_due_at": claim.review_due_at,
        "review_overdue": bool(
            claim.review_due_at and claim.review_due_at < timezone.now() and claim.status in REVIEW_STATUSES
        ),
        "decided_at": claim.decided_at,
        "missing_for_submission": [str(text) for text in services.claim_missing_for_submission(claim)]
        if is_draft
        else [],
        "competing": selectors.claim_competing_labels(claim) if is_draft else [],
        "proofs": [proof_payload(proof) for proof in selectors.claim_proofs(claim)],
        "comments": [comment_payload(comment) for comment in selectors.comments_visible_to(user, claim)],
        "history": [
            {
                "id": entry["event"].pk,
                "action": entry["event"].action,
                "label": entry["label"],
                "actor": entry["actor"],
                "from_status": entry["event"].from_status,
                "to_status": entry["event"].to_status,
                "details": [str(line) for line in entry["details"]],
                "created_at": entry["event"].created_at,
            }
            for entry in presentation.history_entries(selectors.claim_events_visible_to(user, claim))
        ],
    }


def item_options(claim: Claim) -> list[dict]:
    """The products or workloads a draft may claim, with what the directory already says."""
    business = claim.solution_area == SolutionArea.BUSINESS_APPLICATIONS
    options = selectors.product_options_for(claim) if business else selectors.workload_options_for(claim)
    return [
        {
            "id": option.pk,
            "name": option.name,
            "needs_subscription_id": option.needs_subscription_id,
            "problems": [problem.message for problem in option.problems],
            "competing": option.competing,
            "already_yours": option.own,
        }
        for option in options
    ]
