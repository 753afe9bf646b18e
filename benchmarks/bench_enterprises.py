"""Throughput and peak memory of `kds run enterprises`, against I/O floors measured in the same run.

    .venv/bin/python benchmarks/bench_enterprises.py [--csv-rows 200000] [--xlsx-rows 20000]

Generates the exports (deterministic), then for each file runs the pipeline in a fresh child
process (so peak RSS is the run's own) and, in the same process, the floors: reading the same
file with the csv module (CSV) or python-calamine (xlsx), doing nothing else. Prints
rows/s (wall and per CPU second), the ratio pipeline/floor, and peak RSS. No absolute thresholds: the figures are reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CHILD = """
import json, resource, sys, time
from pipelines.run import run_dataset
t = time.perf_counter()
results = run_dataset("enterprises")
seconds = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": usage.ru_maxrss / 1024,
                  "results": [r.to_json() for r in results]}))
"""


def floor_csv(path: Path) -> tuple[int, float]:
    """Decode and split the CSV with the csv module, in the encoding and delimiter the reader detected."""
    from pipelines.sources.files import open_source
    from pipelines.specs import get_spec

    layout = open_source(path, get_spec("enterprises")).layout
    t = time.perf_counter()
    n = 0
    with path.open(encoding=layout.encoding, newline="", errors="replace") as fh:
        for _ in csv.reader(fh, delimiter=layout.delimiter or ","):
            n += 1
    return n, time.perf_counter() - t


def floor_xlsx(path: Path) -> tuple[int, float]:
    """Iterate the sheet's rows with python-calamine (the reader's engine) and do nothing else."""
    import python_calamine

    t = time.perf_counter()
    sheet = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    n = sum(1 for _ in sheet.iter_rows())
    return n, time.perf_counter() - t


def run_pipeline(home: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "KDS_HOME": str(home),
        "KDS_PSEUDONYM_KEY": "bench-key-" + "0" * 40,
        "GX_ANALYTICS_ENABLED": "False",
    }
    env.pop("KDS_WAREHOUSE_URL", None)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, cwd=REPO, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def bench(fmt: str, rows: int, seed: int) -> dict[str, object]:
    from pipelines.generate import generate

    with tempfile.TemporaryDirectory(prefix="kds-bench-") as tmp:
        home = Path(tmp)
        t = time.perf_counter()
        [path] = generate("enterprises", home / "landing" / "enterprises", rows=rows, seed=seed, fmt=fmt)
        gen_seconds = time.perf_counter() - t
        floor_rows, floor_seconds = (floor_csv if fmt == "csv" else floor_xlsx)(path)
        run = run_pipeline(home)
        [result] = run["results"]  # type: ignore[misc]
        rows_in = int(result["rows_in"])
        seconds = float(run["seconds"])  # type: ignore[arg-type]
        return {
            "format": fmt,
            "file_mb": round(path.stat().st_size / 1e6, 1),
            "rows_in": rows_in,
            "loaded": result["rows_loaded"],
            "quarantined": result["rows_quarantined"],
            "duplicate": result["rows_duplicate"],
            "status": result["status"],
            "generate_rows_per_s": round(rows / gen_seconds),
            "pipeline_rows_per_s": round(rows_in / seconds),
            "floor_rows_per_s": round(floor_rows / floor_seconds),
            "pipeline_vs_floor": round((rows_in / seconds) / (floor_rows / floor_seconds), 3),
            "pipeline_seconds": round(seconds, 1),
            # CPU time of the whole child (imports included): comparable across machine load.
            "pipeline_rows_per_cpu_s": round(rows_in / float(run["cpu_seconds"])),  # type: ignore[arg-type]
            "peak_rss_mb": round(float(run["peak_mb"]), 0),  # type: ignore[arg-type]
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv-rows", type=int, default=200_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for fmt, rows in (("csv", args.csv_rows), ("xlsx", args.xlsx_rows)):
        if rows:
            print(json.dumps(bench(fmt, rows, args.seed), ensure_ascii=False))


if __name__ == "__main__":
    main()
