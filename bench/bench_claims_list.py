"""How the Customer associations page holds up with hundreds of thousands of claims.

    .venv/bin/python bench/bench_claims_list.py [--claims 300000] [--runs 5]

It builds a throwaway PostgreSQL database (`cpor_bench_claims`, on the server named by
BENCH_DATABASE_URL or DATABASE_URL, else postgres://postgres@127.0.0.1:5432), gives one
partner N claims with their items (and another partner a tenth as many, to prove the
scoping costs nothing), then requests the list page, its filters, search, sorts, deep
pages and the CSV export through Django's test client as that partner's Incentives admin.
It prints, per request, the median time and the number of SQL queries, as a Markdown
table. Without a reachable PostgreSQL it runs on a temporary SQLite file with fewer
claims and says so.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import customer_tenants, drop_database, use_fresh_database  # noqa: E402

BENCH_DB = "cpor_bench_claims"


def prepare_database(claims: int) -> tuple[str, int]:
    """Point DATABASE_URL at a fresh bench database; return its description and the claim count."""
    version = use_fresh_database(BENCH_DB)
    if version:
        return f"PostgreSQL {version}", claims
    return "SQLite (no PostgreSQL reachable)", min(claims, 50_000)


def populate(claims: int):
    """One partner with `claims` claims over 2,000 tenants, and a rival with a tenth as many.

    Rows are generated inside the database (generate_series on PostgreSQL) so that building
    300,000 claims takes seconds, not the minutes the ORM would."""
    from django.db import connection

    from claims.models import Claim, ClaimItem
    from cpor.models import Role
    from cpor.tests.factories import MpnIdFactory, PartnerFactory, partner_user
    from tenants.models import Product, Subscription

    partner = PartnerFactory(name="Bench Partner")
    rival = PartnerFactory(name="Rival Partner")
    mpns = [MpnIdFactory(partner=partner), MpnIdFactory(partner=partner), MpnIdFactory(partner=rival)]
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    product = Product.objects.create(
        code="D365_BENCH", name="Dynamics 365 Sales", solution_area="Business Applications", family="Dynamics 365"
    )
    tenants = customer_tenants(2000, (product,), digits=4)
    statuses = ["draft", "submitted", "validation_failed", "under_review", "action_required", "approved",
                "rejected", "opted_out", "ended"]  # fmt: skip
    claim_table, item_table = Claim._meta.db_table, ClaimItem._meta.db_table
    tenant_ids = [t.pk for t in tenants]
    first_tenant = min(tenant_ids)
    if connection.vendor == "postgresql":
        status_array = "ARRAY[" + ",".join(f"'{s}'" for s in statuses) + "]"
        with connection.cursor() as cursor:
            for owner, mpn_ids, count in ((partner, mpns[:2], claims), (rival, mpns[2:], claims // 10)):
                # Table names come from the models; values are parameters.
                cursor.execute(
                    f"""
                    INSERT INTO {claim_table} (
                        partner_id, mpn_id, created_by_id, name, domain, tenant_guid, tenant_id, solution_area,
                        activity, solution_seller_name, customer_name, isv_solution_name,
                        customer_contact_name, customer_contact_title, customer_contact_email,
                        technical_contact_name, technical_contact_title, technical_contact_email,
                        partner_contact_name, partner_contact_email, status, validation_errors, rejection_reason,
                        created_at, updated_at, submitted_at, opt_out_nonce, disassociation_reason, dispute_final)
                    SELECT %s, CASE WHEN n %% 2 = 0 THEN %s ELSE %s END, NULL,
                        'Claim ' || n || ' for customer ' || (n %% 2000), 'customer' || lpad((n %% 2000)::text, 4, '0')
                        || '.example', t.tenant_id, t.id, 'Business Applications', 'usage', '', '', '',
                        'Ada', 'CIO', 'ada@customer.example', 'Tom', 'IT', 'tom@customer.example', 'Paula',
                        'paula@partner.example', ({status_array})[1 + n %% 9], '[]'::jsonb, '',
                        now() - (n || ' minutes')::interval, now(), now() - (n || ' minutes')::interval,
                        md5(random()::text || n)::uuid, '', false
                    FROM generate_series(1, %s) AS n
                    JOIN tenants_tenant t ON t.id = %s + (n %% 2000)
                    """,  # noqa: S608
                    [owner.pk, mpn_ids[0].pk, mpn_ids[-1].pk, count, first_tenant],
                )
            cursor.execute(
                f"""
                INSERT INTO {item_table} (claim_id, program, product_id, subscription_id, workload_id, item_key,
                                          outcome, decided_at)
                SELECT c.id, 'OSU-BizApps', s.product_id, s.id, NULL, 'sub:' || s.subscription_id, 'pending', NULL
                FROM {claim_table} c JOIN tenants_subscription s ON s.tenant_id = c.tenant_id
                """  # noqa: S608
            )
            cursor.execute("ANALYZE")
    else:
        import itertools

        rows = []
        subscriptions = {s.tenant_id: s for s in Subscription.objects.all()}
        for owner, mpn_ids, count in ((partner, mpns[:2], claims), (rival, mpns[2:], claims // 10)):
            for n in range(1, count + 1):
                tenant = tenants[n % 2000]
                rows.append(
                    Claim(
                        partner=owner, mpn=mpn_ids[n % len(mpn_ids)], name=f"Claim {n} for customer {n % 2000}",
                        domain=f"customer{n % 2000:04d}.example", tenant_guid=tenant.tenant_id, tenant=tenant,
                        solution_area="Business Applications", activity="usage", status=statuses[n % 9],
                    )
                )  # fmt: skip
        for batch in itertools.batched(rows, 5000) if hasattr(itertools, "batched") else [rows]:
            Claim.objects.bulk_create(batch)
        ClaimItem.objects.bulk_create(
            ClaimItem(
                claim=claim, program="OSU-BizApps", product=product, subscription=subscriptions[claim.tenant_id],
                item_key=f"sub:{subscriptions[claim.tenant_id].subscription_id}",
            )
            for claim in Claim.objects.only("id", "tenant_id").iterator()
        )  # fmt: skip
    return user, Claim.objects.filter(partner=partner).order_by("-id").first(), tenants


def measure(client, url, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, size = [], 0, 0
    for attempt in range(runs + 1):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code)
        if attempt:  # the first one warms caches
            times.append(elapsed)
        queries, size = len(captured), len(body)
    return statistics.median(times), queries, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    engine, claims = prepare_database(args.claims)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    user, newest, tenants = populate(claims)
    built = time.perf_counter() - started

    client = Client()
    client.force_login(user)
    list_url = reverse("claims:list")
    export_url = reverse("claims:export")
    cases = [
        ("List, first page (newest first)", list_url),
        ("List, page 2", f"{list_url}?page=2"),
        ("List, page 200 (the last one the count reaches)", f"{list_url}?page=200"),
        ("Filter: status Approved", f"{list_url}?{urlencode({'status': 'approved'})}"),
        ("Filter: status + MPN ID", f"{list_url}?{urlencode({'status': 'under_review', 'mpn': newest.mpn.mpn_id})}"),
        ("Search: claim ID", f"{list_url}?{urlencode({'q': newest.pk})}"),
        ("Search: tenant ID", f"{list_url}?{urlencode({'q': str(tenants[7].tenant_id)})}"),
        ("Search: part of a domain", f"{list_url}?{urlencode({'q': 'customer0042'})}"),
        ("Search: part of a name, no match", f"{list_url}?{urlencode({'q': 'no such claim'})}"),
        ("Sort: name", f"{list_url}?sort=name"),
        ("Sort: customer", f"{list_url}?sort=customer"),
        ("Sort: status, descending", f"{list_url}?sort=-status"),
        ("Overview (counts by status)", reverse("claims:overview")),
        ("Claim page", reverse("claims:detail", args=[newest.pk])),
        ("Export CSV: one status (~1/9 of the claims)", f"{export_url}?{urlencode({'status': 'approved'})}"),
        ("Export CSV: everything", export_url),
    ]
    print(f"### Customer associations list ({claims:,} claims for one partner, {engine})\n")
    print(
        f"Data built in {built:.1f} s; median of {args.runs} runs after one warm-up; Django test client, DEBUG off.\n"
    )
    print("| request | median | SQL queries | response |")
    print("| --- | ---: | ---: | ---: |")
    for label, url in cases:
        runs = 1 if "everything" in label else args.runs
        median, queries, size = measure(client, url, runs)
        print(f"| {label} | {median * 1000:,.0f} ms | {queries} | {size / 1024:,.0f} KiB |")
        sys.stdout.flush()
    drop_database(BENCH_DB)


if __name__ == "__main__":
    main()
