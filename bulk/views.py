"""Bulk claims pages for the Incentives admin: thin views over `bulk.services`.

Anonymous → sign-in; another role → 403; another partner's upload → 404.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from cpor.access import FILE_CLAIMS, partner_required
from cpor.csvfiles import csv_download

from . import csvfile, selectors, services
from .forms import BulkUploadForm, PoeZipForm
from .models import RowOutcome

filer_required = partner_required(FILE_CLAIMS)


def _breadcrumbs(*extra):
    return [(_("Customer associations"), reverse("claims:list")), (_("Bulk claims"), reverse("bulk:list")), *extra]


@filer_required
def upload_list(request):
    form = BulkUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = services.bulk_upload_create(user=request.user, upload=form.cleaned_data["file"])
        except services.BulkError as error:
            form.add_error("file", error.message)
        else:
            messages.success(request, _("The file is uploaded; its rows are being checked."))
            return redirect("bulk:detail", upload.pk)
    return render(
        request,
        "bulk/list.html",
        {
            "form": form,
            "uploads": selectors.upload_list_visible_to(request.user),
            "columns": csvfile.COLUMNS,
            "max_rows": 1000,
            "nav": "incentives",
            "breadcrumbs": _breadcrumbs(),
        },
    )


@filer_required
def template_csv(request):
    return csv_download(csvfile.template_lines(), "bulk-claims-template.csv")


@filer_required
def upload_detail(request, pk):
    upload = selectors.upload_get_for_user(request.user, pk)
    counts = services.upload_counts(upload)
    return render(
        request,
        "bulk/detail.html",
        {
            "upload": upload,
            "counts": counts,
            "percent": int(100 * counts["processed"] / upload.row_count) if upload.row_count else 100,
            "rows": selectors.upload_rows(upload) if upload.is_finished else (),
            "RowOutcome": RowOutcome,
            "nav": "incentives",
            "breadcrumbs": _breadcrumbs((upload.original_name, None)),
        },
    )


@filer_required
def upload_progress(request, pk):
    upload = selectors.upload_get_for_user(request.user, pk)
    counts = services.upload_counts(upload)
    return JsonResponse(
        {
            "status": upload.status,
            "finished": upload.is_finished,
            "total": counts["total"],
            "processed": counts["processed"],
            "created": counts[RowOutcome.CREATED],
            "existing": counts[RowOutcome.EXISTING],
            "errors": counts[RowOutcome.ERROR],
        }
    )


@filer_required
def error_csv(request, pk):
    upload = selectors.upload_get_for_user(request.user, pk)
    lines = csvfile.error_lines(upload.header, selectors.upload_error_rows(upload))
    return csv_download(lines, f"bulk-claims-{upload.pk}-errors.csv")


@filer_required
def poe_zip(request):
    form = PoeZipForm(request.POST or None, request.FILES or None)
    results = None
    if request.method == "POST" and form.is_valid():
        try:
            results = services.bulk_attach_poe_zip(user=request.user, upload=form.cleaned_data["file"])
        except services.BulkError as error:
            form.add_error("file", error.message)
        else:
            attached = sum(1 for result in results if result.attached)
            messages.info(
                request,
                _("%(attached)d of %(count)d file(s) attached.") % {"attached": attached, "count": len(results)},
            )
    return render(
        request,
        "bulk/poe_zip.html",
        {
            "form": form,
            "results": results,
            "nav": "incentives",
            "breadcrumbs": _breadcrumbs((_("Proof of execution in a zip"), None)),
        },
    )
