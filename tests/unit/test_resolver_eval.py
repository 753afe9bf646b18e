"""The place resolver against its labelled evaluation set (tests/resolver_cases.py).

Precision (of the answers given, the share with exactly the labelled codes) must be 100%: a wrong
code is worse than a refusal, and answering an input labelled as a refusal counts as wrong.
Recall (the share of answerable inputs answered right) must be ≥ 99% for names with diacritics
and ≥ 95% without.
"""

from __future__ import annotations

from collections import Counter

import pytest

from pipelines.reference import PlaceResolver, Resolution
from tests.resolver_cases import HARD_CASES, Case, Figures, evaluate, generated_cases, is_right, reference_units

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return generated_cases()


@pytest.fixture(scope="module")
def results(cases: list[Case]) -> tuple[dict[str, Figures], list[tuple[Case, Resolution]]]:
    return evaluate([*cases, *HARD_CASES])


def _show(misses: list[tuple[Case, Resolution]]) -> str:
    return "\n".join(
        f"{c.style}: {c.args} expected {c.expected or c.reason} got {r.codes} {r.reason} ({r.detail})"
        for c, r in misses[:15]
    )


def test_every_binh_dinh_commune_in_many_styles(cases: list[Case]) -> None:
    assert len(cases) >= 2000
    units = reference_units().in_scope()
    assert Counter(u.system for u in units) == {"pre2025": 155, "2025": 58}
    styles = Counter(c.style.split("+")[0] for c in cases)
    for style in ("official", "bare", "abbreviated", "upper", "nfd", "tcvn3", "vni", "spaces_punct", "ascii_bare"):
        assert styles[style] >= 213 * 3, style
    for style in (
        "old_tone",
        "new_tone",
        "typo",
        "ascii_typo",
        "qui",
        "ascii_official",
        "ascii_bare",
        "code",
        "code_name",
        "code_other_name",
        "code_nosystem",
    ):
        assert styles[style] > 0, style
    groups = Counter(c.group for c in cases)
    assert groups["diacritics"] > 1000 and groups["no_diacritics"] > 1000 and groups["code"] > 200
    assert sum(not c.answerable for c in cases) > 0  # labelled refusals are part of the set


def test_precision_is_total(results: tuple[dict[str, Figures], list[tuple[Case, Resolution]]]) -> None:
    figures, misses = results
    wrong = [(c, r) for c, r in misses if r.ok]
    assert figures["all"].wrong == 0, _show(wrong)
    assert figures["all"].precision == 1.0


def test_recall_with_diacritics(results: tuple[dict[str, Figures], list[tuple[Case, Resolution]]]) -> None:
    figures, misses = results
    assert figures["diacritics"].recall >= 0.99, _show([m for m in misses if m[0].group == "diacritics"])


def test_recall_without_diacritics(results: tuple[dict[str, Figures], list[tuple[Case, Resolution]]]) -> None:
    figures, misses = results
    assert figures["no_diacritics"].recall >= 0.95, _show([m for m in misses if m[0].group == "no_diacritics"])


def test_refusals_give_the_labelled_reason(results: tuple[dict[str, Figures], list[tuple[Case, Resolution]]]) -> None:
    _, misses = results
    wrong_reason = [(c, r) for c, r in misses if not c.answerable and not r.ok]
    assert wrong_reason == [], _show(wrong_reason)


@pytest.mark.parametrize(
    "case", HARD_CASES, ids=lambda c: f"{c.commune}|{c.district}|{c.code}|{c.record_date}|{c.provinces}"
)
def test_hard_case(case: Case) -> None:
    res = PlaceResolver.default(case.provinces).resolve(*case.args)
    if case.answerable:
        assert is_right(case, res), (res, case.note)
    else:
        assert (res.ok, res.reason) == (False, case.reason), (res, case.note)
        assert res.codes == (None, None, None)
