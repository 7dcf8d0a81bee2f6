"""End to end through a real Celery worker, the real broker and the real database.

The worker is a separate process on the test database (the test commits its data:
transaction=True), consuming from the test broker; emails go to files in a temporary
folder, as they do under `make run`.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from claims import services
from claims.models import ClaimStatus
from claims.tests.factories import ClaimFactory, ProofFactory, SubscriptionItemFactory
from cpor.celery import app
from cpor.models import Role
from cpor.tests.factories import partner_user

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def subprocess_env(tmp_path, broker_url=None) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cpor.settings.base",
        DATABASE_URL=database_url(),
        CPOR_EMAIL_FILE_PATH=str(tmp_path / "mail"),
        CPOR_VAR_DIR=str(tmp_path / "var"),
        DJANGO_DEBUG="false",
    )
    broker = broker_url or settings.CELERY_BROKER_URL
    if broker.startswith("redis"):
        env["REDIS_URL"] = broker
    else:
        env.pop("REDIS_URL", None)
    return env


@pytest.fixture
def worker(tmp_path):
    if connection.vendor == "sqlite":
        pytest.fail("The worker test needs a database a second process can share: run it on PostgreSQL.")
    app.control.purge()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cpor",
            "worker",
            "-Q",
            "celery,periodic",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=settings.BASE_DIR,
        env=subprocess_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(predicate, timeout=40, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"Timed out waiting for {what}")


def complete_draft():
    """A draft with everything Submit claim asks for, and the Incentives admin who filed it."""
    claim = ClaimFactory()
    SubscriptionItemFactory(claim=claim)
    ProofFactory(claim=claim)
    return claim, partner_user(claim.partner, Role.INCENTIVES_ADMIN)


def test_submit_validate_email_and_opt_out_through_a_real_worker(worker, tmp_path, client):
    claim, filer = complete_draft()
    services.claim_submit(user=filer, claim_id=claim.pk)

    def status():
        claim.refresh_from_db()
        return claim.status if claim.status != ClaimStatus.SUBMITTED else None

    assert wait_for(status, what="the worker to validate the claim") == ClaimStatus.UNDER_REVIEW
    mail_dir = tmp_path / "mail"
    files = wait_for(
        lambda: (
            f"To: {claim.technical_contact_email}" in "".join(path.read_text() for path in mail_dir.glob("*.log"))
            and list(mail_dir.glob("*.log"))
        ),
        what="the customer emails",
    )
    emails = "".join(path.read_text() for path in files)
    # The customer contact and the technical contact, once each (partner emails go out too).
    assert emails.count(f"To: {claim.customer_contact_email}") == 1
    assert emails.count(f"To: {claim.technical_contact_email}") == 1
    link = re.search(r"http://127\.0\.0\.1:8000(/opt-out/[^/\s]+/)", emails).group(1)

    page = client.get(link)
    assert page.status_code == 200
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert client.post(link).status_code == 200
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.OPTED_OUT
    assert client.post(link).status_code == 410


def test_with_the_broker_down_submission_stands_and_the_periodic_job_validates_later(tmp_path):
    claim, filer = complete_draft()

    # Submit claim in a web process whose broker is unreachable: queueing the validation
    # fails after the commit, and the submission stands.
    script = (
        "from claims import services; from cpor.models import User;"
        f"services.claim_submit(user=User.objects.get(pk={filer.pk}), claim_id={claim.pk}); print('submitted')"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR,
        env=subprocess_env(tmp_path, broker_url="redis://127.0.0.1:1/0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "submitted" in result.stdout
    assert "periodic job will pick it up" in result.stderr
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED

    # The broker is back: beat's next pass validates what was left in Submitted.
    result = subprocess.run(
        [sys.executable, "manage.py", "run_periodic_jobs"],
        cwd=settings.BASE_DIR,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "validated: 1" in result.stdout
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW


def test_a_worker_killed_after_taking_a_job_loses_nothing_and_validates_once(worker, tmp_path):
    claim, filer = complete_draft()
    services.claim_submit(user=filer, claim_id=claim.pk)
    # Kill the worker hard as soon as it has taken the validation job.
    received = wait_for(lambda: "claims.validate_claim" in (worker.stdout.readline() or ""), what="the job")
    assert received
    worker.kill()
    worker.wait(timeout=20)

    # Whatever the job had done, the periodic pass finishes it, once.
    result = subprocess.run(
        [sys.executable, "manage.py", "run_periodic_jobs"],
        cwd=settings.BASE_DIR,
        env=subprocess_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.UNDER_REVIEW
    assert claim.events.filter(action="validated").count() == 1
    mail_dir = tmp_path / "mail"
    emails = "".join(path.read_text() for path in mail_dir.glob("*.log"))
    assert emails.count(f"To: {claim.customer_contact_email}") == 1


@pytest.fixture
def hung_redis():
    """A "Redis" that accepts connections and never answers: what a hung server looks like."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for held_connection in held:
        held_connection.close()
    server.close()


def test_with_redis_hung_submitting_answers_within_seconds_and_the_claim_stands(tmp_path, hung_redis):
    claim, filer = complete_draft()
    script = (
        "import time; from claims import services; from cpor.models import User;"
        f"user = User.objects.get(pk={filer.pk}); began = time.monotonic();"
        f"services.claim_submit(user=user, claim_id={claim.pk});"
        "print(f'submitted in {time.monotonic() - began:.1f}s')"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR,
        env=subprocess_env(tmp_path, broker_url=hung_redis),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seconds = float(re.search(r"submitted in ([\d.]+)s", result.stdout).group(1))
    # Queueing the validation and the partner's notification each give up within seconds.
    assert seconds < 8, result.stderr
    assert "periodic job will pick it up" in result.stderr
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
