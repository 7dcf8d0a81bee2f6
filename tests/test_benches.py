"""The benches `make bench` runs still run: each at a tiny size, on a throwaway database of
its own on the suite's server. The numbers they print are not checked here (bench/RESULTS.md
keeps them); what is checked is that a bench does not rot while the models it fills change,
as bench_claims_list did when claims gained NOT NULL columns its raw INSERT did not name.

The throughput, timer and worker benches mean something only at a million claims with
gunicorn, wrk and a worker; `make bench` runs them.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

BENCHES = {
    "claims_list": ["--claims", "300", "--runs", "1"],
    "import_directory": ["--lines", "10000"],
    "bulk_claims": ["--rows", "5"],
}


def bench_server_url() -> str:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return ""  # the benches fall back to a SQLite file of their own
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


@pytest.mark.parametrize("name", sorted(BENCHES))
def test_the_bench_runs_at_a_tiny_size(name, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env.update(BENCH_DATABASE_URL=bench_server_url(), CPOR_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, f"bench/bench_{name}.py", *BENCHES[name]],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "| ---" in result.stdout  # its Markdown table
