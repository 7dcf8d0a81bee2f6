"""The periodic jobs: each app registers its own; beat runs each; one pass runs them all."""

import pytest
from django.conf import settings
from django.core.management import call_command

from cpor import periodic


def test_beat_runs_every_registered_job_as_its_own_entry_and_nothing_else():
    scheduled = {entry["args"][0] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {job.name for job in periodic.periodic_jobs()}
    assert {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()} == {"cpor.run_periodic_job"}


def test_a_beat_entry_expires_rather_than_piling_up_behind_a_busy_worker():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["options"]["expires"] <= entry["schedule"]


def test_the_jobs_run_bottom_up_validation_first_partner_emails_last():
    assert [job.name for job in periodic.periodic_jobs()] == list(settings.PERIODIC_JOBS)


@pytest.mark.django_db
def test_a_beat_entry_runs_its_job_and_reports_what_it_did():
    assert periodic.run_periodic_job("validated") == 0


def test_a_beat_entry_for_a_job_no_longer_registered_is_skipped(caplog):
    assert periodic.run_periodic_job("retired-job") == 0
    assert "retired-job" in caplog.text


@pytest.mark.django_db
def test_the_command_runs_one_pass_of_every_job(capsys):
    call_command("run_periodic_jobs")
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{name}: 0" for name in settings.PERIODIC_JOBS]
