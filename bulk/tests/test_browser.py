"""Bulk claims in a real Chromium: upload, the page follows the progress by itself, then each
row's result and the error file."""

import pytest
from playwright.sync_api import Page, expect

from bulk import services
from bulk.models import BulkUpload
from claims.tests.test_browser import sign_in

from .helpers import csv_bytes, row_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_upload_shows_progress_then_every_rows_result_and_the_error_file(
    page: Page, live_server, world, incentives_admin, tmp_path
):
    sign_in(page, live_server, incentives_admin)
    page.goto(live_server.url + "/incentives/")
    page.get_by_role("button", name="Incentives", exact=True).click()
    page.get_by_role("link", name="Bulk claims", exact=True).click()
    path = tmp_path / "claims.csv"
    path.write_bytes(csv_bytes([row_for(world, "OK-1"), row_for(world, "BAD-1", domain="litware.com")]))
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_test_id("progress")).to_contain_text("0 of 2 done")

    # The worker's job, run here; the page refreshes by itself and shows the results.
    services.bulk_upload_process(upload_id=BulkUpload.objects.get().pk)
    expect(page.get_by_test_id("summary")).to_contain_text("1 draft(s) created", timeout=10_000)
    expect(page.get_by_test_id("row-3")).to_contain_text("BAD-1")
    expect(page.get_by_test_id("row-3")).to_contain_text("don't match")
    with page.expect_download() as download:
        page.get_by_test_id("error-csv").click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    assert "BAD-1" in content and "OK-1" not in content


def test_a_file_over_the_limit_is_refused_on_the_page_in_french(
    page: Page, live_server, world, incentives_admin, tmp_path
):
    incentives_admin.language = "fr"
    incentives_admin.save()
    sign_in(page, live_server, incentives_admin)
    page.goto(live_server.url + "/incentives/bulk/")
    path = tmp_path / "claims.csv"
    path.write_bytes(csv_bytes([row_for(world, f"R{n}") for n in range(1001)]))
    page.get_by_label("Fichier CSV").set_input_files(str(path))
    page.get_by_role("button", name="Envoyer et vérifier").click()
    expect(page.get_by_text("Le fichier a plus de 1000 lignes")).to_be_visible()
    assert not BulkUpload.objects.exists()
