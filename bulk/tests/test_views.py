"""The bulk pages: every URL as anonymous (sign-in), wrong role (403), another partner's
upload (404) and the Incentives admin; progress, results, the error CSV; English and French."""

import csv
import io

import pytest
from django.urls import reverse

from bulk import services
from bulk.models import BulkUpload, UploadStatus
from cpor.models import Role
from cpor.tests.factories import partner_user

from .helpers import csv_upload, row_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def upload(incentives_admin, world):
    upload = services.bulk_upload_create(
        user=incentives_admin,
        upload=csv_upload([row_for(world, "OK-1"), row_for(world, "BAD-1", domain="litware.com", claim_name="=1+1")]),
    )
    services.bulk_upload_process(upload_id=upload.pk)
    return upload


def urls(upload):
    return [
        reverse("bulk:list"),
        reverse("bulk:template"),
        reverse("bulk:poe_zip"),
        reverse("bulk:detail", args=[upload.pk]),
        reverse("bulk:progress", args=[upload.pk]),
        reverse("bulk:errors", args=[upload.pk]),
    ]


def test_anonymous_is_sent_to_sign_in(client, upload):
    for url in urls(upload):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


@pytest.mark.parametrize("role", [Role.GLOBAL_ADMIN, Role.BILLING_ADMIN, Role.INCENTIVES_USER])
def test_other_roles_are_refused_with_403(client, partner, role, upload, world):
    client.force_login(partner_user(partner, role))
    for url in urls(upload):
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("bulk:list"), {"file": csv_upload([row_for(world, "X")])})
    assert response.status_code == 403
    assert BulkUpload.objects.count() == 1


def test_another_partners_upload_answers_404(client, other_partner, upload):
    client.force_login(partner_user(other_partner))
    for url in urls(upload)[3:]:
        assert client.get(url).status_code == 404, url
    assert upload.original_name not in client.get(reverse("bulk:list")).content.decode()


def test_uploading_shows_progress_then_each_rows_result(client, incentives_admin, world):
    client.force_login(incentives_admin)
    response = client.post(reverse("bulk:list"), {"file": csv_upload([row_for(world, "OK-1")])})
    upload = BulkUpload.objects.get()
    assert response["Location"] == reverse("bulk:detail", args=[upload.pk])
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in page and "0 of 1 done" in page
    assert client.get(reverse("bulk:progress", args=[upload.pk])).json() == {
        "status": UploadStatus.QUEUED,
        "finished": False,
        "total": 1,
        "processed": 0,
        "created": 0,
        "existing": 0,
        "errors": 0,
    }
    services.bulk_upload_process(upload_id=upload.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert "1 draft(s) created" in page and "OK-1" in page
    assert client.get(reverse("bulk:progress", args=[upload.pk])).json()["created"] == 1


def test_each_bad_row_is_named_and_the_error_csv_holds_only_the_bad_rows(client, incentives_admin, upload):
    client.force_login(incentives_admin)
    page = client.get(reverse("bulk:detail", args=[upload.pk])).content.decode()
    assert "BAD-1" in page and "don&#x27;t match" in page
    response = client.get(reverse("bulk:errors", args=[upload.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [row["reference"] for row in rows] == ["BAD-1"]
    assert "don't match" in rows[0]["error"]
    assert rows[0]["claim_name"] == "'=1+1"


def test_the_fixed_error_csv_goes_back_as_is(client, incentives_admin, upload, world):
    client.force_login(incentives_admin)
    content = b"".join(client.get(reverse("bulk:errors", args=[upload.pk])).streaming_content).decode("utf-8-sig")
    fixed = content.replace("litware.com", world.domain).replace("'=1+1", "Fixed")
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(reverse("bulk:list"), {"file": SimpleUploadedFile("fixed.csv", fixed.encode())})
    second = BulkUpload.objects.exclude(pk=upload.pk).get()
    services.bulk_upload_process(upload_id=second.pk)
    assert response.status_code == 302
    assert [row.outcome for row in second.rows.all()] == ["created"]


def test_a_refused_file_is_explained_and_nothing_is_stored(client, incentives_admin):
    client.force_login(incentives_admin)
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(reverse("bulk:list"), {"file": SimpleUploadedFile("x.csv", "é".encode("latin-1"))})
    assert response.status_code == 200
    assert "CSV UTF-8" in response.content.decode()
    assert not BulkUpload.objects.exists()


def test_the_template_download_is_the_header_row(client, incentives_admin):
    client.force_login(incentives_admin)
    response = client.get(reverse("bulk:template"))
    assert response["Content-Disposition"] == 'attachment; filename="bulk-claims-template.csv"'
    assert b"".join(response.streaming_content).decode().startswith("reference,claim_name,mpn_id,domain,tenant_id")


def test_a_zip_of_proofs_is_attached_by_reference_from_the_page(client, incentives_admin, upload):
    from claims.tests.factories import PDF_BYTES

    from .test_services import zip_upload

    client.force_login(incentives_admin)
    response = client.post(
        reverse("bulk:poe_zip"), {"file": zip_upload({"OK-1.pdf": PDF_BYTES, "NOPE.pdf": PDF_BYTES})}
    )
    page = response.content.decode()
    assert "1 of 2 file(s) attached." in page
    assert "No claim of yours has this reference." in page


def test_the_pages_are_in_french(client, incentives_admin, upload):
    incentives_admin.language = "fr"
    incentives_admin.save()
    client.force_login(incentives_admin)
    page = client.get(reverse("bulk:list")).content.decode()
    assert "Revendications en masse" in page
    assert "Télécharger un modèle" in page
    page = client.get(reverse("bulk:detail", args=[upload.pk])).content.decode()
    assert "Télécharger les lignes en erreur" in page


def test_the_navigation_offers_bulk_claims_to_the_incentives_admin(client, incentives_admin):
    client.force_login(incentives_admin)
    assert reverse("bulk:list") in client.get(reverse("claims:list")).content.decode()
