"""Run a dataset's Great Expectations suite (GX Core 1.x, called directly) on conformed batches.

Each expectation in `expectations/<dataset>.json` carries `meta.severity` (block | warn |
quarantine) and `meta.reason_code`. Row-level (column map) expectations give the failing rows:
`quarantine` sends them to the restricted quarantine, `warn` only counts them, `block` counts
them over the whole file and stops the file from being published when the share of failures
exceeds what `mostly` allows (below that, its failing rows are quarantined). GX sees conformed data only: identifiers are already pseudonyms
and personal fields are absent, so results and Data Docs hold no personal data.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.specs import DatasetSpec

log = logging.getLogger(__name__)

SEVERITIES = ("block", "warn", "quarantine")


class SuiteError(ValueError):
    """The suite file is malformed; the message names the file and the expectation."""


@dataclass(frozen=True)
class Check:
    """One expectation of a suite, with what its failure means here."""

    index: int
    type: str
    kwargs: dict[str, Any]
    severity: str
    reason_code: str
    description: str

    @property
    def column(self) -> str | None:
        value = self.kwargs.get("column")
        return str(value) if value is not None else None

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))


@dataclass
class CheckTotals:
    """Results of one check accumulated over the batches of one file."""

    check: Check
    element_count: int = 0
    unexpected_count: int = 0
    missing_count: int = 0  # nulls a column map check skipped (not failures)
    exceptions: list[str] = field(default_factory=list)

    @property
    def unexpected_percent(self) -> float:
        return 100.0 * self.unexpected_count / self.element_count if self.element_count else 0.0

    @property
    def success(self) -> bool:
        if self.exceptions:
            return False
        if not self.element_count:
            return True
        return (self.element_count - self.unexpected_count) / self.element_count >= self.check.mostly

    @property
    def blocks(self) -> bool:
        return self.check.severity == "block" and not self.success


@dataclass
class BatchFailures:
    """Row positions (in the batch) failing each quarantine check, and per-check warnings."""

    quarantine: dict[int, list[Check]] = field(default_factory=dict)
    warned: dict[int, list[Check]] = field(default_factory=dict)


def load_checks(path: Path) -> list[Check]:
    """Read a GX suite JSON and the severity/reason of each expectation; fail on a missing tag."""
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SuiteError(f"{path.name}: cannot read the suite ({exc})") from exc
    checks = []
    for i, exp in enumerate(suite.get("expectations", [])):
        meta = exp.get("meta") or {}
        where = f"{path.name}: expectations[{i}] ({exp.get('type')})"
        if meta.get("severity") not in SEVERITIES:
            raise SuiteError(f"{where}: meta.severity must be one of {', '.join(SEVERITIES)}")
        if not meta.get("reason_code"):
            raise SuiteError(f"{where}: meta.reason_code is missing")
        checks.append(
            Check(
                index=i,
                type=str(exp["type"]),
                kwargs=dict(exp.get("kwargs", {})),
                severity=str(meta["severity"]),
                reason_code=str(meta["reason_code"]),
                description=str(meta.get("description", "")),
            )
        )
    return checks


@cache
def _gx() -> Any:
    """One ephemeral GX context per process, without analytics, progress bars or files."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


class Validator:
    """Validates the batches of one file against the dataset's suite and keeps the totals."""

    def __init__(self, spec: DatasetSpec) -> None:
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        self.spec = spec
        self.checks = load_checks(spec.suite_path)
        self.totals = [CheckTotals(c) for c in self.checks]
        context = _gx()
        name = f"{spec.name}"
        try:
            source = context.data_sources.get(name)
        except (KeyError, ValueError):
            source = context.data_sources.add_pandas(name)
        try:
            asset = source.get_asset("conformed")
        except (LookupError, ValueError):
            asset = source.add_dataframe_asset("conformed")
        try:
            self._batch_definition = asset.get_batch_definition("whole")
        except (KeyError, ValueError):
            self._batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self._suite = ExpectationSuite(name=spec.name)
        for check in self.checks:
            before = len(self._suite.expectations)
            self._suite.add_expectation_configuration(
                ExpectationConfiguration(type=check.type, kwargs=check.kwargs, meta={"check": check.index})
            )
            # GX replaces an expectation with the same type and domain (column, row_condition…)
            # instead of adding it; the replaced check would then silently never run.
            if len(self._suite.expectations) == before:
                raise SuiteError(
                    f"{spec.suite_path.name}: expectations[{check.index}] ({check.type} on {check.column}) repeats "
                    "the domain of an earlier expectation, which GX would replace; merge them or give one "
                    "a different row_condition"
                )

    def validate(self, frame: pd.DataFrame) -> BatchFailures:
        """Validate one batch (index 0..n-1) and return the failing row positions per check."""
        failures = BatchFailures()
        if frame.empty:
            return failures
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            self._suite,
            result_format={
                "result_format": "COMPLETE",
                "partial_unexpected_count": 0,
                "return_unexpected_index_query": False,
            },
        )
        for res in result.results:
            check = self.checks[int(res.expectation_config.meta["check"])]
            totals = self.totals[check.index]
            info = res.exception_info or {}
            if info.get("raised_exception"):
                totals.exceptions.append(str(info.get("exception_message")))
                continue
            element_count = int(res.result.get("element_count", len(frame)) or 0)
            totals.element_count += element_count
            totals.missing_count += int(res.result.get("missing_count") or 0)
            unexpected = res.result.get("unexpected_index_list")
            if unexpected is None:  # a table-level expectation: pass/fail for the batch as a whole
                totals.unexpected_count += 0 if res.success else element_count
                continue
            totals.unexpected_count += len(unexpected)
            # A failing row of a `block` check is quarantined too: `mostly` says how many such
            # rows a file may have before the whole file is blocked instead.
            target = failures.warned if check.severity == "warn" else failures.quarantine
            for i in unexpected:
                target.setdefault(int(i), []).append(check)
        return failures

    @property
    def blocking(self) -> list[CheckTotals]:
        return [t for t in self.totals if t.blocks or (t.exceptions and t.check.severity == "block")]

    def summary(self) -> str:
        """One line per blocking failure, for the audit and the operator."""
        parts = []
        for t in self.blocking:
            what = f"{t.check.type}({t.check.column or ''})"
            if t.exceptions:
                parts.append(f"{t.check.reason_code}: {what} could not run: {t.exceptions[0]}")
            else:
                parts.append(
                    f"{t.check.reason_code}: {what} failed for {t.unexpected_count} of {t.element_count} rows "
                    f"({t.unexpected_percent:.1f}%, at most {100 * (1 - t.check.mostly):.1f}% allowed)"
                )
        return "; ".join(parts)
