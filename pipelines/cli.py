"""`kds`: the command line of the data repository pipelines (DESIGN §4).

    kds generate <dataset>|all [--rows N] [--seed S] [--out DIR]
    kds run <dataset>|all [--period P] [--force] [--json]
    kds status [--as-of DATE] [--history]
    kds quarantine list|show|export <dataset> [--period P] [--out DIR] [--full]
    kds warehouse roles
    kds key

Exit code 0 only when every file of every run succeeded.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pipelines.specs import DATASETS, SpecError, available_datasets


def _datasets(name: str) -> list[str]:
    if name == "all":
        return available_datasets()
    if name not in DATASETS:
        raise SpecError(f"unknown dataset {name!r}; choose one of: all, {', '.join(DATASETS)}")
    return [name]


class ProgressLine:
    """Rows read and rows per second for long runs, on stderr; one line per file when not a TTY."""

    def __init__(self, stream: TextIO = sys.stderr, every: float = 1.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every
        self._last = 0.0
        self._start: dict[str, float] = {}

    def __call__(self, label: str, rows: int) -> None:
        now = time.monotonic()
        start = self._start.setdefault(label, now)  # the run reports 0 rows when a file starts
        if not rows or now - self._last < self.every:
            return
        self._last = now
        rate = f" ({rows / (now - start):,.0f} rows/s)" if now - start > 0.5 else ""
        line = f"  {label}: {rows:,} rows read{rate}"
        if self.tty:
            self.stream.write("\r" + line.ljust(78))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty and self._last:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()
        self._last = 0.0


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.generate import GENERATORS, generate
    from pipelines.settings import load_settings

    names = [n for n in _datasets(args.dataset) if n in GENERATORS] if args.dataset == "all" else [args.dataset]
    if args.dataset != "all" and args.dataset not in GENERATORS:
        raise SpecError(f"no generator for {args.dataset!r} yet; available: {', '.join(GENERATORS)}")
    progress = ProgressLine()
    for name in names:
        out = Path(args.out) if args.out else load_settings().landing / name
        t0 = time.monotonic()

        def report(rows: int, label: str = name) -> None:
            progress(label, rows)

        paths = generate(name, out, rows=args.rows, seed=args.seed, progress=report, max_rows=args.max_rows)
        progress.done()
        for p in paths:
            print(f"{name}: wrote {p} ({p.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - t0:.1f}s")
    return 0


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        out.write(
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            + "\n"
        )
        if j == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.run import run_dataset

    results = []
    t0 = time.monotonic()
    progress = None if args.json else ProgressLine()
    if args.dataset == "all":
        from pipelines.orchestrate import refresh_reference_task

        counts = refresh_reference_task()
        if not args.json:
            print(f"reference data: {len(counts)} ref tables refreshed", file=sys.stderr)
    for name in _datasets(args.dataset):
        if not args.json:
            print(f"{name}: running", file=sys.stderr)
        results += run_dataset(name, period=args.period, force=args.force, progress=progress)
        if progress:
            progress.done()
    if args.dataset == "all":
        from pipelines.orchestrate import build_marts_task

        marts = build_marts_task()
        if not args.json:
            print(f"marts: {len(marts)} tables rebuilt ({', '.join(sorted(marts))})", file=sys.stderr)
    if args.json:
        json.dump([r.to_json() for r in results], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_summary(results, time.monotonic() - t0)
        from pipelines.quality import docs_url
        from pipelines.report import overview_path
        from pipelines.settings import load_settings

        settings = load_settings()
        if overview_path(settings).exists():
            print(f"\nReports: {docs_url(settings, overview_path(settings))} (runs, checks, Data Docs)")
    return 0 if all(r.ok for r in results) else 1


def _print_summary(results: list[Any], seconds: float) -> None:
    out = sys.stdout
    if not results:
        out.write("Nothing to do: no delivery in the landing zone (try `kds generate all`).\n")
        return
    rows = [["dataset", "file", "status", "rows in", "loaded", "quarantined", "duplicate", "seconds"]]
    for r in results:
        rows.append([r.dataset, r.file, r.status, f"{r.rows_in:,}", f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}",
                     f"{r.rows_duplicate:,}", f"{r.seconds:.1f}"])  # fmt: skip
    out.write("\n")
    _table(rows, out)
    total_in = sum(r.rows_in for r in results)
    rate = total_in / seconds if seconds else 0
    ok = sum(r.ok for r in results)
    out.write(
        f"\n{len(results)} file(s): {ok} ok, {len(results) - ok} not loaded; {total_in:,} rows in "
        f"({sum(r.rows_loaded for r in results):,} loaded, {sum(r.rows_quarantined for r in results):,} quarantined, "
        f"{sum(r.rows_duplicate for r in results):,} duplicate) in {seconds:.1f}s ({rate:,.0f} rows/s)\n"
    )
    for r in results:
        if r.message and r.status != "loaded":
            out.write(f"  {r.status}: {r.message}\n")
        elif r.message and ("warning" in r.message or "unknown columns" in r.message):
            out.write(f"  note: {r.file}: {r.message}\n")


def cmd_status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from pipelines.quality import docs_url, site_dir
    from pipelines.report import overview_path
    from pipelines.scoreboard import local_today
    from pipelines.settings import load_settings
    from pipelines.status import dataset_status, delivery_scoreboard

    settings = load_settings()
    if _no_warehouse_yet(settings):
        return 0
    reference = date.fromisoformat(args.as_of) if args.as_of else local_today()
    rows = dataset_status(settings, reference)
    lines, chains = delivery_scoreboard(settings, reference)
    if args.json:
        by_name = {line.dataset: line for line in lines}
        for r in rows:
            r["scoreboard"] = asdict(by_name[r["dataset"]]) if r["dataset"] in by_name else None
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    print(f"Warehouse: {settings.warehouse_url}\nHome: {settings.home}\n")
    table = [["dataset", "last file", "period", "status", "loaded", "quarantined", "freshness", "last run"]]
    for r in rows:
        table.append([r["dataset"], r["last_file"] or "-", str(r["period"] or "-"), r["status"] or "never run",
                      f"{r['rows_loaded'] or 0:,}", f"{r['share_quarantined']:.1%}" if r["share_quarantined"] is not None else "-",
                      r["freshness"], str(r["last_run_at"] or "-")])  # fmt: skip
    _table(table, sys.stdout)
    print(f"\nDelivery scoreboard as of {reference} (expected periods from the spec's cadence and deadline; "
          "score 0-100 = share loaded - 10 per blocked/rejected file; see pipelines/scoreboard.py):\n")  # fmt: skip
    board = [["department", "dataset", "cadence", "last delivery", "on time", "late", "missing", "quarantined",
              "blocking", "score", "trend"]]  # fmt: skip
    for line in lines:
        last = f"{line.last_period or '-'} {line.last_status}" if line.last_status else "never delivered"
        board.append([line.department[:40], line.dataset, line.cadence, last, str(line.on_time), str(line.late),
                      str(line.missing) + (f" (latest {line.latest_missing})" if line.latest_missing else ""),
                      f"{line.share_quarantined:.1%}" if line.share_quarantined is not None else "-",
                      str(line.blocking_failures),
                      f"{line.quality_score:.0f}" if line.quality_score is not None else "-",
                      f"{line.quality_trend:+.1f}" if line.quality_trend is not None else "-"])  # fmt: skip
    _table(board, sys.stdout)
    if args.history:
        print("\nDeliveries per period (audit chain: file -> replaced by -> ...):")
        for chain in chains:
            scope = f" [{chain.scope}]" if chain.scope != "all" else ""
            print(f"  {chain.dataset} {chain.period or '(no period)'}{scope}: {chain.text()}")
    overview = overview_path(settings)
    where = docs_url(settings, overview) if overview.exists() else f"{overview} (written by the next run)"
    print(f"\nOverview report: {where}")
    if (site_dir(settings) / "index.html").exists():
        print(f"Data Docs: {docs_url(settings, site_dir(settings) / 'index.html')}")
    return 0


def _no_warehouse_yet(settings: Any) -> bool:
    """An embedded warehouse that no run has created yet: say so rather than fail to open it."""
    url = str(settings.warehouse_url)
    if url.startswith("duckdb:///") and not Path(url.removeprefix("duckdb:///")).exists():
        print(f"No warehouse yet at {url.removeprefix('duckdb:///')}: run `kds run <dataset>` first.")
        return True
    return False


def _period_arg(dataset: str, text: str | None) -> date | None:
    """`2025-03-31`, `2025-03`, `2025` or digits → the period's date in the dataset's granularity."""
    if not text:
        return None
    from pipelines.extract import parse_period
    from pipelines.specs import get_spec

    try:
        return parse_period(text.replace("-", ""), get_spec(dataset).granularity)
    except ValueError as exc:
        raise SpecError(f"--period {text}: {exc}") from exc


def cmd_quarantine(args: argparse.Namespace) -> int:
    from pipelines import quarantine
    from pipelines.settings import load_settings
    from pipelines.specs import get_spec
    from pipelines.warehouse import connect

    _datasets(args.dataset)
    spec = get_spec(args.dataset)
    settings = load_settings()
    period = _period_arg(args.dataset, args.period)
    if _no_warehouse_yet(settings):
        return 0
    with connect(settings.warehouse_url, read_only=True) as wh:
        if args.action == "list":
            files = quarantine.by_file(wh, args.dataset, period)
            print(f"restricted.quarantine - {args.dataset} (personal data: data stewards only)\n")
            if files:
                _table(quarantine.describe(files), sys.stdout)
            else:
                print("No quarantined rows" + (f" for {period}" if period else "") + ".")
            found = [c for c in quarantine.chains(wh, args.dataset) if period is None or c.period == period]
            if found:
                print("\nDeliveries per period (audit chain: file -> replaced by -> ...):")
                for chain in found:
                    scope = f" [{chain.scope}]" if chain.scope != "all" else ""
                    print(f"  {chain.period or '(no period)'}{scope}: {chain.text()}")
            return 0
        if args.action == "show":
            print(quarantine.PERSONAL_DATA_WARNING, file=sys.stderr)
            shown = quarantine.rows(wh, args.dataset, period, args.file, args.limit)
            labels = {c.name: c.headers[0] for c in spec.columns}
            for r in shown:
                print(f"\n{r.file_name} (period {r.period}) row {r.row_number}: {r.reason_codes}")
                print(f"  {quarantine.reasons_text(r.reason_codes, spec)}")
                if r.detail:
                    print(f"  detail: {r.detail}")
                print("  " + " | ".join(f"{labels.get(k, k)}: {v}" for k, v in r.record.items()))
            print(f"\n{len(shown)} row(s).")
            return 0
        print(quarantine.PERSONAL_DATA_WARNING, file=sys.stderr)
        paths = quarantine.export(wh, settings, args.dataset, Path(args.out) if args.out else None, period=period,
                                  full=args.full)  # fmt: skip
    for path in paths:
        print(f"wrote {path}")
    if not paths:
        print("No quarantined rows to export" + (f" for {period}" if period else "") + ".")
    elif args.full:
        print("Send each file to the department: fix the highlighted rows, keep the headers, and deliver the whole "
              "file again under its original name (it replaces the period).")  # fmt: skip
    return 0


def cmd_warehouse(args: argparse.Namespace) -> int:
    from pipelines.settings import load_settings

    settings = load_settings()
    if not settings.warehouse_url.startswith("postgresql"):
        print("kds: roles apply to a PostgreSQL warehouse (KDS_WAREHOUSE_URL=postgresql+psycopg://…); "
              "the embedded DuckDB file has no roles", file=sys.stderr)  # fmt: skip
        return 2
    from pipelines.warehouse.roles import main_roles

    print(main_roles(settings.warehouse_url))
    return 0


def cmd_key(args: argparse.Namespace) -> int:
    print(secrets.token_hex(32))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kds", description="Provincial digital data repository pipelines.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write realistic department exports (with their defects)")
    p.add_argument("dataset", help="dataset name or 'all'")
    p.add_argument("--rows", type=int, default=None, help="data rows per file (default: realistic volume)")
    p.add_argument(
        "--max-rows",
        type=int,
        default=None,
        help="cap each dataset's realistic default volume (a quick sample; ignored with --rows)",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=None, help="folder (default: $KDS_HOME/landing/<dataset>)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("run", help="ingest what is in the landing zone")
    p.add_argument("dataset", help="dataset name or 'all'")
    p.add_argument("--period", default=None, help="only this period (2025-03-31, 2025-03, 2025 or digits)")
    p.add_argument("--force", action="store_true", help="re-process files already loaded")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("status", help="last runs, freshness, the delivery scoreboard and where the reports are")
    p.add_argument("--json", action="store_true")
    p.add_argument("--as-of", default=None, help="scoreboard reference date YYYY-MM-DD (default: today)")
    p.add_argument("--history", action="store_true", help="also list every period's deliveries (replaced by ...)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("quarantine", help="review quarantined rows (restricted: personal data)")
    p.add_argument("action", choices=("list", "show", "export"))
    p.add_argument("dataset")
    p.add_argument("--period", default=None, help="only this period (2025-03-31, 2025-03, 2025)")
    p.add_argument("--file", default=None, help="show: only this delivered file name")
    p.add_argument("--limit", type=int, default=None, help="show: at most this many rows")
    p.add_argument("--out", default=None, help="export: folder (default $KDS_HOME/exports/)")
    p.add_argument(
        "--full",
        action="store_true",
        help="export: every row of the delivered file, quarantined ones highlighted (to send back whole)",
    )
    p.set_defaults(func=cmd_quarantine)

    p = sub.add_parser("warehouse", help="warehouse administration")
    p.add_argument(
        "action", choices=["roles"], help="roles: create/refresh the owner, loader, bi_reader, steward roles"
    )
    p.set_defaults(func=cmd_warehouse)

    p = sub.add_parser("key", help="print a new random pseudonymisation key (for KDS_PSEUDONYM_KEY)")
    p.set_defaults(func=cmd_key)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    from pipelines.settings import SettingsError
    from pipelines.sources.files import SourceError
    from pipelines.warehouse import WarehouseError

    try:
        return int(args.func(args))
    except (SpecError, SettingsError, SourceError, WarehouseError) as exc:
        print(f"kds: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kds: interrupted; nothing half-published (re-run to continue)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
