"""Several machines: two web servers, two workers and one beat, on PostgreSQL and Redis.

As an operator runs them (README "Running on several machines"): two gunicorn processes on
two ports, two Celery workers and exactly one beat, each its own process (group) with the
production settings, sharing only the database, Redis and the proof-of-execution folder. A
partner's system files claims concurrently through both web servers with the API; every claim
must be validated exactly once, every customer recipient emailed exactly once, nothing lost,
and the same again when a worker machine dies (SIGKILL of its whole process group) mid-run.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection
from django.db.models import Count

from api import services as api_services
from claims.models import Activity, Claim, ClaimEvent, ClaimStatus, CustomerEmail
from claims.tests.factories import PDF_BYTES
from claims.tests.test_worker import database_url
from cpor.models import Role
from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user
from cpor.tests.test_deploy import free_port
from tenants.models import SolutionArea
from tenants.tests.factories import ProductFactory, SubscriptionFactory, TenantFactory

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

CLAIMS = int(os.environ.get("CPOR_MULTIPROCESS_CLAIMS", "200"))
# Filed while a worker dies: half as many, enough for the kill to land in the middle.
CLAIMS_WHILE_A_WORKER_DIES = CLAIMS // 2
FILERS = 12
PERIODIC_SECONDS = 5


def environment(tmp_path) -> dict:
    """What every machine is given: the same database, Redis, proof folder and secret."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_", "CPOR_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cpor.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.CELERY_BROKER_URL,
        CPOR_VAR_DIR=str(tmp_path / "var"),
        CPOR_MEDIA_ROOT=str(tmp_path / "media"),
        CPOR_EMAIL_FILE_PATH=str(tmp_path / "mail"),
        CPOR_API_RATE_LIMIT="100000/minute",
        CPOR_PERIODIC_SECONDS=str(PERIODIC_SECONDS),
        SITE_URL="https://cpor.example",
    )
    return env


class Machines:
    """The processes, each the leader of its own process group; all of them are killed at the
    end whatever happens."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.env = environment(tmp_path)
        self.processes: dict[str, subprocess.Popen] = {}
        self.web_ports: list[int] = []

    def start(self, name, *command):
        log = (self.tmp_path / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def web(self, name):
        port = free_port()
        self.start(name, "gunicorn", "cpor.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4")
        self.web_ports.append(port)

    def worker(self, name):
        self.start(
            name,
            "celery",
            "-A",
            "cpor",
            "worker",
            "-n",
            f"{name}@%h",
            "-Q",
            "celery,periodic",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=INFO",
        )

    def beat(self):
        schedule = self.tmp_path / "celerybeat-schedule"
        self.start("beat", "celery", "-A", "cpor", "beat", "--loglevel=INFO", "-s", str(schedule))

    def kill(self, name):
        """The machine dies: every process of it at once, no chance to hand anything back."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)

    def stop_all(self):
        for name in list(self.processes):
            self.kill(name)

    def log(self, name) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def wait_until_serving(self):
        deadline = time.monotonic() + 90
        for port in self.web_ports:
            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health/", timeout=10).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn on {port} did not start:\n{self.log('web1')}{self.log('web2')}")
                time.sleep(0.3)


@pytest.fixture
def machines(tmp_path):
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("Several machines share PostgreSQL and Redis: run this test with both.")
    # The test's own Redis database starts empty: no message or lock left by an earlier run.
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    running = Machines(tmp_path)
    try:
        running.web("web1")
        running.web("web2")
        running.worker("worker1")
        running.worker("worker2")
        running.beat()
        running.wait_until_serving()
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def customers(db):
    """A partner with an API key, and a customer with one claimable subscription per claim."""
    partner = PartnerFactory(name="Fabrikam Machines")
    mpn = MpnIdFactory(partner=partner, mpn_id="1231231")
    partner_user(partner, Role.INCENTIVES_USER, email="paula@fabrikam.example")
    admin = partner_user(partner, Role.GLOBAL_ADMIN)
    _, secret = api_services.api_key_create(actor=admin, name="CRM", role=Role.INCENTIVES_ADMIN)
    product = ProductFactory(code="D365_SALES", name="Dynamics 365 Sales")
    tenants = []
    for number in range(CLAIMS + CLAIMS_WHILE_A_WORKER_DIES):
        domain = f"customer{number}.example"
        tenant = TenantFactory(name=f"Customer {number}", domains=[domain])
        SubscriptionFactory(tenant=tenant, product=product)
        tenants.append((tenant, domain))
    return {"mpn": mpn.mpn_id, "secret": secret, "product": product.pk, "tenants": tenants}


def file_claim(base_url, secret, mpn, product, tenant, domain) -> int:
    """What a partner's system does for one claim: five requests, the last one Submit."""
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {secret}", "X-Forwarded-Proto": "https"})

    def call(method, path, **kwargs):
        response = session.request(method, f"{base_url}{path}", timeout=60, **kwargs)
        assert response.status_code in (200, 201), (path, response.status_code, response.text[:500])
        return response

    created = call(
        "POST",
        "/api/v1/claims/",
        json={
            "mpn": mpn,
            "domain": domain,
            "tenant_id": str(tenant.tenant_id),
            "solution_area": SolutionArea.BUSINESS_APPLICATIONS,
            "activity": Activity.USAGE,
            "name": f"{tenant.name} Sales",
        },
    )
    claim_id = created.json()["id"]
    claim_path = f"/api/v1/claims/{claim_id}/"
    call("PUT", f"{claim_path}items/", json={"items": [product]})
    contacts = {
        "customer_contact_name": "Ada Customer",
        "customer_contact_title": "CIO",
        "customer_contact_email": f"ada@{domain}",
        "technical_contact_name": "Tom Tech",
        "technical_contact_title": "IT lead",
        "technical_contact_email": f"tom@{domain}",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@fabrikam.example",
    }
    call("PUT", f"{claim_path}contacts/", json=contacts)
    call("POST", f"{claim_path}proofs/", files={"files": ("sow.pdf", PDF_BYTES, "application/pdf")})
    # Submitted, or already validated by a worker quicker than the answer.
    assert call("POST", f"{claim_path}submit/").json()["status"] in (ClaimStatus.SUBMITTED, ClaimStatus.UNDER_REVIEW)
    return claim_id


def file_concurrently(machines, customers, tenants, while_filing=None) -> list[int]:
    """Every claim through one of the two web servers in turn, FILERS at a time."""
    urls = [f"http://127.0.0.1:{port}" for port in machines.web_ports]
    with ThreadPoolExecutor(FILERS) as pool:
        futures = [
            pool.submit(
                file_claim, urls[number % 2], customers["secret"], customers["mpn"], customers["product"], *tenant
            )
            for number, tenant in enumerate(tenants)
        ]
        if while_filing:
            while_filing()
        return [future.result() for future in futures]


def wait_until_processed(claim_ids, machines, timeout=240):
    """Every claim validated and every customer email sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = ClaimEvent.objects.filter(claim_id__in=claim_ids, action="validated").values("claim_id").distinct()
        unsent = CustomerEmail.objects.filter(claim_id__in=claim_ids, sent_at__isnull=True)
        if waiting.count() == len(claim_ids) and not unsent.exists():
            emailed = CustomerEmail.objects.filter(claim_id__in=claim_ids).values("claim_id").distinct()
            if emailed.count() == len(claim_ids):
                return
        time.sleep(1)
    logs = "\n".join(machines.log(name)[-2000:] for name in ("worker2", "beat"))
    raise AssertionError(f"Not every claim was processed in {timeout}s.\n{logs}")


def assert_each_once(claim_ids, tmp_path):
    """Validated exactly once, under review, both customer contacts emailed exactly once."""
    assert Claim.objects.filter(pk__in=claim_ids, status=ClaimStatus.UNDER_REVIEW).count() == len(claim_ids)
    validations = Counter(
        dict(
            ClaimEvent.objects.filter(claim_id__in=claim_ids, action="validated")
            .values_list("claim_id")
            .annotate(n=Count("id"))
        )
    )
    assert set(validations.values()) == {1} and len(validations) == len(claim_ids)
    rows = Counter(CustomerEmail.objects.filter(claim_id__in=claim_ids).values_list("recipient", flat=True))
    assert len(rows) == 2 * len(claim_ids) and set(rows.values()) == {1}
    mail = "".join(path.read_text(errors="replace") for path in (tmp_path / "mail").glob("*.log"))
    sent = Counter(line.removeprefix("To: ") for line in mail.splitlines() if line.startswith("To: "))
    for recipient in rows:
        assert sent[recipient] == 1, (recipient, sent[recipient])


def test_two_web_servers_two_workers_and_one_beat_process_every_claim_once_even_when_a_worker_dies(
    machines, customers, tmp_path
):
    tenants = customers["tenants"]

    # 1. Everything running: CLAIMS claims through both web servers at once.
    first = file_concurrently(machines, customers, tenants[:CLAIMS])
    assert len(set(first)) == CLAIMS
    wait_until_processed(first, machines)
    assert_each_once(first, tmp_path)
    # Worker lines name their task and claim.
    assert "task=claims.validate_claim[" in machines.log("worker1") + machines.log("worker2")
    assert f"claim={first[0]}" in machines.log("worker1") + machines.log("worker2")

    # 2. A worker machine dies mid-run: SIGKILL while claims are still being filed and validated.
    validated_at_the_kill = []

    def kill_a_worker_once_validations_are_under_way():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if ClaimEvent.objects.filter(action="validated").count() >= CLAIMS + CLAIMS_WHILE_A_WORKER_DIES // 10:
                break
            time.sleep(0.1)
        machines.kill("worker1")
        validated_at_the_kill.append(ClaimEvent.objects.filter(claim_id__gt=max(first), action="validated").count())

    second = file_concurrently(
        machines, customers, tenants[CLAIMS:], while_filing=kill_a_worker_once_validations_are_under_way
    )
    assert machines.processes["worker1"].returncode == -signal.SIGKILL
    assert validated_at_the_kill[0] < CLAIMS_WHILE_A_WORKER_DIES, "the worker died after the run, not in it"
    wait_until_processed(second, machines)
    assert_each_once(second, tmp_path)
