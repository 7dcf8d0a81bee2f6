"""`make bench`: run every bench/bench_*.py, one after the other, and stop at the first failure.

    .venv/bin/python bench/run.py [NAME ...]

With names (e.g. `import_directory`), only those benches run. Each bench prints its own
Markdown table; bench/RESULTS.md keeps the numbers of recorded runs.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    benches = sorted(BENCH_DIR.glob("bench_*.py"))
    if names:
        benches = [bench for bench in benches if bench.stem.removeprefix("bench_") in names]
        if not benches:
            print(f"No bench called {', '.join(names)} in {BENCH_DIR}", file=sys.stderr)
            return 2
    for bench in benches:
        print(f"\n== {bench.name}", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(bench)], cwd=BENCH_DIR.parent)
        print(
            f"== {bench.name}: {'ok' if result.returncode == 0 else 'FAILED'} in {time.perf_counter() - started:.0f} s"
        )
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
