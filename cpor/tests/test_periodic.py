"""The periodic jobs: each app registers its own; beat runs each; one pass runs them all."""

import threading
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

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


@pytest.fixture
def registered():
    """Register jobs for one test, and forget them afterwards."""
    names = []

    def register(name, run):
        names.append(name)
        periodic.periodic_job_register(name, run)

    yield register
    for name in names:
        periodic._jobs.pop(name, None)


@pytest.mark.django_db(transaction=True)
def test_only_one_run_of_a_job_at_a_time_a_second_one_returns_at_once(registered):
    if connection.vendor != "postgresql":
        pytest.skip("The advisory lock is PostgreSQL's; SQLite serialises writers anyway.")
    started, release = threading.Event(), threading.Event()
    runs = []

    def slow_job():
        runs.append(threading.current_thread().name)
        started.set()
        release.wait(timeout=30)
        return 1

    registered("test-slow-job", slow_job)
    outcome = {}

    def first_run():
        try:
            outcome["first"] = periodic.periodic_job_run("test-slow-job")
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_run, name="first")
    thread.start()
    assert started.wait(timeout=30)
    began = time.monotonic()
    assert periodic.periodic_job_run("test-slow-job") == periodic.SKIPPED
    assert periodic.run_periodic_job("test-slow-job") == periodic.SKIPPED  # the beat entry too
    assert time.monotonic() - began < 2
    release.set()
    thread.join(timeout=30)
    assert outcome == {"first": 1}
    assert runs == ["first"]
    # The lock went with the first run: the next one runs.
    assert periodic.periodic_job_run("test-slow-job") == 1


@pytest.mark.django_db
def test_a_job_that_fails_is_logged_and_the_pass_goes_on_with_the_next(registered, caplog, capsys):
    def broken_job():
        raise RuntimeError("the directory is unreachable")

    registered("test-broken-job", broken_job)
    registered("test-after-it", lambda: 3)
    call_command("run_periodic_jobs")
    lines = capsys.readouterr().out.splitlines()
    assert f"test-broken-job: {periodic.FAILED}" in lines
    assert "test-after-it: 3" in lines
    assert "Periodic job test-broken-job failed" in caplog.text
    assert "the directory is unreachable" in caplog.text


def test_the_periodic_jobs_have_their_own_queue_and_the_workers_consume_it_with_the_emails():
    from cpor.celery import app

    assert app.amqp.router.route({}, "cpor.run_periodic_job")["queue"].name == "periodic"
    assert app.amqp.router.route({}, "claims.send_customer_emails")["queue"].name == "celery"
    procfile = (settings.BASE_DIR / "Procfile").read_text()
    worker = next(line for line in procfile.splitlines() if line.startswith("worker:"))
    assert "-Q celery,periodic" in worker
