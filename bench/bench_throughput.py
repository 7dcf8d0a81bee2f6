"""How many requests a second each partner page serves at a million claims, next to a bare view.

    .venv/bin/python bench/bench_throughput.py [--claims 1000000] [--partners 100] [--duration 10]
                                               [--rebuild] [--record "label"] [--only WORD ...]
                                               [--database NAME] [--no-check]

It builds (or reuses, when it already holds the same claims, partners and data version) the
PostgreSQL database `cpor_bench_throughput` on the server named by BENCH_DATABASE_URL or
DATABASE_URL (else postgres://postgres@127.0.0.1:5432): N claims over P partners (N/P each),
one item each, in all nine statuses, over N/5 tenants with a domain, a subscription and usage for the
last three months (approvals were decided before them, so the Usage page shows them), and
one History event per claim. Rows are generated inside the database
(INSERT ... SELECT generate_series, foreign-key triggers off), so a million claims take two
minutes, not hours. Names are varied ("Teams adoption at Fabrikam 3F9A1C GmbH") and each
partner's customers spread over the alphabet, as real ones do.

Then it migrates, collects static files, starts gunicorn with two workers under production
settings (`bench.settings`: production plus one bare view at /bench/bare/), signs in one
Incentives admin of the first partner (a session cookie) and a reviewer, and runs `wrk`
(installed with apt-get when missing) with 16 connections against each page and the bare
view in turns of five seconds, `--duration` seconds each, all in the same run: each page is
compared with the bare view of the same seconds, since on a shared machine the load moves.
It prints a Markdown table of req/s, share of the bare view, response size and SQL queries
(counted on a separate request through Django's test client) and, with --record, appends it
to bench/RESULTS.md with the machine it ran on.

A partner page passes when it serves at least 15% of the bare view's requests a second; the
bench exits with status 1 when one does not (--no-check only reports).
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import connect, database_url  # noqa: E402

BENCH_DB = "cpor_bench_throughput"
TARGET_SHARE = 0.15
DATA_VERSION = 4  # a database built by another version of populate() is built again
# Seconds of each turn of page then bare view: long enough that the requests still queued
# when a turn ends (16 at most) weigh little on the next one.
TURN = 5
# Production refuses to start without a long secret; this one exists for the bench only.
BENCH_SECRET = "bench-only-secret-" + "x" * 48
VAR_DIR = Path(tempfile.gettempdir()) / "cpor-bench-throughput-var"


def server_config() -> dict:
    config = common.server_config()
    if not config["ENGINE"].endswith("postgresql"):
        sys.exit("The throughput bench needs PostgreSQL (BENCH_DATABASE_URL or DATABASE_URL).")
    return config


def existing_size(config: dict) -> tuple | None:
    """(claims, partners, data version) of an already built bench database, or None."""
    import psycopg2

    try:
        connection = connect(config, BENCH_DB)
    except psycopg2.OperationalError:
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM bench_meta WHERE key = 'size'")
            row = cursor.fetchone()
    except psycopg2.Error:
        return None
    finally:
        connection.close()
    return tuple(json.loads(row[0])) if row else None  # (claims, partners, data version)


def create_database(config: dict) -> str:
    return common.create_database(config, BENCH_DB)


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, check=True)


def populate(config: dict, claims: int, partners: int) -> None:
    """Everything inside PostgreSQL: INSERT ... SELECT generate_series, then ANALYZE."""
    tenants = max(claims // 5, 10)
    if tenants % 3 == 0:
        # Claim n sits on tenant n % tenants and is approved when n % 9 == 5: with the number of
        # tenants prime to 3, no two approved claims share a subscription (one holder per item).
        tenants += 1
    statuses = ["draft", "submitted", "validation_failed", "under_review", "action_required", "approved",
                "rejected", "opted_out", "ended"]  # fmt: skip
    steps = [
        (
            "partners",
            """INSERT INTO cpor_partner (partner_id, name, country)
               SELECT (1000000 + p)::text, 'Partner ' || lpad(p::text, 3, '0'), 'FR'
               FROM generate_series(1, %(partners)s) p""",
        ),
        (
            "MPN IDs",
            """INSERT INTO cpor_mpnid (mpn_id, partner_id, location, partner_type, osa_sell, osu_m365, osu_bizapps)
               SELECT (5000000 + 2 * p.id + k)::text, p.id, 'Location ' || k, '', true, true, true
               FROM cpor_partner p, generate_series(0, 1) k""",
        ),
        (
            "product",
            """INSERT INTO tenants_product (code, name, solution_area, family)
               VALUES ('D365_BENCH', 'Dynamics 365 Sales', 'Business Applications', 'Dynamics 365')""",
        ),
        (
            "tenants",
            """INSERT INTO tenants_tenant (tenant_id, name, country, subdivision, time_zone, language,
                                           notification_emails)
               SELECT md5('tenant' || t)::uuid,
                      (%(companies)s::text[])[1 + (t + t / 100) %% 10] || ' ' || upper(substr(md5('name' || t), 1, 6))
                      || ' '
                      || (%(forms)s::text[])[1 + t %% 5], 'FR', '', 'Europe/Paris',
                      'en', '[]'::jsonb
               FROM generate_series(0, %(tenants)s - 1) t""",
        ),
        (
            "domains",
            """INSERT INTO tenants_domain (tenant_id, name)
               SELECT id, lower(split_part(name, ' ', 1) || '-' || split_part(name, ' ', 2)) || '-' || id || '.example'
               FROM tenants_tenant""",
        ),
        (
            "subscriptions",
            """INSERT INTO tenants_subscription (subscription_id, tenant_id, product_id, channel, status,
                                                 provisioned, start_date, end_date)
               SELECT md5('subscription' || t.id)::uuid, t.id, p.id, 'Volume Licensing', 'active', true,
                      '2025-01-01', '2027-12-31'
               FROM tenants_tenant t, tenants_product p""",
        ),
        (
            "usage",
            """INSERT INTO tenants_usage (tenant_id, subscription_id, workload, month, monthly_active_users,
                                          paid_available_units)
               SELECT t.id, NULL, 'D365_BENCH', (date_trunc('month', now()) - m * interval '1 month')::date,
                      10 + (t.id + m) %% 90, 100
               FROM tenants_tenant t, generate_series(0, 2) m""",
        ),
        (
            "claims",
            """INSERT INTO claims_claim (
                    partner_id, mpn_id, created_by_id, name, domain, tenant_guid, tenant_id, tenant_name, solution_area,
                    activity, solution_seller_name, customer_name, isv_solution_name,
                    customer_contact_name, customer_contact_title, customer_contact_email,
                    technical_contact_name, technical_contact_title, technical_contact_email,
                    partner_contact_name, partner_contact_email, status, validation_errors, rejection_reason,
                    created_at, updated_at, submitted_at, opt_out_deadline, review_due_at, decided_at,
                    opt_out_nonce, disassociation_reason, dispute_final)
                SELECT m.partner_id, m.id, NULL,
                    (%(activities)s::text[])[1 + n %% 6] || ' at ' || t.name, d.name,
                    t.tenant_id, t.id, t.name, 'Business Applications', 'usage', '', '', '',
                    'Ada', 'CIO', 'ada@customer.example', 'Tom', 'IT', 'tom@customer.example', 'Paula',
                    'paula@partner.example', (%(statuses)s::text[])[1 + n %% 9], '[]'::jsonb, '',
                    now() - (n || ' seconds')::interval, now(),
                    CASE WHEN n %% 9 = 0 THEN NULL ELSE now() - (n || ' seconds')::interval END,
                    CASE WHEN n %% 9 IN (3, 4) THEN now() + ((n %% 1000) || ' minutes')::interval END,
                    CASE WHEN n %% 9 IN (3, 4) THEN now() + ((n %% 5000) || ' minutes')::interval END,
                    CASE WHEN n %% 9 IN (5, 6, 7, 8)
                         THEN now() - interval '100 days' - (n || ' seconds')::interval END,
                    md5('nonce' || n)::uuid, '', false
                FROM generate_series(1, %(claims)s) n
                JOIN (SELECT id, partner_id, row_number() OVER (ORDER BY partner_id, id) - 1 AS k
                      FROM cpor_mpnid) m ON m.k = 2 * (n %% %(partners)s) + (n / %(partners)s) %% 2
                JOIN (SELECT id, tenant_id, name, row_number() OVER (ORDER BY id) - 1 AS k
                      FROM tenants_tenant) t ON t.k = n %% %(tenants)s
                JOIN tenants_domain d ON d.tenant_id = t.id""",
        ),
        (
            "claim items",
            """INSERT INTO claims_claimitem (claim_id, partner_id, program, product_id, subscription_id, workload_id,
                                             item_key, outcome, decided_at)
               SELECT c.id, c.partner_id, 'OSU-BizApps', s.product_id, s.id, NULL, 'sub:' || s.subscription_id,
                      CASE c.status WHEN 'approved' THEN 'approved' WHEN 'ended' THEN 'ended'
                                    WHEN 'rejected' THEN 'rejected' WHEN 'opted_out' THEN 'rejected'
                                    ELSE 'pending' END,
                      c.decided_at
               FROM claims_claim c JOIN tenants_subscription s ON s.tenant_id = c.tenant_id""",
        ),
        (
            "events",
            """INSERT INTO claims_claimevent (claim_id, actor_id, action, from_status, to_status, reason, data,
                                              created_at)
               SELECT id, NULL, 'created', '', 'draft', '', '{}'::jsonb, created_at FROM claims_claim""",
        ),
    ]
    connection = connect(config, BENCH_DB)
    parameters = {
        "claims": claims,
        "partners": partners,
        "tenants": tenants,
        "statuses": statuses,
        # Names as varied as real ones: a search for part of one reads a few index entries,
        # not every claim's (names that all share "Claim ... for Customer" make any trigram
        # search read the whole index).
        "companies": ["Contoso", "Fabrikam", "Litware", "Adatum", "Northwind", "Tailspin", "Wingtip", "Proseware",
                      "Woodgrove", "Alpine"],
        "forms": ["Ltd", "SA", "GmbH", "Inc", "SARL"],
        "activities": ["Sales rollout", "Teams adoption", "Field service", "Finance migration", "Power BI pilot",
                       "Customer insights"],
    }  # fmt: skip
    with connection.cursor() as cursor:
        # The rows are consistent by construction: skip the foreign-key triggers, a third of
        # the time of a million inserts (needs a superuser, which the bench database's owner is).
        # This skips the triggers that copy a claim's tenant name and an item's partner as well
        # (claims migration 0012): the statements above write both copies themselves.
        cursor.execute("SET session_replication_role = replica")
        for label, sql in steps:
            started = time.perf_counter()
            cursor.execute(sql, parameters)
            print(f"  {label}: {cursor.rowcount:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        cursor.execute("SET session_replication_role = DEFAULT")
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text)")
        cursor.execute("INSERT INTO bench_meta VALUES ('size', %s)", [json.dumps([claims, partners, DATA_VERSION])])
    connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing the Debian package", flush=True)
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    subprocess.run([*prefix, "apt-get", "install", "-y", "-q", "wrk"], check=True)
    return shutil.which("wrk") or "/usr/bin/wrk"


def run_wrk(wrk: str, url: str, cookie: str, duration: int, connections: int) -> tuple[float, int]:
    """(requests a second, responses that were not 2xx/3xx)."""
    output = subprocess.run(
        [wrk, f"-c{connections}", "-t2", f"-d{duration}s", "--timeout", "60s",
         "-H", f"Cookie: sessionid={cookie}", "-H", "X-Forwarded-Proto: https", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    return rate, int(errors.group(1)) if errors else 0


def check_page(port: int, path: str, cookie: str, label: str) -> None:
    """The page answers 200 to the signed-in cookie through gunicorn (not a redirect to sign in)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}", "X-Forwarded-Proto": "https"})
    status = connection.getresponse().status
    connection.close()
    if status != 200:
        raise SystemExit(f"{label}: {path} answered {status}")


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    return f"{cpu}, {os.cpu_count()} cores, {memory / 1024 / 1024:.0f} GB RAM, Linux {platform.release()}"


def versions(config: dict) -> str:
    import django
    import gunicorn

    connection = connect(config, BENCH_DB)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    connection.close()
    wrk_version = subprocess.run([shutil.which("wrk") or "wrk", "-v"], capture_output=True, text=True).stdout
    wrk_version = (wrk_version.split() or ["wrk", "?"])[1]
    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, gunicorn {gunicorn.__version__}, "
        f"PostgreSQL {postgres.split()[0]}, wrk {wrk_version}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--partners", type=int, default=100)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rebuild", action="store_true", help="build the database even if it exists")
    parser.add_argument("--record", metavar="LABEL", help="append the table to bench/RESULTS.md under LABEL")
    parser.add_argument("--only", nargs="*", help="measure only the pages whose label contains one of these")
    parser.add_argument("--no-check", action="store_true", help="report only; never fail on the 15%% mark")
    parser.add_argument("--database", help="the bench database's name (default cpor_bench_throughput)")
    args = parser.parse_args()
    global BENCH_DB  # noqa: PLW0603 (one database per run, named once)
    BENCH_DB = args.database or BENCH_DB

    config = server_config()
    url = database_url(config, BENCH_DB)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": BENCH_SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "CPOR_VAR_DIR": str(VAR_DIR),
        "PYTHONPATH": str(ROOT),
    }
    env.setdefault("REDIS_URL", "")
    started = time.perf_counter()
    if args.rebuild or existing_size(config) != (args.claims, args.partners, DATA_VERSION):
        print(f"Building {BENCH_DB}: {args.claims:,} claims over {args.partners} partners", flush=True)
        create_database(config)
        manage("migrate", "--noinput", "-v0", env=env)
        populate(config, args.claims, args.partners)
    else:
        print(f"Reusing {BENCH_DB} ({args.claims:,} claims over {args.partners} partners)", flush=True)
    manage("migrate", "--noinput", "-v0", env=env)  # indexes added since the build
    # A migration may have rewritten rows (claims 0012 did, every claim and item): vacuumed,
    # as autovacuum would leave them minutes later, index-only scans read no table pages.
    vacuum = connect(config, BENCH_DB)
    with vacuum.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    vacuum.close()
    manage("collectstatic", "--noinput", "-v0", env=env)
    built = time.perf_counter() - started

    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from claims.models import Claim
    from cpor.models import Membership, Partner, Role, User
    from cpor.reviewers import REVIEWERS_GROUP

    setup_test_environment()
    partner = Partner.objects.order_by("id").first()
    user, _ = User.objects.get_or_create(email="bench-incentives@partner.example")
    Membership.objects.get_or_create(user=user, defaults={"partner": partner, "role": Role.INCENTIVES_ADMIN})
    reviewer, _ = User.objects.get_or_create(email="bench-reviewer@cpor.example", defaults={"is_staff": True})
    from django.contrib.auth.models import Group

    reviewer.groups.add(Group.objects.get_or_create(name=REVIEWERS_GROUP)[0])
    partner_client, reviewer_client = Client(), Client()
    partner_client.force_login(user)
    reviewer_client.force_login(reviewer)
    newest = Claim.objects.filter(partner=partner).order_by("-created_at", "-id").first()
    sample_tenant = newest.tenant
    status_filter = urlencode({"status": "under_review"})
    # Part of the newest claim's customer name ("3f9a1c" of "Fabrikam 3F9A1C GmbH") and of its
    # domain ("rikam-3f9a1c-42" of fabrikam-3f9a1c-42.example): a few claims match, among a million.
    name_search = urlencode({"q": newest.tenant.name.split()[1].lower()})
    domain_search = urlencode({"q": newest.domain.split(".")[0][3:]})
    seventh = list(Partner.objects.order_by("id").values_list("name", flat=True)[:7])[-1]
    partner_search = urlencode({"q": f'"{seventh}"'})  # a quoted phrase
    list_url = reverse("claims:list")
    admin_url = reverse("admin:claims_claim_changelist")
    pages = [
        ("Bare view, signed in", "/bench/bare/", "partner"),
        ("Customer associations, first page", list_url, "partner"),
        ("Customer associations, sorted by name", f"{list_url}?sort=name", "partner"),
        ("Customer associations, sorted by customer", f"{list_url}?sort=customer", "partner"),
        ("Customer associations, filtered by status", f"{list_url}?{status_filter}", "partner"),
        ("Customer associations, search part of a name", f"{list_url}?{name_search}", "partner"),
        ("Customer associations, search part of a domain", f"{list_url}?{domain_search}", "partner"),
        ("Overview", reverse("claims:overview"), "partner"),
        ("Claim page", reverse("claims:detail", args=[newest.pk]), "partner"),
        ("Usage", reverse("claims:usage"), "partner"),
        ("Reviewer: claims changelist", admin_url, "reviewer"),
        ("Reviewer: changelist, search tenant ID", f"{admin_url}?q={sample_tenant.tenant_id}", "reviewer"),
        ("Reviewer: changelist, search domain", f"{admin_url}?{domain_search}", "reviewer"),
        ("Reviewer: changelist, search partner", f"{admin_url}?{partner_search}", "reviewer"),
    ]
    if args.only:
        pages = [page for page in pages if page[2] == "partner" and "Bare" in page[0]] + [
            page for page in pages if "Bare" not in page[0] and any(word in page[0] for word in args.only)
        ]
    clients = {"partner": partner_client, "reviewer": reviewer_client}
    cookies = {name: client.cookies["sessionid"].value for name, client in clients.items()}

    # Query counts and sizes through the test client (same settings, same database).
    details = {}
    for label, path, who in pages:
        with CaptureQueriesContext(connection) as captured:
            response = clients[who].get(path, secure=True)
        assert response.status_code == 200, (label, response.status_code)
        details[label] = (len(captured), len(response.content))
    connection.close()

    port = free_port()
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "cpor.wsgi", "--workers", "2",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    wrk = ensure_wrk()
    results = []
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        bare_path, bare_cookie = pages[0][1], cookies[pages[0][2]]
        for label, path, who in pages:
            check_page(port, path, cookies[who], label)
            run_wrk(wrk, base + path, cookies[who], 2, args.connections)  # warm-up: caches, connections
            # The page and the bare view in turns: on a shared machine the load moves within a
            # run, so each page is compared with the bare view measured in the same seconds.
            rates, bares, errors = [], [], 0
            for _turn in range(max(args.duration // TURN, 1)):
                rate, page_errors = run_wrk(wrk, base + path, cookies[who], TURN, args.connections)
                bare, _errors = run_wrk(wrk, base + bare_path, bare_cookie, TURN, args.connections)
                rates.append(rate)
                bares.append(bare)
                errors += page_errors
            rate, bare = sum(rates) / len(rates), sum(bares) / len(bares)
            results.append((label, rate, errors, bare))
            print(
                f"  {label}: {rate:,.1f} req/s, bare view {bare:,.1f} req/s"
                + (f" ({errors} errors)" if errors else ""),
                flush=True,
            )
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    lines = [
        "| page | req/s | bare view next to it | share of the bare view | SQL queries | response |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    failing = []
    for label, rate, errors, bare in results:
        queries, size = details[label]
        share = rate / bare if bare else 0.0
        mark = ""
        if label.startswith(("Customer", "Overview", "Claim", "Usage")) and share < TARGET_SHARE:
            failing.append(label)
            mark = " ✗"
        if errors:
            mark += f" ({errors:,} errors)"
        lines.append(
            f"| {label} | {rate:,.0f} | {bare:,.0f} | {share:.1%}{mark} | {queries} | {size / 1024:,.1f} KiB |"
        )
    table = "\n".join(lines)
    header = (
        f"{args.claims:,} claims over {args.partners} partners ({args.claims // args.partners:,} each); "
        f"gunicorn, 2 workers, production settings; `wrk -c{args.connections} -t2`, {args.duration} s per page "
        f"after a 2 s warm-up, in turns of {TURN} s with the bare view; signed in as the first partner's "
        f"Incentives admin (reviewer pages: a reviewer).\n"
        f"Machine: {machine()}; {versions(config)}.\n"
        f"Database built or reused, migrated and static files collected in {built:.0f} s."
    )
    print(f"\n### Throughput\n\n{header}\n\n{table}\n")
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a") as results_file:
            results_file.write(f"\n### throughput: {args.record}\n\n{header}\n\n{table}\n")
    if failing and not args.no_check:
        print(f"Below {TARGET_SHARE:.0%} of the bare view: {', '.join(failing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
