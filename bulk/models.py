"""Bulk claims: an uploaded CSV of up to 1,000 claims, each row's result, and the partner's
own references mapped to the drafts they created.

The claims themselves are ordinary drafts made by `claims.services`; this app keeps only its
own state. `BulkReference` is what makes an upload idempotent: one claim per partner and
reference, enforced by the database, so a second upload of the same file creates nothing.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UploadStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Processing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


# The one table of allowed changes. A running upload may be taken up again (its worker died):
# rows already recorded are skipped.
UPLOAD_TRANSITIONS: dict[str, frozenset[str]] = {
    UploadStatus.QUEUED: frozenset({UploadStatus.RUNNING, UploadStatus.FAILED}),
    UploadStatus.RUNNING: frozenset({UploadStatus.RUNNING, UploadStatus.DONE, UploadStatus.FAILED}),
    UploadStatus.DONE: frozenset(),
    UploadStatus.FAILED: frozenset(),
}


class BulkUpload(models.Model):
    partner = models.ForeignKey("cpor.Partner", on_delete=models.CASCADE, related_name="bulk_uploads")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    # The file as uploaded (at most settings.BULK_MAX_BYTES): kept in the database, so that any
    # worker reads it without shared storage, and the error file can be made from it.
    content = models.BinaryField()
    original_name = models.CharField(_("file name"), max_length=255)
    row_count = models.PositiveIntegerField(_("rows"))
    header = models.JSONField(default=list)
    status = models.CharField(_("status"), max_length=16, choices=UploadStatus.choices, default=UploadStatus.QUEUED)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bulk upload")
        verbose_name_plural = _("bulk uploads")
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=UploadStatus.values), name="bulk_upload_status_valid")
        ]
        indexes = [models.Index(fields=["partner", "-created_at", "-id"], name="bulk_upload_partner_recent")]

    def __str__(self):
        return f"{self.original_name} ({self.pk})"

    @property
    def is_finished(self) -> bool:
        return self.status in (UploadStatus.DONE, UploadStatus.FAILED)


class RowOutcome(models.TextChoices):
    CREATED = "created", _("Draft created")
    EXISTING = "existing", _("Already created")
    ERROR = "error", _("Error")


class BulkRow(models.Model):
    """One line of an upload and what became of it. `values` keeps the line as uploaded, for
    the error CSV the partner fixes and uploads again."""

    upload = models.ForeignKey(BulkUpload, on_delete=models.CASCADE, related_name="rows")
    line = models.PositiveIntegerField(_("line"))
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    outcome = models.CharField(_("result"), max_length=16, choices=RowOutcome.choices)
    messages = models.JSONField(default=list, blank=True)
    values = models.JSONField(default=dict)
    claim = models.ForeignKey("claims.Claim", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["line"]
        constraints = [
            models.UniqueConstraint(fields=["upload", "line"], name="bulk_row_once_per_line"),
            models.CheckConstraint(condition=models.Q(outcome__in=RowOutcome.values), name="bulk_row_outcome_valid"),
        ]

    def __str__(self):
        return f"{self.upload_id}:{self.line} {self.outcome}"


class BulkReference(models.Model):
    """The partner's own reference of a claim made by a bulk upload: one claim per reference."""

    partner = models.ForeignKey("cpor.Partner", on_delete=models.CASCADE, related_name="+")
    reference = models.CharField(_("reference"), max_length=100)
    claim = models.OneToOneField("claims.Claim", on_delete=models.CASCADE, related_name="+")
    upload = models.ForeignKey(BulkUpload, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "reference"], name="bulk_reference_once_per_partner")]

    def __str__(self):
        return f"{self.reference} → {self.claim_id}"
