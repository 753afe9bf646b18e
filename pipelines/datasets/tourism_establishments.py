"""Rules of the accommodation register (Sở Văn hóa, Thể thao và Du lịch; one row per establishment):
the matching key of a name, the operator's tax code when it is an organisation's, and whether that
code is a registered enterprise.

The enterprise check reads the tax codes of the enterprises dataset from the lake: the published
partition (manifest-listed files only, `publish.published_files`) of the latest snapshot on or
before the register's period, else the earliest after it (the register of enterprises keeps
dissolved ones, so any snapshot proves a code was registered). Without any published enterprise
snapshot the flag is null and the `tax_code_not_in_enterprises` warning counts nothing: absent
enterprise data never fails the run. A branch code ("…-001") also matches its head office.

A 12-digit code (a personal ID, used as tax code by individuals since 2025-07, unverified) and a
10-digit code starting with 8 (personal income-tax codes, unverified) are a person's: they stay
pseudonymised in `tax_code_key` and are not copied to `enterprise_tax_code`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.text import fold

PERSONAL_TAX_CODE_PREFIXES = ("8",)  # personal income-tax codes (unverified; keep configurable)
_ABBREVIATIONS = {"ks": "khách sạn", "nn": "nhà nghỉ", "ctcp": "công ty cổ phần", "tnhh": "trách nhiệm hữu hạn"}
_PUNCT_RE = re.compile(r"[\s\-–.,;:/\\()\"']+")


def name_key(name: str) -> str:
    """ "KS. Hải Âu", "Khách sạn  HẢI ÂU" → "khách sạn hải âu": the name as a matching key."""
    words = _PUNCT_RE.sub(" ", fold(name)).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


def organisation_tax_code(code: str) -> str | None:
    """The tax code when it is an organisation's (10 digits or a 10-3 branch), else None."""
    head = code.split("-", 1)[0]
    if len(head) != 10 or head.startswith(PERSONAL_TAX_CODE_PREFIXES):
        return None
    return code


def enterprise_tax_codes(lake: Path, period: date) -> frozenset[str] | None:
    """Tax codes of the enterprise snapshot closest to `period` (on or before, else after); None
    when no enterprise snapshot is published."""
    from pipelines.publish import LAKE_VERSION, published_files
    from pipelines.specs import get_spec

    spec = get_spec("enterprises")
    published = {}
    for folder in (lake / spec.name / LAKE_VERSION).glob("period=*"):
        try:
            when = date.fromisoformat(folder.name.split("=", 1)[1])
        except ValueError:
            continue
        if files := published_files(lake, spec, when):
            published[when] = tuple(files)
    if not published:
        return None
    before = [p for p in published if p <= period]
    chosen = max(before) if before else min(published)
    return _read_codes(published[chosen])


@lru_cache(maxsize=4)
def _read_codes(files: tuple[Path, ...]) -> frozenset[str]:
    """Published part names carry their content hash, so the file list is a safe cache key."""
    import pyarrow.parquet as pq

    codes: set[str] = set()
    for f in files:
        codes.update(c for c in pq.read_table(f, columns=["tax_code"]).column(0).to_pylist() if c)
    return frozenset(codes)


def derive(parsed: dict[str, pd.Series], period: date) -> tuple[dict[str, pd.Series], list[Any]]:
    from pipelines.settings import load_settings

    index = parsed["name"].index
    keys = _each(parsed["name"], name_key)
    org = _each(parsed["tax_code"], organisation_tax_code)
    registered = pd.Series([None] * len(index), index=index, dtype=object)
    if org.notna().any():
        known = enterprise_tax_codes(load_settings().lake, period)
        if known is not None:
            registered = _each(org, lambda c: c in known or c.split("-", 1)[0] in known)
    return {"name_key": keys, "enterprise_tax_code": org, "is_registered_enterprise": registered}, []


def _each(values: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """`fn` of every present value, None for a missing one (the parsed columns hold None or NaN)."""
    return pd.Series([None if pd.isna(v) else fn(v) for v in values], index=values.index, dtype=object)
