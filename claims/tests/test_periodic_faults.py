"""The periodic jobs under faults (issue 10): one failing claim never stops a pass."""

import datetime
import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims import pipeline, validation
from claims.models import ClaimStatus
from claims.tests.test_pipeline import DEADLINE_UTC, submitted_claim, validated_claim
from cpor.periodic import periodic_jobs_run

pytestmark = pytest.mark.django_db

AFTER_THE_DEADLINE = DEADLINE_UTC + datetime.timedelta(days=1)


def with_a_time_zone_that_does_not_exist(claim):
    tenant = validation.tenant_for(claim.domain, claim.tenant_guid)
    # The form and the importer refuse such a zone: only a direct write can store one.
    type(tenant).objects.filter(pk=tenant.pk).update(time_zone="Mars/Olympus_Mons")
    return claim


def test_a_claim_whose_tenant_has_an_invalid_time_zone_never_stops_the_pass(caplog, capsys):
    broken = with_a_time_zone_that_does_not_exist(submitted_claim())
    valid = submitted_claim()
    due = validated_claim()
    mail.outbox.clear()

    with caplog.at_level(logging.ERROR):
        call_command("run_periodic_jobs", "--now", AFTER_THE_DEADLINE.isoformat())

    lines = capsys.readouterr().out.splitlines()
    assert "validated: 1" in lines  # the valid claim only: the broken one did not move
    assert "approved: 1" in lines
    assert "customer_emails: 2" in lines
    for claim, status in ((broken, ClaimStatus.SUBMITTED), (valid, ClaimStatus.UNDER_REVIEW), (due, "approved")):
        claim.refresh_from_db()
        assert claim.status == status
    assert {message.to[0] for message in mail.outbox} >= {valid.customer_contact_email, valid.technical_contact_email}
    failure = next(record for record in caplog.records if "could not be validated" in record.getMessage())
    assert f"claim {broken.pk}" in failure.getMessage() and "validated" in failure.getMessage()
    assert failure.exc_info is not None  # the traceback is in the log


def test_the_validation_job_counts_the_claims_it_moved_not_the_ones_it_read():
    with_a_time_zone_that_does_not_exist(submitted_claim())
    with_a_time_zone_that_does_not_exist(submitted_claim())
    assert pipeline.claims_validate_submitted() == 0
    assert periodic_jobs_run()["validated"] == 0


def test_the_subscription_checks_read_what_ended_through_partial_indexes():
    if connection.vendor != "postgresql":
        pytest.skip("The plans are PostgreSQL's.")
    claim, ended = validated_claim(), validated_claim()
    pipeline.claims_approve_due(now=AFTER_THE_DEADLINE)
    ended_item = ended.items.get()
    type(ended_item.subscription).objects.filter(pk=ended_item.subscription_id).update(status="disabled")
    with CaptureQueriesContext(connection) as queries:
        assert pipeline._items_no_longer_live() == [(ended.pk, ended_item.pk)]
    plans = []
    with connection.cursor() as cursor:
        # On a table this small a sequential scan is cheaper; forbid it to see which index
        # the query can use at all (the partial index's condition must match the query's).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("ANALYZE claims_claimitem")
        for query in queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert len(plans) == 3
    assert "subscription_not_live" in plans[0]  # the subscriptions that ended, not all of them
    assert "claim_item_approved_sub" in plans[1]
    assert "claim_item_approved_workload" in plans[2]
    assert claim.items.get().outcome == "approved"
