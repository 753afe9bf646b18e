"""Rules specific to one dataset, where a spec cannot say them (DESIGN §5).

A dataset whose spec declares `derived:` columns has a module `pipelines/datasets/<dataset>.py`
with a function

    def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Problem]]

`parsed` holds every spec column's typed values for one batch (personal columns included, before
pseudonymisation: the module runs inside the restricted zone), indexed 0..n-1. It returns one
Series per derived column and any row problems (each with a reason code and severity). Checks
that compare columns are best written as expectations on the derived columns, so they appear in
the suite and the audit like any other check.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from pipelines.specs import DatasetSpec, SpecError

if TYPE_CHECKING:
    from pipelines.conform import Problem


def derive(spec: DatasetSpec, parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, Any], list[Problem]]:
    try:
        module = importlib.import_module(f"pipelines.datasets.{spec.name}")
    except ModuleNotFoundError as exc:
        raise SpecError(
            f"{spec.path.name}: declares derived columns but pipelines/datasets/{spec.name}.py does not exist"
        ) from exc
    values, problems = module.derive(parsed, period)
    missing = [d.name for d in spec.derived if d.name not in values]
    if missing:
        raise SpecError(f"pipelines/datasets/{spec.name}.py: derive() did not return {', '.join(missing)}")
    return values, list(problems)
