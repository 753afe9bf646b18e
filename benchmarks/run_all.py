"""Run every benchmark in turn (`make bench`); each prints its own figures as ratios to a floor.

    .venv/bin/python benchmarks/run_all.py [--quick]

--quick uses small sizes (a smoke run); without it the sizes of the issue notes are used:
200,000-row CSV and 20,000-row xlsx enterprises, 2,000,000 land parcels, 200,000 rows into
PostgreSQL (skipped with a note when KDS_TEST_POSTGRES_URL is unset).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    quick = args.quick
    runs = [
        ["bench_resolver.py"],
        [
            "bench_enterprises.py",
            "--csv-rows",
            "20000" if quick else "200000",
            "--xlsx-rows",
            "2000" if quick else "20000",
        ],
        ["bench_land.py", "--rows", "50000" if quick else "2000000"],
    ]
    if os.environ.get("KDS_TEST_POSTGRES_URL"):
        runs.append(["bench_postgres_load.py", "--rows", "20000" if quick else "200000"])
    else:
        print("bench_postgres_load.py: skipped (set KDS_TEST_POSTGRES_URL to a PostgreSQL server)")
    failed = 0
    for script, *rest in runs:
        print(f"== {script} {' '.join(rest)}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script), *rest]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
