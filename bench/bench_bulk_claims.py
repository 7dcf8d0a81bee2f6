"""Bulk claims: 1,000 rows (some bad) checked and made drafts in under 60 s, and the same
file uploaded again creating nothing new.

    .venv/bin/python bench/bench_bulk_claims.py [--rows 1000] [--limit 60] [--workers N]

It builds a throwaway PostgreSQL database (`cpor_bench_bulk`, on the server named by
BENCH_DATABASE_URL or DATABASE_URL, else postgres://postgres@127.0.0.1:5432) holding one
partner and 200 customer tenants (each with a Dynamics 365 Sales subscription and a
Microsoft 365 E3 subscription carrying three workloads), writes a CSV of N rows, half
Business Applications and half Microsoft 365, with one row in twenty bad in one of five ways,
and uploads it as the partner's Incentives admin through `bulk.services`. With `--workers N`
(and REDIS_URL naming a Redis server) a real Celery worker with N processes checks the rows,
in parts side by side, as in production; without it the tasks run eagerly in this process,
one part after the other (the same code). It checks that every bad
row is named and every good one is a draft, then uploads the same file again and checks
that no claim was created. It prints a Markdown table and exits non-zero if a run exceeds
the limit or a check fails. Without PostgreSQL it runs on a temporary SQLite file and says so.
"""

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import customer_tenants, drop_database, use_fresh_database  # noqa: E402

BENCH_DB = "cpor_bench_bulk"
TENANTS = 200
BAD_KINDS = ("domain", "product", "email", "duplicate", "mpn")


def prepare_database() -> str:
    version = use_fresh_database(BENCH_DB)
    return f"PostgreSQL {version}" if version else "SQLite (no PostgreSQL reachable)"


def populate():
    """The partner, its Incentives admin and MPN ID, and the customer tenants."""
    from cpor.models import Role
    from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user
    from tenants.models import Product, Workload

    partner = PartnerFactory(name="Bench Partner")
    mpn = MpnIdFactory(partner=partner, mpn_id="1234567")
    user = partner_user(partner, Role.INCENTIVES_ADMIN, email="paula@fabrikam.example")  # the rows' partner contact
    sales = Product.objects.create(
        code="D365_SALES", name="Dynamics 365 Sales", solution_area="Business Applications", family="Dynamics 365"
    )
    e3 = Product.objects.create(code="M365_E3", name="Microsoft 365 E3", solution_area="Microsoft 365", family="M365")
    e3.workloads.set(
        [Workload.objects.create(name=name) for name in ("Exchange Online", "SharePoint Online", "Microsoft Teams")]
    )
    tenants = customer_tenants(TENANTS, (sales, e3), digits=3)
    return user, mpn, tenants


def bulk_file(rows: int, mpn, tenants) -> tuple[bytes, set[int]]:
    """The CSV, and the line numbers of the rows that must be refused."""
    from bulk.csvfile import COLUMN_NAMES

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMN_NAMES)
    writer.writeheader()
    bad_lines = set()
    for n in range(rows):
        line = n + 2
        tenant_index = n % TENANTS
        tenant = tenants[tenant_index]
        m365 = n % 2 == 1
        row = {
            "reference": f"BENCH-{n:05d}",
            "claim_name": f"Bench claim {n}",
            "mpn_id": mpn.mpn_id,
            "domain": f"customer{tenant_index:03d}.example",
            "tenant_id": str(tenant.tenant_id),
            "solution_area": "Microsoft 365" if m365 else "Business Applications",
            "activity": "usage",
            "products_or_workloads": "Exchange Online; Microsoft Teams" if m365 else "Dynamics 365 Sales",
            "customer_contact_name": "Ada Customer",
            "customer_contact_title": "CIO",
            "customer_contact_email": f"ada@customer{tenant_index:03d}.example",
            "technical_contact_name": "" if m365 else "Tom Tech",
            "technical_contact_title": "" if m365 else "IT lead",
            "technical_contact_email": "" if m365 else f"tom@customer{tenant_index:03d}.example",
            "partner_contact_name": "Paula Partner",
            "partner_contact_email": "paula@fabrikam.example",
        }
        if n % 20 == 19:
            kind = BAD_KINDS[(n // 20) % len(BAD_KINDS)]
            bad_lines.add(line)
            if kind == "domain":
                row["domain"] = f"customer{(tenant_index + 1) % TENANTS:03d}.example"
            elif kind == "product":
                row["products_or_workloads"] = "No Such Product" if not m365 else "No Such Workload"
            elif kind == "email":
                row["customer_contact_email"] = "not-an-email"
            elif kind == "duplicate":
                row["reference"] = "BENCH-00000"
            else:
                row["mpn_id"] = "9999999"
        writer.writerow(row)
    return buffer.getvalue().encode(), bad_lines


def upload_once(user, content: bytes):
    """Upload, then wait until the upload is finished (at once when the tasks run eagerly)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from bulk import services

    started = time.perf_counter()
    upload = services.bulk_upload_create(user=user, upload=SimpleUploadedFile("bench.csv", content))
    while True:
        upload.refresh_from_db()
        if upload.is_finished or time.perf_counter() - started > 900:
            return upload, time.perf_counter() - started
        time.sleep(0.2)


def start_worker(processes: int):
    import subprocess

    from cpor.celery import app

    app.control.purge()
    env = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="cpor.settings.base", DJANGO_DEBUG="false")
    env.setdefault("CPOR_VAR_DIR", tempfile.mkdtemp())
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cpor", "worker", f"--concurrency={processes}", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    time.sleep(8)  # the worker's processes start and connect
    return worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=0, help="worker processes (0: run the tasks in this process)")
    args = parser.parse_args()

    engine = prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bulk.models import RowOutcome, UploadStatus
    from claims.models import Claim
    from cpor.celery import app

    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    user, mpn, tenants = populate()
    content, bad_lines = bulk_file(args.rows, mpn, tenants)
    worker = None
    if args.workers and settings.CELERY_BROKER_URL.startswith("redis"):
        worker = start_worker(args.workers)
        mode = f"a Celery worker with {args.workers} processes"
    else:
        # The tasks run here, right after the upload commits: the worker's own code.
        app.conf.task_always_eager = True
        mode = "tasks run in this process"
    try:
        first, first_time = upload_once(user, content)
        claims_after_first = Claim.objects.count()
        second, second_time = upload_once(user, content)
        claims_after_second = Claim.objects.count()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)

    def outcome_of(upload):
        rows = list(upload.rows.all())
        errors = {row.line for row in rows if row.outcome == RowOutcome.ERROR and row.messages}
        created = sum(1 for row in rows if row.outcome == RowOutcome.CREATED)
        existing = sum(1 for row in rows if row.outcome == RowOutcome.EXISTING)
        return len(rows), created, existing, errors

    checks = []
    total, created, existing, errors = outcome_of(first)
    checks.append(("first upload finished", first.status == UploadStatus.DONE))
    checks.append(("every row has a result", total == args.rows))
    checks.append(("every bad row is named, and only those", errors == bad_lines))
    checks.append(("every good row is a draft", created == args.rows - len(bad_lines) == claims_after_first))
    total2, created2, existing2, errors2 = outcome_of(second)
    checks.append(("second upload creates nothing new", created2 == 0 and claims_after_second == claims_after_first))
    checks.append(("second upload names every earlier draft", existing2 == created and errors2 == bad_lines))
    checks.append((f"each run under {args.limit:.0f} s", first_time < args.limit and second_time < args.limit))

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"### Bulk claims ({args.rows:,} rows, {len(bad_lines)} bad, {engine}, {mode}; load average {load})\n")
    print("| run | wall time | rows/s | drafts created | already created | rows with errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| first upload | {first_time:.1f} s | {args.rows / first_time:,.0f} | {created} | {existing} "
        f"| {len(errors)} |"
    )
    print(
        f"| same file again | {second_time:.1f} s | {args.rows / second_time:,.0f} | {created2} | {existing2} "
        f"| {len(errors2)} |"
    )
    print()
    for label, passed in checks:
        print(f"- {'ok' if passed else 'FAILED'}: {label}")
    drop_database(BENCH_DB)
    return 0 if all(passed for _, passed in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
