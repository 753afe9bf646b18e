"""Discover department deliveries in the landing zone and archive them by content.

`landing/<dataset>/` is the department's drop zone and is never modified. Each delivery is
identified by its sha256: the same bytes under any name are the same delivery. Accepted files
are copied to `raw/<dataset>/<sha256>.<ext>` (immutable, restricted zone) before any work.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pipelines.specs import DatasetSpec

SUPPORTED_SUFFIXES = (".xlsx", ".csv", ".txt")


@dataclass(frozen=True)
class Delivery:
    """One file in the landing zone."""

    path: Path
    sha256: str
    period: date | None  # from the file name; None when the name does not follow the pattern
    scope: str  # what the file covers within its period: "all", or e.g. a commune code
    problem: str | None = None  # why the file cannot be processed at all (one line)

    @property
    def name(self) -> str:
        return self.path.name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def parse_period(text: str, granularity: str) -> date:
    """`YYYYMMDD` / `YYYYMM` / `YYYY` (SOURCES.md) → the period's date (first day for month and year)."""
    digits = {"day": 8, "month": 6, "year": 4}[granularity]
    if len(text) != digits or not text.isdigit():
        raise ValueError(f"period {text!r} is not {'YYYYMMDD' if digits == 8 else 'YYYYMM' if digits == 6 else 'YYYY'}")
    year = int(text[:4])
    month = int(text[4:6]) if digits >= 6 else 1
    day = int(text[6:8]) if digits == 8 else 1
    return date(year, month, day)


def period_end(period: date, granularity: str) -> date:
    """The last day of a period (a day is its own end): the date a period's records describe."""
    if granularity == "day":
        return period
    if granularity == "month":
        following = date(period.year + (period.month == 12), period.month % 12 + 1, 1)
        return following - timedelta(days=1)
    return date(period.year, 12, 31)


def period_label(period: date, granularity: str) -> str:
    """The partition label of a period: 2025-03-31, 2025-03 or 2025."""
    if granularity == "day":
        return period.isoformat()
    if granularity == "month":
        return period.strftime("%Y-%m")
    return str(period.year)


def discover(spec: DatasetSpec, landing: Path) -> list[Delivery]:
    """Every regular file in `landing/<dataset>/`, ordered by period then name.

    A file whose name does not follow the dataset's pattern is still returned, with a
    problem, so that it is reported rather than silently ignored.
    """
    folder = landing / spec.name
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue  # hidden files and Excel lock files are not deliveries
        sha = sha256_of(path)
        match = spec.file_pattern.match(path.name)
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            found.append(Delivery(path, sha, None, "all", f"{path.name}: unsupported file type; deliver .xlsx or .csv"))
            continue
        if not match:
            found.append(
                Delivery(path, sha, None, "all",
                         f"{path.name}: file name does not follow the pattern {spec.file_pattern.pattern}; rename it")
            )  # fmt: skip
            continue
        try:
            period = parse_period(match.group("period"), spec.granularity)
        except ValueError as exc:
            found.append(Delivery(path, sha, None, "all", f"{path.name}: {exc}; fix the date in the file name"))
            continue
        scope = match.groupdict().get("scope") or "all"
        found.append(Delivery(path, sha, period, scope))
    return sorted(found, key=lambda d: (d.period or date.min, d.name))


def archive(delivery: Delivery, raw: Path, dataset: str) -> Path:
    """Copy the delivery to `raw/<dataset>/<sha256><ext>` once; atomic (temp file + rename)."""
    target = raw / dataset / f"{delivery.sha256}{delivery.path.suffix.lower()}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.copyfile(delivery.path, tmp)
    os.replace(tmp, target)
    return target
