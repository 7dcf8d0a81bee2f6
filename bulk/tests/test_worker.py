"""A bulk upload processed by a real Celery worker, on the real broker and database."""

import pytest
from django.db import transaction

from bulk import services
from bulk.models import BulkUpload, RowOutcome, UploadStatus
from claims.models import Claim
from claims.tests.factories import directory_world
from claims.tests.test_worker import wait_for, worker  # noqa: F401 - the real worker fixture
from cpor.models import Role
from cpor.tests.factories import PartnerFactory, partner_user

from .helpers import csv_upload, row_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_checks_every_row_and_creates_the_drafts(worker):  # noqa: F811
    partner = PartnerFactory()
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    world = directory_world(partner)
    rows = [row_for(world, f"REF-{n}") for n in range(5)] + [row_for(world, "BAD", domain="litware.com")]
    with transaction.atomic():
        upload = services.bulk_upload_create(user=user, upload=csv_upload(rows))

    def finished():
        upload.refresh_from_db()
        return upload.status if upload.is_finished else None

    assert wait_for(finished, timeout=60, what="the worker to process the upload") == UploadStatus.DONE
    outcomes = sorted(upload.rows.values_list("outcome", flat=True))
    assert outcomes == [RowOutcome.CREATED] * 5 + [RowOutcome.ERROR]
    assert Claim.objects.filter(partner=partner).count() == 5
    assert BulkUpload.objects.count() == 1
