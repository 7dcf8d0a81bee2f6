"""How many submitted claims one Celery worker validates a second, through Redis, end to end.

    REDIS_URL=redis://127.0.0.1:6379/N .venv/bin/python bench/bench_worker.py [--claims 300]
        [--concurrency 2] [--prefetch N] [--record "label"] [--database NAME] [--backlog]

Issue 10: one worker validates at least 100 claims a second through Redis. The bench builds
`cpor_bench_worker` (migrated, on the server of BENCH_DATABASE_URL or DATABASE_URL), files N
complete drafts (the claim tests' factories: a customer with a verified domain and a live
subscription, one item, a proof), starts one real worker (`celery -A cpor worker
--concurrency C`, production settings, emails to files), submits every claim through
`claims.services.claim_submit` (which queues the validation once committed) and waits until
no claim is Submitted (validation) and every customer notice is sent (end to end), timed
from the first submission; with --backlog every claim is submitted before the worker starts
and the time runs from the worker's ready, so that this process's submissions (tens of
seconds for a thousand claims) do not bound what the worker shows. It prints
claims a second for both and, from the worker's log, how many tasks of each name ran and
their mean time: where the time goes. It also prints the CPU time the worker's processes
spent a claim (from /proc), which the load of whatever else runs on the machine hardly moves,
unlike the claims a second.

The broker's database (REDIS_URL) is emptied first: give the bench a Redis database of its own.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_throughput as throughput  # noqa: E402

TARGET = 100  # claims a second
TASK_DONE = re.compile(r"Task ([\w.]+)\[[\w-]+\] succeeded in ([\d.]+)s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--prefetch", type=int, help="the worker's --prefetch-multiplier (settings: 1)")
    parser.add_argument("--record", metavar="LABEL", help="append the table to bench/RESULTS.md under LABEL")
    parser.add_argument("--database", default="cpor_bench_worker")
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="submit every claim before the worker starts, and time from the worker's ready",
    )
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url.startswith("redis"):
        sys.exit("The worker bench measures the worker through Redis: set REDIS_URL.")

    load_at_start = os.getloadavg()[0]
    config = throughput.server_config()
    throughput.BENCH_DB = args.database
    work = Path(tempfile.mkdtemp(prefix="cpor-bench-worker-"))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DATABASE_URL=throughput.database_url(config, args.database),
        DJANGO_SETTINGS_MODULE="cpor.settings.base",
        DJANGO_DEBUG="false",
        CPOR_EMAIL_FILE_PATH=str(work / "mail"),
        CPOR_VAR_DIR=str(work / "var"),
        REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT),
    )
    started = time.perf_counter()
    throughput.create_database(config)
    throughput.manage("migrate", "--noinput", "-v0", env=env)
    os.environ.update(env)
    import django

    django.setup()
    from claims import services
    from claims.models import Claim, ClaimStatus, CustomerEmail
    from claims.tests.factories import ClaimFactory, ProofFactory, SubscriptionItemFactory
    from cpor.celery import app
    from cpor.models import Role
    from cpor.tests.factories import MpnIdFactory, partner_user

    mpn = MpnIdFactory()
    filer = partner_user(mpn.partner, Role.INCENTIVES_ADMIN)
    drafts = []
    for _ in range(args.claims):
        claim = ClaimFactory(mpn=mpn)
        SubscriptionItemFactory(claim=claim)
        ProofFactory(claim=claim)
        drafts.append(claim.pk)
    built = time.perf_counter() - started
    print(f"{args.claims} drafts filed in {built:.0f} s", flush=True)
    app.control.purge()
    import redis

    redis.Redis.from_url(redis_url).flushdb()

    if args.backlog:
        # The tasks wait in Redis before the worker starts: the bench times the worker alone,
        # not this process's submissions (tens of seconds for a thousand claims).
        start = time.perf_counter()
        for claim_id in drafts:
            services.claim_submit(user=filer, claim_id=claim_id)
        submitted = time.perf_counter() - start
    log_path = work / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "cpor", "worker", f"--concurrency={args.concurrency}",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
             *([f"--prefetch-multiplier={args.prefetch}"] if args.prefetch else [])],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "ready." not in log_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        cpu_before = _process_tree_cpu(worker.pid)
        start = time.perf_counter()
        if not args.backlog:
            for claim_id in drafts:
                services.claim_submit(user=filer, claim_id=claim_id)
            submitted = time.perf_counter() - start
        validated_at = sent_at = None
        while time.monotonic() < deadline + 3600:
            if validated_at is None and not Claim.objects.filter(status=ClaimStatus.SUBMITTED).exists():
                validated_at = time.perf_counter() - start
            if validated_at is not None and not CustomerEmail.objects.filter(sent_at__isnull=True).exists():
                sent_at = time.perf_counter() - start
                break
            time.sleep(0.1)
        time.sleep(2)  # the partner notifications queued last
        worker_cpu = _process_tree_cpu(worker.pid) - cpu_before
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    statuses = dict(
        Claim.objects.values_list("status").annotate(n=django.db.models.Count("pk")).values_list("status", "n")
    )
    tasks = defaultdict(list)
    for name, seconds in TASK_DONE.findall(log_path.read_text()):
        tasks[name].append(float(seconds))
    lines = [
        "| claims | worker processes | prefetch | timed from | submitting them | all validated | claims/s validated"
        " | all notices sent | claims/s end to end | worker CPU a claim | tasks a claim | statuses after |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| {args.claims} | {args.concurrency} | {args.prefetch or 1}"
        f" | {'worker ready, all submitted before' if args.backlog else 'first submission'}"
        f" | {submitted:.1f} s | {validated_at or 0:.1f} s"
        f" | {args.claims / validated_at if validated_at else 0:.1f} | {sent_at or 0:.1f} s"
        f" | {args.claims / sent_at if sent_at else 0:.1f} | {worker_cpu / args.claims * 1000:.0f} ms"
        f" | {sum(len(times) for times in tasks.values()) / args.claims:.1f} | {statuses} |",
        "",
        "| task | runs | mean time in the worker |",
        "| --- | ---: | ---: |",
        *(
            f"| {name} | {len(times)} | {sum(times) / len(times) * 1000:.0f} ms |"
            for name, times in sorted(tasks.items())
        ),
        "",
        f"Machine: {throughput.machine()}; load average {load_at_start:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end. Worker CPU: the user and system time its processes spent"
        " from ready to the end, over the claims (PostgreSQL's and Redis's own time not included).",
    ]
    report = "\n".join(lines)
    print(report)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a") as results_file:
            results_file.write(f"\n### {args.record}\n\n{report}\n")
    return 0 if sent_at and args.claims / validated_at >= TARGET else 1


def _process_tree_cpu(pid: int) -> float:
    """User and system seconds of a live process and its descendants (Linux /proc): the
    worker's own cost, whatever else runs on the machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(_process_tree_cpu(int(child)) for child in children)


if __name__ == "__main__":
    sys.exit(main())
