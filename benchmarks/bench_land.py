"""Throughput and peak memory of generating and loading the cadastral extract (land_parcels).

    .venv/bin/python benchmarks/bench_land.py [--rows 2000000] [--seed 7] [--home DIR] [--keep]

Each stage runs in a fresh child process, so its peak RSS (`resource.getrusage(RUSAGE_SELF)`,
no psutil) is its own: `kds generate land_parcels` (one CSV per old commune, streamed), then
`kds run land_parcels` (every file through read → conform → GX → settle → lake → warehouse,
including the bridge table core.land_parcel_use). The I/O floor is reading the same files with
the csv module only. Prints one JSON line: rows/s of each stage, the ratio run/floor, peak RSS,
the row fates and the warehouse row counts. No absolute thresholds: the figures are reported.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GENERATE = """
import json, resource, sys, time
from pipelines.generate import generate
t = time.perf_counter()
files = generate("land_parcels", sys.argv[1], rows=int(sys.argv[2]), seed=int(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - t, "files": len(files),
                  "data_rows": sum(s.data_rows for s in files.stats),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

RUN = """
import json, resource, time
from pipelines.run import run_dataset
from pipelines.settings import load_settings
from pipelines.warehouse import connect
t = time.perf_counter()
results = run_dataset("land_parcels")
seconds = time.perf_counter() - t
with connect(load_settings().warehouse_url) as wh:
    counts = {t: wh.count(t) for t in ("core.land_parcel", "core.land_parcel_use", "restricted.quarantine")}
print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "statuses": sorted({r.status for r in results}), "files": len(results), "counts": counts,
                  "rows_in": sum(r.rows_in for r in results), "loaded": sum(r.rows_loaded for r in results),
                  "quarantined": sum(r.rows_quarantined for r in results),
                  "duplicate": sum(r.rows_duplicate for r in results)}))
"""


def child(code: str, home: Path, *args: str) -> dict[str, object]:
    env = {
        **os.environ,
        "KDS_HOME": str(home),
        "KDS_PSEUDONYM_KEY": "bench-key-" + "0" * 40,
        "GX_ANALYTICS_ENABLED": "False",
    }
    env.pop("KDS_WAREHOUSE_URL", None)
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, cwd=REPO)
    if out.returncode:
        raise SystemExit(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def floor(folder: Path) -> tuple[int, float]:
    """Decode and split every file with the csv module, in the encoding and delimiter the reader detects."""
    from pipelines.sources.files import open_source
    from pipelines.specs import get_spec

    spec = get_spec("land_parcels")
    t = time.perf_counter()
    n = 0
    for path in sorted(folder.iterdir()):
        layout = open_source(path, spec).layout
        with path.open(encoding=layout.encoding, newline="", errors="replace") as fh:
            n += sum(1 for _ in csv.reader(fh, delimiter=layout.delimiter or ","))
    return n, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, help="KDS_HOME to use (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep KDS_HOME afterwards")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="kds-bench-land-"))
    landing = home / "landing" / "land_parcels"
    try:
        gen = child(GENERATE, home, str(landing), str(args.rows), str(args.seed))
        size = sum(p.stat().st_size for p in landing.iterdir())
        floor_rows, floor_seconds = floor(landing)
        run = child(RUN, home)
        rows_in = int(run["rows_in"])  # type: ignore[call-overload]
        run_seconds = float(run["seconds"])  # type: ignore[arg-type]
        report = {
            "rows": args.rows,
            "files": gen["files"],
            "csv_mb": round(size / 1e6, 1),
            "generate_seconds": round(float(gen["seconds"]), 1),  # type: ignore[arg-type]
            "generate_rows_per_s": round(int(gen["data_rows"]) / float(gen["seconds"])),  # type: ignore[call-overload, arg-type]
            "generate_peak_rss_mb": round(float(gen["peak_mb"])),  # type: ignore[arg-type]
            "floor_rows_per_s": round(floor_rows / floor_seconds),
            "run_seconds": round(run_seconds, 1),
            "run_rows_per_s": round(rows_in / run_seconds),
            "run_vs_floor": round((rows_in / run_seconds) / (floor_rows / floor_seconds), 4),
            "run_peak_rss_mb": round(float(run["peak_mb"])),  # type: ignore[arg-type]
            "statuses": run["statuses"],
            "rows_in": rows_in,
            "loaded": run["loaded"],
            "quarantined": run["quarantined"],
            "duplicate": run["duplicate"],
            "warehouse": run["counts"],
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine skews the figures
        }
        print(json.dumps(report, ensure_ascii=False))
    finally:
        if not args.keep and not args.home:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
