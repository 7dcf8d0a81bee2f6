"""Bulk claims (issue 11, section 3): the Incentives admin uploads a CSV of up to 1,000
claims; a worker checks each row with the wizard's checks and creates drafts through the
wizard's own services, idempotently by the partner's reference.

- The upload is read and refused at once if the file itself is wrong (not UTF-8 CSV, missing
  columns, more than 1,000 rows); otherwise it is stored and queued.
- Each row runs in its own transaction: the draft, its items, its contacts and the reference
  are created together or not at all. A reference the partner already used names its claim
  and creates nothing ("Already created"); the database's unique (partner, reference) keeps
  that true even for two uploads at once.
- Messages are written in the uploader's language, in the wizard's words.
- Proof of execution follows per claim on its page, or as a zip whose entries are named
  `<reference>.<ext>`, each file checked exactly as the wizard checks it.
"""

from __future__ import annotations

import datetime
import logging
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from claims import selectors as claim_selectors
from claims import services as claim_services
from claims import uploads, validation
from claims.forms import ContactsForm, CustomerFields
from claims.lifecycle import ClaimError
from claims.models import Activity
from claims.services import ClaimProblems, ClaimStart, ProductChoice
from claims.validation import Problem
from claims.wizard import competing_message
from cpor import access
from cpor.periodic import each_on_its_own
from tenants.models import Product, SolutionArea, Subscription, Workload

from . import csvfile
from .models import UPLOAD_TRANSITIONS, BulkReference, BulkRow, BulkUpload, RowOutcome, UploadStatus

logger = logging.getLogger(__name__)

MAX_REFERENCE_LENGTH = 100
# A running upload whose worker has not reported for this long is taken up again.
STALE_AFTER = datetime.timedelta(minutes=5)
# A queued upload whose task has not started after this long is run by the periodic job.
QUEUED_GRACE = datetime.timedelta(minutes=1)
CHUNK_ROWS = 25
# Rows per part: a 1,000-row upload is ten tasks, shared by however many workers there are.
PART_ROWS = 100

# Zips of proof of execution: checked before anything is extracted.
ZIP_MAX_BYTES = 200 * 1024 * 1024
ZIP_MAX_ENTRIES = 1000


class BulkError(ClaimError):
    """The upload as a whole is refused: said to the user, nothing stored."""


# --- Guards ----------------------------------------------------------------------------


def _filer_partner(user):
    """Only an Incentives admin files claims, in bulk too (403 for any other role)."""
    if not access.can_file_claims(user):
        raise PermissionDenied
    return access.partner_of(user)


def _move(upload: BulkUpload, to_status: str) -> None:
    if to_status not in UPLOAD_TRANSITIONS[upload.status]:
        raise BulkError(f"A bulk upload cannot go from {upload.status} to {to_status}.")
    upload.status = to_status


# --- Upload ------------------------------------------------------------------------------


def bulk_upload_create(*, user, upload) -> BulkUpload:
    """Check the file as a whole, store it and queue its rows. BulkError says what to fix."""
    partner = _filer_partner(user)
    if upload.size > settings.BULK_MAX_BYTES:
        raise BulkError(
            _("The file is too large. A bulk file can be at most %(limit)s.")
            % {"limit": filesizeformat(settings.BULK_MAX_BYTES)}
        )
    upload.seek(0)
    content = upload.read()
    try:
        parsed = csvfile.read(content)
    except csvfile.CsvRefused as refused:
        raise BulkError(refused.message) from refused
    with transaction.atomic():
        bulk = BulkUpload.objects.create(
            partner=partner,
            uploaded_by=user,
            original_name=uploads.safe_original_name(upload.name),
            content=content,
            row_count=len(parsed.rows),
            header=parsed.header,
        )
        from .tasks import enqueue_processing

        enqueue_processing(bulk.pk)
    return bulk


# --- Processing ---------------------------------------------------------------------------


def _take(upload_id, now, *, shared: bool = False) -> BulkUpload | None:
    """Take an upload for processing and commit; None if it is finished or another worker is
    on it (it reported recently), unless `shared`: the parts of one upload run side by side."""
    with transaction.atomic():
        upload = BulkUpload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.is_finished:
            return None
        busy = upload.status == UploadStatus.RUNNING and upload.heartbeat_at and upload.heartbeat_at > now - STALE_AFTER
        if busy and not shared:
            return None
        _move(upload, UploadStatus.RUNNING)
        upload.started_at = upload.started_at or now
        upload.heartbeat_at = now
        upload.save(update_fields=["status", "started_at", "heartbeat_at"])
    return upload


def _finish(upload: BulkUpload, to_status: str, failure: str = "") -> None:
    with transaction.atomic():
        upload = BulkUpload.objects.select_for_update().get(pk=upload.pk)
        if upload.is_finished:
            return
        _move(upload, to_status)
        upload.failure = failure
        upload.finished_at = timezone.now()
        upload.save(update_fields=["status", "failure", "finished_at"])


def bulk_upload_parts(*, upload_id) -> int:
    """Into how many parts an upload's rows are split, so that several workers check them side
    by side (0 if it is finished or gone)."""
    upload = BulkUpload.objects.filter(pk=upload_id).defer("content").first()
    if upload is None or upload.is_finished:
        return 0
    return max(1, -(-upload.row_count // PART_ROWS))


def bulk_upload_process(
    *, upload_id, now: datetime.datetime | None = None, part: int | None = None, parts: int = 1
) -> int:
    """Check and create every row not yet done (of one part only, when `part` is given);
    returns the rows handled now. Running it again, or after a worker died, does each row
    once. The upload is Done when all its rows are."""
    now = now or timezone.now()
    upload = _take(upload_id, now, shared=part is not None)
    if upload is None:
        return 0
    user = upload.uploaded_by
    if user is None or not access.can_file_claims(user) or access.partner_of(user) != upload.partner:
        with translation.override(getattr(user, "language", None) or settings.LANGUAGE_CODE):
            _finish(upload, UploadStatus.FAILED, _("The person who uploaded the file can no longer file claims."))
        return 0
    parsed = csvfile.read(bytes(upload.content))
    done = set(upload.rows.values_list("line", flat=True))
    context = _RowContext.for_upload(user, upload, parsed)
    rows = parsed.rows
    if part is not None:
        size = -(-len(rows) // parts)
        rows = rows[part * size : (part + 1) * size]
    pending = [row for row in rows if row.line not in done]
    handled = 0
    with translation.override(user.language or settings.LANGUAGE_CODE):
        for first in range(0, len(pending), CHUNK_ROWS):
            chunk = pending[first : first + CHUNK_ROWS]
            # A chunk of rows commits at once (each row in its own savepoint): fewer commits, and
            # a worker that dies loses at most one chunk, redone by whoever takes the upload up.
            try:
                with transaction.atomic():
                    for row in chunk:
                        outcome, messages, claim_id = _process_row(context, row)
                        BulkRow.objects.create(
                            upload=upload,
                            line=row.line,
                            reference=row.values.get("reference", "")[:200],
                            outcome=outcome,
                            messages=messages,
                            values=row.values,
                            claim_id=claim_id,
                        )
                    BulkUpload.objects.filter(pk=upload.pk).update(heartbeat_at=timezone.now())
            except IntegrityError:
                # Another worker recorded these lines meanwhile: it carries on, this one stops.
                logger.warning("Bulk upload %s is being processed elsewhere; stopping here.", upload.pk)
                return handled
            handled += len(chunk)
    if part is None or upload.rows.count() >= upload.row_count:
        _finish(upload, UploadStatus.DONE)
    return handled


def bulk_uploads_resume(*, now: datetime.datetime | None = None) -> int:
    """The periodic job: run the uploads whose task never started (the broker was down) and
    take up those whose worker stopped reporting. Returns the rows handled."""
    now = now or timezone.now()
    waiting = BulkUpload.objects.filter(status=UploadStatus.QUEUED, created_at__lte=now - QUEUED_GRACE)
    stale = BulkUpload.objects.filter(status=UploadStatus.RUNNING, heartbeat_at__lte=now - STALE_AFTER)
    ids = list(waiting.values_list("pk", flat=True)) + list(stale.values_list("pk", flat=True))
    # One upload that fails never holds up the others; it is tried again next pass.
    return each_on_its_own(
        ids,
        lambda upload_id: bulk_upload_process(upload_id=upload_id, now=now),
        failure="Periodic job bulk_uploads: upload %s failed; will retry.",
        log=logger,
    )


@dataclass
class _RowContext:
    user: object
    partner: object
    upload: BulkUpload
    mpn_pks: dict[str, int]
    existing: dict[str, int]
    first_line: dict[str, int] = field(default_factory=dict)
    delimiter: str = ","
    # Products and workloads by the name a row gives, looked up once per upload.
    products: dict[str, object] = field(default_factory=dict)
    workloads: dict[str, object] = field(default_factory=dict)

    def product_named(self, name: str):
        key = name.casefold()
        if key not in self.products:
            business = Product.objects.filter(solution_area=SolutionArea.BUSINESS_APPLICATIONS)
            by_code = business.filter(code__iexact=name).first()
            self.products[key] = by_code or business.filter(name__iexact=name).first()
        return self.products[key]

    def workload_named(self, name: str):
        key = name.casefold()
        if key not in self.workloads:
            self.workloads[key] = Workload.objects.filter(name__iexact=name).first()
        return self.workloads[key]

    @classmethod
    def for_upload(cls, user, upload, parsed) -> _RowContext:
        references = {row.values.get("reference", "") for row in parsed.rows}
        first_line = {}
        for row in parsed.rows:
            first_line.setdefault(row.values.get("reference", ""), row.line)
        return cls(
            user=user,
            partner=upload.partner,
            upload=upload,
            mpn_pks={mpn.mpn_id: mpn.pk for mpn in claim_selectors.mpn_ids_of(user)},
            existing=dict(
                BulkReference.objects.filter(partner=upload.partner, reference__in=references).values_list(
                    "reference", "claim_id"
                )
            ),
            first_line=first_line,
            delimiter=parsed.delimiter,
        )


class _RowRefused(Exception):
    def __init__(self, messages):
        super().__init__(" ".join(messages))
        self.messages = list(dict.fromkeys(str(message) for message in messages))


SOLUTION_AREAS = {
    "business applications": SolutionArea.BUSINESS_APPLICATIONS,
    "dynamics 365": SolutionArea.BUSINESS_APPLICATIONS,
    "microsoft 365": SolutionArea.MICROSOFT_365,
    "m365": SolutionArea.MICROSOFT_365,
}
ACTIVITIES = {
    "usage": Activity.USAGE,
    "presales": Activity.PRESALES,
    "pre-sales": Activity.PRESALES,
    "usage_presales": Activity.USAGE_PRESALES,
    "usage and pre-sales": Activity.USAGE_PRESALES,
    "usage and/or pre-sales": Activity.USAGE_PRESALES,
    "revenue": Activity.REVENUE,
    "revenue association": Activity.REVENUE,
}


def _process_row(context: _RowContext, row) -> tuple[str, list[str], object]:
    values = row.values
    reference = values.get("reference", "")
    try:
        _check_reference(context, row)
    except _RowRefused as refused:
        return RowOutcome.ERROR, refused.messages, None
    if reference in context.existing:
        claim_id = context.existing[reference]
        return RowOutcome.EXISTING, [_already_created(claim_id)], claim_id
    try:
        start, area = _checked_start(context, values)
        contacts = _checked_contacts(values, area, context=context, start=start)
        with transaction.atomic():
            claim = claim_services.claim_create_draft(user=context.user, start=start)
            competing = _set_items(context, claim, values)
            claim_services.claim_set_contacts(user=context.user, claim_id=claim.pk, contacts=contacts)
            BulkReference.objects.create(
                partner=context.partner, reference=reference, claim=claim, upload=context.upload
            )
    except _RowRefused as refused:
        return RowOutcome.ERROR, refused.messages, None
    except ClaimProblems as problems:
        return RowOutcome.ERROR, [problem.message for problem in problems.problems], None
    except ClaimError as error:
        return RowOutcome.ERROR, [str(error.message)], None
    except IntegrityError:
        # The same reference was created meanwhile by another upload: nothing new here.
        existing = BulkReference.objects.filter(partner=context.partner, reference=reference).first()
        claim_id = existing.claim_id if existing else None
        return RowOutcome.EXISTING, [_already_created(claim_id or 0)], claim_id
    context.existing[reference] = claim.pk
    return RowOutcome.CREATED, [competing_message(label) for label in competing], claim.pk


def _already_created(claim_id: int) -> str:
    return _("Already created by an earlier upload: claim #%(id)d. Nothing new was created.") % {"id": claim_id}


def _check_reference(context: _RowContext, row) -> None:
    reference = row.values.get("reference", "")
    if not reference:
        raise _RowRefused([_("Enter your reference for this claim.")])
    if len(reference) > MAX_REFERENCE_LENGTH:
        raise _RowRefused([_("The reference can be at most %(count)d characters.") % {"count": MAX_REFERENCE_LENGTH}])
    first = context.first_line.get(reference)
    if first is not None and first != row.line:
        raise _RowRefused([_("This reference is already used on line %(line)d of the file.") % {"line": first}])


def _checked_start(context: _RowContext, values) -> tuple[ClaimStart, str]:
    """The wizard's first three pages, on one row: the same form checks, all at once."""
    errors = []
    customer = CustomerFields(
        data={
            # An MPN ID that is not the partner's is refused as the wizard refuses it.
            "mpn": context.mpn_pks.get(values.get("mpn_id", ""), -1 if values.get("mpn_id") else ""),
            "domain": values.get("domain", ""),
            "tenant_id": values.get("tenant_id", ""),
        },
        user=context.user,
    )
    if not customer.is_valid():
        for field_name, field_errors in customer.errors.items():
            label = customer.fields[field_name].label if field_name in customer.fields else ""
            errors += [f"{label}: {error}" if label else error for error in field_errors]
    area = SOLUTION_AREAS.get(values.get("solution_area", "").strip().lower())
    if area is None:
        errors.append(_('Solution area: enter "Business Applications" or "Microsoft 365".'))
    activity = ACTIVITIES.get(values.get("activity", "").strip().lower())
    if activity is None:
        errors.append(_('Activity: enter "usage", "presales", "usage_presales" or "revenue".'))
    if not values.get("claim_name", ""):
        errors.append(_("Enter a name for this claim."))
    if errors:
        raise _RowRefused(errors)
    start = ClaimStart(
        mpn_id=customer.cleaned_data["mpn"].pk,
        domain=customer.cleaned_data["domain"],
        tenant_guid=customer.cleaned_data["tenant_id"],
        solution_area=area,
        activity=activity,
        name=values.get("claim_name", "")[:200],
        solution_seller_name=values.get("solution_seller_name", "")[:200],
        customer_name=values.get("customer_name", "")[:200],
        isv_solution_name=values.get("isv_solution_name", "")[:200],
    )
    return start, area


def _checked_contacts(values, area, *, context: _RowContext, start: ClaimStart) -> claim_services.ClaimContacts:
    """The contacts page's form on one row (all fields required, emails checked: the
    customer's on the tenant's verified domains, the partner's one of its active users)."""
    needs_technical = area == SolutionArea.BUSINESS_APPLICATIONS
    form = ContactsForm(
        data={name: values.get(name, "") for name in ContactsForm.base_fields},
        claim=SimpleNamespace(
            needs_technical_contact=needs_technical,
            tenant=validation.tenant_for(start.domain, start.tenant_guid),
            partner=context.partner,
        ),
    )
    if not form.is_valid():
        raise _RowRefused(
            [f"{form.fields[name].label}: {error}" for name, errors in form.errors.items() for error in errors]
        )
    return form.contacts()


def _set_items(context: _RowContext, claim, values) -> list[str]:
    names = csvfile.split_list(values.get("products_or_workloads", ""), context.delimiter)
    if claim.solution_area == SolutionArea.MICROSOFT_365:
        workloads, problems = [], []
        for name in names:
            workload = context.workload_named(name)
            if workload is None:
                problems.append(Problem("workload_not_on_tenant", name))
            else:
                workloads.append(workload.pk)
        if problems:
            raise ClaimProblems(problems)
        return claim_services.claim_set_items(user=context.user, claim_id=claim.pk, workload_ids=workloads)
    return claim_services.claim_set_items(
        user=context.user, claim_id=claim.pk, products=_product_choices(context, claim, names, values)
    )


def _product_choices(context: _RowContext, claim, names, values) -> list[ProductChoice]:
    """Products by name or code; each subscription ID goes with its own product (and names
    it when the products column is empty)."""
    problems, products = [], []
    for name in names:
        product = (
            Product.objects.filter(solution_area=SolutionArea.BUSINESS_APPLICATIONS).filter(code__iexact=name).first()
            or Product.objects.filter(solution_area=SolutionArea.BUSINESS_APPLICATIONS, name__iexact=name).first()
        )
        if product is None:
            problems.append(Problem("product_not_on_tenant", name))
        elif product not in products:
            products.append(product)
    chosen: dict[int, str] = {}
    for subscription_id in csvfile.split_list(values.get("subscription_id", ""), context.delimiter):
        guid = validation.parse_guid(subscription_id)
        subscription = (
            Subscription.objects.select_related("product").filter(subscription_id=guid).first() if guid else None
        )
        if subscription is None:
            problems.append(Problem("not_a_subscription_id", subscription_id))
        elif subscription.tenant_id != claim.tenant_id:
            problems.append(Problem("subscription_not_on_tenant", subscription_id))
        elif names and subscription.product not in products:
            problems.append(Problem("subscription_product_mismatch", subscription_id))
        else:
            if subscription.product not in products:
                products.append(subscription.product)
            chosen[subscription.product_id] = subscription_id
    if problems:
        raise ClaimProblems(problems)
    return [ProductChoice(product.pk, chosen.get(product.pk, "")) for product in products]


# --- Reads ----------------------------------------------------------------------------------


def upload_counts(upload: BulkUpload) -> dict[str, int]:
    counts = dict.fromkeys(RowOutcome.values, 0)
    for entry in upload.rows.values("outcome").annotate(count=Count("id")):
        counts[entry["outcome"]] = entry["count"]
    counts["processed"] = sum(counts[outcome] for outcome in RowOutcome.values)
    counts["total"] = upload.row_count
    return counts


# --- Proof of execution in a zip --------------------------------------------------------------


@dataclass(frozen=True)
class ZipEntryResult:
    name: str
    reference: str
    claim_id: int | None
    attached: bool
    message: str


def bulk_attach_poe_zip(*, user, upload) -> list[ZipEntryResult]:
    """Attach each file of a zip to the draft whose reference is the file's name without its
    extension (`<reference>.<ext>`). Sizes are checked from the zip's directory before
    anything is extracted, and again while reading; each file then goes through the same
    checks and service as a file added on the claim's page."""
    partner = _filer_partner(user)
    if upload.size > ZIP_MAX_BYTES:
        raise BulkError(
            _("The zip file is too large. It can be at most %(limit)s.") % {"limit": filesizeformat(ZIP_MAX_BYTES)}
        )
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
        entries = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise BulkError(_("The file isn't a zip archive.")) from error
    if not entries:
        raise BulkError(_("The zip file holds no files."))
    if len(entries) > ZIP_MAX_ENTRIES:
        raise BulkError(_("The zip file holds more than %(count)d files.") % {"count": ZIP_MAX_ENTRIES})
    total = sum(info.file_size for info in entries)
    if total > ZIP_MAX_BYTES:
        raise BulkError(
            _("Unpacked, the zip file would be larger than %(limit)s.") % {"limit": filesizeformat(ZIP_MAX_BYTES)}
        )
    references = dict(BulkReference.objects.filter(partner=partner).values_list("reference", "claim_id"))
    results = []
    for info in entries:
        name = uploads.safe_original_name(info.filename)
        reference = name.rsplit(".", 1)[0] if "." in name else name
        claim_id = references.get(reference)
        if claim_id is None:
            results.append(ZipEntryResult(name, reference, None, False, _("No claim of yours has this reference.")))
            continue
        if info.file_size > settings.POE_MAX_BYTES:
            message = _("%(name)s is too large (%(size)s). Files can be at most %(limit)s.") % {
                "name": name,
                "size": filesizeformat(info.file_size),
                "limit": filesizeformat(settings.POE_MAX_BYTES),
            }
            results.append(ZipEntryResult(name, reference, claim_id, False, message))
            continue
        try:
            with archive.open(info) as member:
                # Never trust the declared size: read at most one byte past the limit.
                content = member.read(settings.POE_MAX_BYTES + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError) as error:
            results.append(
                ZipEntryResult(name, reference, claim_id, False, _("%(name)s can't be read.") % {"name": name})
            )
            logger.info("Unreadable zip entry %r: %s", name, error)
            continue
        file = SimpleUploadedFile(name, content)
        try:
            claim_services.claim_add_poe(user=user, claim_id=claim_id, upload=file)
        except Http404:
            results.append(ZipEntryResult(name, reference, None, False, _("No claim of yours has this reference.")))
        except ClaimError as error:
            results.append(ZipEntryResult(name, reference, claim_id, False, str(error.message)))
        else:
            results.append(ZipEntryResult(name, reference, claim_id, True, _("Attached.")))
    return results
