"""How `manage.py import_directory` copes with a feed of a million lines.

    .venv/bin/python bench/bench_import_directory.py [--lines 1000000] [--max-rss-mib 160]

It writes a feed of N lines under var/bench/ (kept for the next run: it is always the same
feed), then runs the command twice in a child process: a first load, then the same feed
again, which must change nothing. For each run it prints the wall time and the child's
peak resident memory (ru_maxrss from wait4), and fails if the peak passes the bound.

The database is the one BENCH_DATABASE_URL or DATABASE_URL names, migrated first; give it
an empty one (e.g. `createdb h_master_bench`) for the first load to create everything.
Without either, a scratch SQLite file under var/bench/ is used.

The feed, for 1,000,000 lines: 50 partners, 100 MPN IDs, 20 products, 100,000 tenants
(two domains each), 200,000 subscriptions, 650,000 usage rows, and legacy associations for
the rest. It is written in the reverse of load order (legacy associations first, partners
last), so every reference points forward, the hardest case for a loader.

The memory bound: the importer keeps one batch of records (1,000) and spools the rest to
temporary files, so its peak is Django's own footprint (about 70 MiB here) plus a few MiB,
whatever the feed's length: 100,000 and 1,000,000 lines peak at the same 71 MiB. 160 MiB
leaves room for a different Python or driver build, and is still below the feed itself
(187 MiB of JSON for 1M lines); holding the parsed records would take well over 1 GiB.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
NAMESPACE = uuid.UUID("6f1d6a3e-8b1c-4f5e-9a57-3c0b2a1d9e10")

PRODUCTS = [
    *((f"D365_P{n:02d}", f"Dynamics 365 Product {n}", "Business Applications", "Dynamics 365", []) for n in range(12)),
    *((f"PBI_P{n:02d}", f"Power BI Product {n}", "Business Applications", "Power BI", []) for n in range(4)),
    *(
        (
            f"M365_P{n:02d}",
            f"Microsoft 365 Product {n}",
            "Microsoft 365",
            "Microsoft 365",
            ["Exchange Online", "SharePoint Online", "OneDrive for Business", "Microsoft Teams", "Microsoft 365 Apps"],
        )
        for n in range(4)
    ),
]
WORKLOADS = ["Exchange Online", "SharePoint Online", "OneDrive for Business", "Microsoft Teams", "Microsoft 365 Apps"]


def guid(kind: str, number: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}-{number}"))


def write_feed(path: Path, lines: int) -> dict[str, int]:
    """Write a feed of exactly `lines` lines; return how many records of each type it holds."""
    partners, mpns, products = 50, 100, len(PRODUCTS)
    tenants = max(1, lines // 10)
    subscriptions = 2 * tenants
    usage = int(6.5 * tenants)
    legacy = lines - (partners + mpns + products + tenants + subscriptions + usage)
    if legacy < 0 or legacy > tenants:
        raise SystemExit(f"--lines {lines} is too small for the feed's shape; use 10,000 or more")
    counts = {
        "legacy_association": legacy,
        "usage": usage,
        "subscription": subscriptions,
        "tenant": tenants,
        "product": products,
        "mpn": mpns,
        "partner": partners,
    }
    months = [datetime.date(2026, month, 1).strftime("%Y-%m") for month in range(4, 11)]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8") as feed:

        def write(record):
            feed.write(json.dumps(record, separators=(",", ":")) + "\n")

        for n in range(legacy):  # the tenant's Dynamics subscription, held by one MPN ID
            mpn = n % mpns
            write(
                {
                    "type": "legacy_association",
                    "partner_id": str(4_000_000 + mpn % partners),
                    "mpn_id": str(5_000_000 + mpn),
                    "tenant_id": guid("tenant", n),
                    "subscription_id": guid("subscription", 2 * n),
                    "since": "2019-06-15",
                }
            )
        for n in range(usage):  # months across tenants; the last half-round is a product code
            tenant, round_ = n % tenants, n // tenants
            write(
                {
                    "type": "usage",
                    "tenant_id": guid("tenant", tenant),
                    "workload": WORKLOADS[tenant % len(WORKLOADS)] if round_ < 6 else PRODUCTS[tenant % 12][0],
                    "month": months[round_],
                    "monthly_active_users": (tenant * 7 + round_) % 500,
                    "paid_available_units": 500,
                }
            )
        for n in range(subscriptions):  # even: a Dynamics product, odd: a Microsoft 365 one
            tenant = n // 2
            product = PRODUCTS[tenant % 12] if n % 2 == 0 else PRODUCTS[16 + tenant % 4]
            write(
                {
                    "type": "subscription",
                    "subscription_id": guid("subscription", n),
                    "tenant_id": guid("tenant", tenant),
                    "product": product[0],
                    "channel": ("Volume Licensing", "Web Direct", "CSP")[n % 3],
                    "status": ("active", "active", "active", "in_grace", "disabled", "deleted")[n % 6],
                    "provisioned": n % 7 != 0,
                    "start_date": "2026-01-01",
                    "end_date": "2027-12-31",
                }
            )
        for n in range(tenants):
            write(
                {
                    "type": "tenant",
                    "tenant_id": guid("tenant", n),
                    "name": f"Customer {n:06d}",
                    "country": ("FR", "US", "DE", "GB")[n % 4],
                    "time_zone": ("Europe/Paris", "America/New_York", "Europe/Berlin", "Europe/London")[n % 4],
                    "language": ("fr", "en", "en", "en")[n % 4],
                    "domains": [f"customer{n:06d}.onmicrosoft.com", f"customer{n:06d}.example"],
                }
            )
        for code, name, area, family, workloads in PRODUCTS:
            product = {"type": "product", "code": code, "name": name, "solution_area": area, "family": family}
            write({**product, "workloads": workloads} if workloads else product)
        for n in range(mpns):
            write(
                {
                    "type": "mpn",
                    "mpn_id": str(5_000_000 + n),
                    "partner_id": str(4_000_000 + n % partners),
                    "location": f"Location {n}",
                    "programs": ["OSA-Sell", "OSU-M365", "OSU-BizApps"][: n % 4],
                }
            )
        for n in range(partners):
            write({"type": "partner", "partner_id": str(4_000_000 + n), "name": f"Partner {n}", "country": "FR"})
    partial.rename(path)
    return counts


def run_measured(args: list[str], env: dict) -> tuple[float, float, int, str, str]:
    """Run a child; return wall seconds, its peak RSS in MiB, exit code, stdout and stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux.
        return elapsed, usage.ru_maxrss / 1024, child.returncode, out.read().decode(), err.read().decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--max-rss-mib", type=float, default=160)
    args = parser.parse_args()

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "cpor.settings.base"}
    database = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if database:
        env["DATABASE_URL"] = database
    else:
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        scratch = BENCH_DIR / "directory.sqlite3"
        scratch.unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{scratch}"
    engine = env["DATABASE_URL"].split(":", 1)[0]

    feed = BENCH_DIR / f"directory-{args.lines}.jsonl"
    if not feed.exists():
        started = time.perf_counter()
        write_feed(feed, args.lines)
        print(f"Wrote {feed.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")
    size_mib = feed.stat().st_size / 1024 / 1024

    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)

    print(f"### import_directory, {args.lines:,} lines ({size_mib:,.0f} MiB), {engine}\n")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, {datetime.date.today()}\n")
    print("| run | wall time | peak RSS | records created / updated / unchanged |")
    print("| --- | ---: | ---: | --- |")
    failures = []
    for label in ("first load", "same feed again"):
        elapsed, peak, code, out, err = run_measured([sys.executable, "manage.py", "import_directory", str(feed)], env)
        if code != 0:
            raise SystemExit(f"import_directory failed ({code}):\n{err[-4000:]}")
        totals = [0, 0, 0]
        for line in out.splitlines():
            if ": " in line and " created, " in line:
                numbers = [int(word) for word in line.split(": ", 1)[1].replace(",", "").split() if word.isdigit()]
                totals = [total + number for total, number in zip(totals, numbers, strict=True)]
        print(f"| {label} | {elapsed:,.1f} s | {peak:,.0f} MiB | {' / '.join(f'{n:,}' for n in totals)} |")
        sys.stdout.flush()
        if peak > args.max_rss_mib:
            failures.append(f"{label}: peak RSS {peak:,.0f} MiB is over the {args.max_rss_mib:,.0f} MiB bound")
        if label == "same feed again" and totals[0] + totals[1]:
            failures.append("loading the same feed twice changed something")
    if failures:
        raise SystemExit("\n".join(failures))


if __name__ == "__main__":
    main()
