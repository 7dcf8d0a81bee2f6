"""Reads for the bulk pages: scoped to the user's partner, 404 for anything else."""

from django.db.models import QuerySet
from django.http import Http404

from cpor import access

from .models import BulkRow, BulkUpload, RowOutcome


def _partner_or_404(user):
    partner = access.partner_of(user)
    if partner is None:
        raise Http404
    return partner


def upload_list_visible_to(user, limit: int = 50) -> QuerySet[BulkUpload]:
    return (
        BulkUpload.objects.filter(partner=_partner_or_404(user)).defer("content").order_by("-created_at", "-id")[:limit]
    )


def upload_get_for_user(user, pk) -> BulkUpload:
    upload = BulkUpload.objects.filter(partner=_partner_or_404(user), pk=pk).defer("content").first()
    if upload is None:
        raise Http404
    return upload


def upload_rows(upload: BulkUpload) -> QuerySet[BulkRow]:
    return upload.rows.order_by("line")


def upload_error_rows(upload: BulkUpload) -> QuerySet[BulkRow]:
    return upload.rows.filter(outcome=RowOutcome.ERROR).order_by("line")
