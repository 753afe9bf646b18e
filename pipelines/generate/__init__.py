"""`kds generate`: realistic department exports, with the defects real files have.

One module per dataset (`pipelines.generate.<dataset>`), built from the shared pieces in
`pipelines.generate.common`. Output is deterministic: the same (dataset, rows, seed, period, fmt)
gives byte-identical files. Only the export files are written into `out_dir`; the ground truth of
what was generated (`common.GenerationStats`) is on the returned list as `.stats`, and written as
JSON only when `stats_out` names another directory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipelines.generate.common import GeneratedFiles, GenerationStats, write_stats
from pipelines.specs import DATASETS

Generator = Callable[..., list[Path]]


def _discover() -> dict[str, Generator]:
    """Dataset name → `pipelines.generate.<dataset>.generate_<dataset>`, for each module present.

    A generator is called as (out_dir, rows=None, seed=42, *, period=None, fmt=None, progress=None)
    and returns the written paths (a `GeneratedFiles` with `.stats`).
    """
    found: dict[str, Generator] = {}
    for name in DATASETS:
        try:
            module = importlib.import_module(f"pipelines.generate.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pipelines.generate.{name}":
                raise
            continue
        found[name] = getattr(module, f"generate_{name}")
    return found


GENERATORS: dict[str, Generator] = _discover()


def generate(
    dataset: str,
    out_dir: Path,
    rows: int | None = None,
    seed: int = 42,
    *,
    period: str | date | None = None,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    stats_out: Path | None = None,
    max_rows: int | None = None,
) -> list[Path]:
    """Write the exports of one dataset (or of every dataset with "all") into out_dir.

    rows: distinct data rows (the dataset's realistic default when None); exact duplicates come on
    top. period: "YYYY-MM-DD" or "YYYYMMDD" (a fixed default per dataset, never today). fmt: "xlsx"
    or "csv" (default by size). progress(n) is called every ~10,000 data rows written.
    max_rows: when `rows` is None, cap the realistic default (a quick sample of every dataset).
    Returns a `GeneratedFiles` (a list of Path) whose `.stats` holds one GenerationStats per file.
    """
    names = list(GENERATORS) if dataset == "all" else [dataset]
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        available = ", ".join(sorted(GENERATORS))
        raise ValueError(f"no generator for dataset {unknown[0]!r}; available: {available}, all")
    result = GeneratedFiles()
    for name in names:
        n = rows
        default = getattr(importlib.import_module(f"pipelines.generate.{name}"), "DEFAULT_ROWS", None)
        if n is None and max_rows is not None and default is not None:
            n = min(int(default), max_rows)
        files = GENERATORS[name](out_dir, n, seed, period=period, fmt=fmt, progress=progress)
        result.extend(files)
        result.stats.extend(getattr(files, "stats", []))
    if stats_out is not None:
        write_stats(result.stats, Path(stats_out), Path(out_dir), dataset)
    return result


__all__ = ["GENERATORS", "GeneratedFiles", "GenerationStats", "generate"]
