"""bulk.services: each row checked with the wizard's checks and made a draft by the wizard's
services, idempotently by the partner's reference; proof of execution from a zip."""

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from bulk import services
from bulk.models import BulkReference, BulkUpload, RowOutcome, UploadStatus
from claims.models import Claim, ClaimStatus
from claims.tests.factories import PDF_BYTES
from cpor.models import Role
from cpor.tests.factories import partner_user

from .helpers import csv_upload, row_for

pytestmark = pytest.mark.django_db


def run(user, rows, **kwargs) -> BulkUpload:
    upload = services.bulk_upload_create(user=user, upload=csv_upload(rows, **kwargs))
    services.bulk_upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    return upload


def results(upload):
    return {row.reference or row.line: (row.outcome, row.messages) for row in upload.rows.all()}


def test_a_good_row_becomes_a_draft_with_its_items_and_contacts(incentives_admin, world):
    upload = run(incentives_admin, [row_for(world, "REF-1")])
    assert upload.status == UploadStatus.DONE
    row = upload.rows.get()
    assert row.outcome == RowOutcome.CREATED
    claim = Claim.objects.get(pk=row.claim_id)
    assert claim.status == ClaimStatus.DRAFT
    assert claim.name == "Bulk REF-1"
    assert claim.created_by == incentives_admin
    assert [item.subscription for item in claim.items.all()] == [world.sales_subscription]
    assert claim.customer_contact_email == "ada@contoso.fr"
    assert claim.technical_contact_email == "tom@contoso.fr"
    # The same history as through the wizard.
    assert list(claim.events.values_list("action", flat=True)) == ["draft_created", "items_changed", "contacts_changed"]
    assert BulkReference.objects.get(reference="REF-1").claim == claim


def test_a_microsoft_365_row_claims_its_workloads(incentives_admin, world):
    row = row_for(
        world,
        "M365-1",
        solution_area="Microsoft 365",
        products_or_workloads="Exchange Online; Microsoft Teams",
        technical_contact_name="",
        technical_contact_title="",
        technical_contact_email="",
    )
    upload = run(incentives_admin, [row])
    claim = Claim.objects.get(pk=upload.rows.get().claim_id)
    assert sorted(item.workload.name for item in claim.items.all()) == ["Exchange Online", "Microsoft Teams"]


def test_a_subscription_id_picks_one_of_several_subscriptions(incentives_admin, world):
    wanted = world.service_subscriptions[1]
    rows = [
        row_for(world, "SVC-1", products_or_workloads=world.service.name, subscription_id=str(wanted.subscription_id)),
        row_for(world, "SVC-2", products_or_workloads="", subscription_id=str(wanted.subscription_id)),
        row_for(world, "SVC-3", products_or_workloads=world.service.name),
    ]
    upload = run(incentives_admin, rows)
    outcome = results(upload)
    assert outcome["SVC-1"][0] == RowOutcome.CREATED
    assert Claim.objects.get(pk=upload.rows.get(reference="SVC-1").claim_id).items.get().subscription == wanted
    # A subscription ID alone names its product; a draft holds nothing yet, so both drafts stand
    # (submission and validation decide, as for drafts made in the wizard).
    assert outcome["SVC-2"][0] == RowOutcome.CREATED
    assert outcome["SVC-3"][0] == RowOutcome.ERROR
    assert "enter the subscription ID" in outcome["SVC-3"][1][0]


def test_a_second_upload_of_the_same_file_creates_nothing_new_and_says_so(incentives_admin, world):
    rows = [row_for(world, "REF-1"), row_for(world, "REF-2", products_or_workloads=world.sales.code)]
    first = run(incentives_admin, rows)
    claims = set(Claim.objects.values_list("pk", flat=True))
    second = run(incentives_admin, rows)
    assert set(Claim.objects.values_list("pk", flat=True)) == claims
    assert [row.outcome for row in second.rows.all()] == [RowOutcome.EXISTING, RowOutcome.EXISTING]
    assert "Nothing new was created" in second.rows.first().messages[0]
    assert [row.claim_id for row in second.rows.all()] == [row.claim_id for row in first.rows.all()]


def test_every_bad_row_is_named_with_the_wizards_message_and_creates_nothing(incentives_admin, world):
    rows = [
        row_for(world, "OK-1"),
        row_for(world, "BAD-DOMAIN", domain="litware.com"),
        row_for(world, "BAD-MPN", mpn_id="9999999"),
        row_for(world, "BAD-ENROL", mpn_id=world.unenrolled_mpn.mpn_id),
        row_for(world, "BAD-CSP", products_or_workloads=world.finance.name),
        row_for(world, "BAD-PRODUCT", products_or_workloads="Nothing Such"),
        row_for(world, "BAD-EMAIL", customer_contact_email="not-an-email"),
        row_for(world, "BAD-CONTACT", partner_contact_name=""),
        row_for(world, "BAD-GUID", tenant_id="1234"),
        row_for(world, "BAD-AREA", solution_area="Azure"),
        row_for(world, "BAD-ACTIVITY", solution_area="Microsoft 365", activity="presales"),
        row_for(world, "BAD-SUB", subscription_id="not-a-guid"),
        row_for(world, "OK-1"),
        row_for(world, ""),
    ]
    upload = run(incentives_admin, rows)
    outcome = {row.line: (row.reference, row.outcome, " ".join(row.messages)) for row in upload.rows.all()}
    assert outcome[2][1] == RowOutcome.CREATED
    errors = {line: text for line, (_, result, text) in outcome.items() if result == RowOutcome.ERROR}
    assert set(errors) == set(range(3, 16))
    assert "don't match" in errors[3]
    assert "Select one of your organisation's MPN IDs" in errors[4]
    assert "isn't enrolled" in errors[5]
    assert "is for CSP" in errors[6]
    assert "Nothing Such: The product selected doesn't exist" in errors[7]
    assert "Customer contact email" in errors[8]
    assert "Your contact name" in errors[9]
    assert "must be a GUID" in errors[10]
    assert "Solution area" in errors[11]
    assert "This activity isn't available" in errors[12] or "Microsoft 365" in errors[12]
    assert "isn't a subscription ID" in errors[13]
    assert "already used on line 2" in errors[14]
    assert "Enter your reference" in errors[15]
    # Only the good row made a claim: a row that failed at its items left no draft behind.
    assert Claim.objects.count() == 1


def test_a_revenue_association_row_needs_its_three_names(incentives_admin, world):
    rows = [
        row_for(world, "REV-1", activity="revenue"),
        row_for(
            world,
            "REV-2",
            activity="revenue",
            solution_seller_name="Seller",
            customer_name="Contoso",
            isv_solution_name="ISV",
        ),
    ]
    outcome = results(run(incentives_admin, rows))
    assert outcome["REV-1"][0] == RowOutcome.ERROR
    assert "For Revenue association" in outcome["REV-1"][1][0]
    assert outcome["REV-2"][0] == RowOutcome.CREATED


def test_messages_are_in_the_uploaders_language(incentives_admin, world):
    incentives_admin.language = "fr"
    incentives_admin.save()
    outcome = results(run(incentives_admin, [row_for(world, "BAD", domain="litware.com")]))
    assert "ne correspondent pas" in outcome["BAD"][1][0]


def test_processing_twice_handles_each_row_once(incentives_admin, world):
    upload = run(incentives_admin, [row_for(world, "REF-1")])
    assert services.bulk_upload_process(upload_id=upload.pk) == 0
    assert upload.rows.count() == 1 and Claim.objects.count() == 1


def test_a_worker_that_died_midway_is_taken_up_and_finishes_the_rest(incentives_admin, world):
    import datetime

    from django.utils import timezone

    from bulk.models import BulkRow

    upload = services.bulk_upload_create(
        user=incentives_admin, upload=csv_upload([row_for(world, "REF-1"), row_for(world, "REF-2")])
    )
    # The dead worker had taken the upload and done nothing yet.
    BulkUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.RUNNING, heartbeat_at=timezone.now() - datetime.timedelta(minutes=10)
    )
    assert services.bulk_uploads_resume() == 2
    assert BulkRow.objects.filter(upload=upload).count() == 2
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE


def test_a_queued_upload_whose_task_never_ran_is_run_by_the_periodic_job(incentives_admin, world):
    import datetime

    from django.utils import timezone

    upload = services.bulk_upload_create(user=incentives_admin, upload=csv_upload([row_for(world, "REF-1")]))
    assert services.bulk_uploads_resume() == 0  # still within its grace
    assert services.bulk_uploads_resume(now=timezone.now() + datetime.timedelta(minutes=2)) == 1
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE


def test_an_uploader_who_can_no_longer_file_claims_fails_the_upload(incentives_admin, world):
    upload = services.bulk_upload_create(user=incentives_admin, upload=csv_upload([row_for(world, "REF-1")]))
    incentives_admin.membership.role = Role.INCENTIVES_USER
    incentives_admin.membership.save()
    services.bulk_upload_process(upload_id=upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.FAILED
    assert "can no longer file claims" in upload.failure
    assert not Claim.objects.exists()


@pytest.mark.parametrize("role", [Role.GLOBAL_ADMIN, Role.BILLING_ADMIN, Role.INCENTIVES_USER])
def test_only_an_incentives_admin_uploads(partner, world, role):
    with pytest.raises(PermissionDenied):
        services.bulk_upload_create(user=partner_user(partner, role), upload=csv_upload([row_for(world, "R")]))
    assert not BulkUpload.objects.exists()


def test_a_file_over_1000_rows_is_refused_and_nothing_is_stored(incentives_admin, world):
    rows = [row_for(world, f"R{n}") for n in range(1001)]
    with pytest.raises(services.BulkError, match="more than 1000 rows"):
        services.bulk_upload_create(user=incentives_admin, upload=csv_upload(rows))
    assert not BulkUpload.objects.exists()


def test_the_same_reference_for_another_partner_is_theirs(incentives_admin, world, other_partner):
    from cpor.tests.factories import MpnIdFactory

    run(incentives_admin, [row_for(world, "REF-1")])
    theirs = MpnIdFactory(partner=other_partner)
    filer = partner_user(other_partner)
    row = row_for(world, "REF-1", mpn_id=theirs.mpn_id, partner_contact_email=filer.email)
    outcome = results(run(filer, [row]))
    assert outcome["REF-1"][0] == RowOutcome.CREATED


# --- Proof of execution in a zip -----------------------------------------------------------


def zip_upload(entries, name="poe.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry_name, content in entries.items():
            archive.writestr(entry_name, content)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def test_a_zip_attaches_each_file_to_the_draft_named_by_its_reference(incentives_admin, world):
    run(incentives_admin, [row_for(world, "REF-1"), row_for(world, "REF-2")])
    results_ = services.bulk_attach_poe_zip(
        user=incentives_admin,
        upload=zip_upload(
            {"REF-1.pdf": PDF_BYTES, "folder/REF-2.pdf": PDF_BYTES, "REF-3.pdf": PDF_BYTES, "REF-1.png": PDF_BYTES}
        ),
    )
    by_name = {result.name: result for result in results_}
    assert by_name["REF-1.pdf"].attached and by_name["REF-2.pdf"].attached
    assert not by_name["REF-3.pdf"].attached and "No claim of yours" in by_name["REF-3.pdf"].message
    assert not by_name["REF-1.png"].attached and "doesn't match its name" in by_name["REF-1.png"].message
    claim = Claim.objects.get(pk=BulkReference.objects.get(reference="REF-1").claim_id)
    assert claim.proofs.get().original_name == "REF-1.pdf"
    assert claim.events.filter(action="poe_added").count() == 1


def test_a_zip_bomb_entry_is_refused_before_it_is_extracted(incentives_admin, world, settings):
    settings.POE_MAX_BYTES = 1024 * 1024
    run(incentives_admin, [row_for(world, "REF-1")])
    bomb = PDF_BYTES + b"\0" * (5 * 1024 * 1024)  # compresses to a few kB
    [result] = services.bulk_attach_poe_zip(user=incentives_admin, upload=zip_upload({"REF-1.pdf": bomb}))
    assert not result.attached and "too large" in result.message
    assert not Claim.objects.get().proofs.exists()


def test_a_zip_that_would_unpack_too_large_is_refused_whole(incentives_admin, world, monkeypatch):
    monkeypatch.setattr(services, "ZIP_MAX_BYTES", 1024 * 1024)
    with pytest.raises(services.BulkError, match="Unpacked"):
        services.bulk_attach_poe_zip(user=incentives_admin, upload=zip_upload({"A.pdf": b"\0" * (2 * 1024 * 1024)}))


def test_a_file_that_is_not_a_zip_is_refused(incentives_admin, world):
    with pytest.raises(services.BulkError, match="isn't a zip"):
        services.bulk_attach_poe_zip(user=incentives_admin, upload=SimpleUploadedFile("x.zip", PDF_BYTES))


def test_another_partners_references_are_not_found(incentives_admin, world, other_partner):
    run(incentives_admin, [row_for(world, "REF-1")])
    stranger = partner_user(other_partner)
    [result] = services.bulk_attach_poe_zip(user=stranger, upload=zip_upload({"REF-1.pdf": PDF_BYTES}))
    assert not result.attached
    assert not Claim.objects.get().proofs.exists()


def test_the_row_and_its_reference_commit_together(incentives_admin, world):
    # A reference recorded by a concurrent upload between the check and the insert: the
    # database refuses the second, and the row is reported as already created, with no draft.
    upload = services.bulk_upload_create(user=incentives_admin, upload=csv_upload([row_for(world, "REF-1")]))
    with transaction.atomic():
        other = run(incentives_admin, [row_for(world, "REF-1")])
    services.bulk_upload_process(upload_id=upload.pk)
    assert other.rows.get().outcome == RowOutcome.CREATED
    assert upload.rows.get().outcome == RowOutcome.EXISTING
    assert Claim.objects.count() == 1


def test_an_upload_split_in_parts_is_done_when_its_last_part_is(incentives_admin, world):
    rows = [row_for(world, f"REF-{n}") for n in range(5)]
    upload = services.bulk_upload_create(user=incentives_admin, upload=csv_upload(rows))
    assert services.bulk_upload_parts(upload_id=upload.pk) == 1
    assert services.bulk_upload_process(upload_id=upload.pk, part=1, parts=2) == 2
    upload.refresh_from_db()
    assert upload.status == UploadStatus.RUNNING
    # The sibling part runs while the first one's heartbeat is fresh.
    assert services.bulk_upload_process(upload_id=upload.pk, part=0, parts=2) == 3
    upload.refresh_from_db()
    assert upload.status == UploadStatus.DONE
    assert sorted(upload.rows.values_list("line", flat=True)) == [2, 3, 4, 5, 6]
    assert services.bulk_upload_parts(upload_id=upload.pk) == 0


def test_an_upload_that_fails_never_holds_up_the_others_in_the_periodic_job(incentives_admin, world, caplog):
    import datetime

    from django.utils import timezone

    broken = services.bulk_upload_create(user=incentives_admin, upload=csv_upload([row_for(world, "REF-1")]))
    fine = services.bulk_upload_create(user=incentives_admin, upload=csv_upload([row_for(world, "REF-2")]))
    # Its stored file no longer reads (a damaged copy): processing it raises.
    BulkUpload.objects.filter(pk=broken.pk).update(content=b"\xff\xfe\x00not a csv")
    assert services.bulk_uploads_resume(now=timezone.now() + datetime.timedelta(minutes=2)) == 1
    fine.refresh_from_db()
    assert fine.status == UploadStatus.DONE
    broken.refresh_from_db()
    assert broken.status == UploadStatus.RUNNING  # taken up again by a later pass once stale
    assert f"upload {broken.pk} failed" in caplog.text
