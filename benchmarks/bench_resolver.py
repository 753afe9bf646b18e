"""Place resolver: evaluation figures and speed.

Run: `.venv/bin/python benchmarks/bench_resolver.py`

Prints precision and recall per group of the labelled set (tests/resolver_cases.py: names with
and without diacritics, codes, hand-written hard cases), then distinct resolutions per second on a
cold cache, and the ratio to a floor measured in the same process: a plain dict lookup of the
exact official names, the fastest a resolver could possibly be. No absolute-time assertion: the
machine decides the seconds, the ratio says whether the resolver is in proportion.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.reference import REORGANISATION_DATE, PlaceResolver, load_reference
from pipelines.text import repair_legacy
from tests.resolver_cases import HARD_CASES, evaluate, generated_cases

Args = tuple[str | None, str | None, str | None, date | None, str | None]


def _dated(args: Args, days: int) -> Args:
    """The same input `days` further from the reorganisation (same side of it)."""
    commune, district, code, when, system = args
    when = when or date(2025, 1, 15)
    shift = timedelta(days=days)
    return (commune, district, code, when - shift if when < REORGANISATION_DATE else when + shift, system)


def _rate(count: int, run: Callable[[], object], repeat: int = 3) -> float:
    """Items per second, best of `repeat` runs (the least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def _cold(resolver: PlaceResolver, inputs: list[Args]) -> Callable[[], object]:
    def run() -> object:
        resolver.clear_cache()
        repair_legacy.cache_clear()
        return resolver.resolve_many(inputs)

    return run


def main() -> None:
    cases = generated_cases()
    figures, misses = evaluate([*cases, *HARD_CASES])
    print("Evaluation (precision: right / answered; recall: right / answerable)")
    print(
        f"{'group':<15}{'inputs':>8}{'answerable':>12}{'answered':>10}{'right':>8}{'wrong':>7}{'precision':>11}{'recall':>9}"
    )
    for group in ("diacritics", "no_diacritics", "code", "hard", "all"):
        f = figures[group]
        print(
            f"{group:<15}{f.inputs:>8}{f.answerable:>12}{f.answered:>10}{f.right:>8}{f.wrong:>7}"
            f"{f.precision:>11.2%}{f.recall:>9.2%}"
        )
    print(f"inputs not as labelled: {len(misses)}")

    resolver = PlaceResolver.default()
    eval_inputs = list(dict.fromkeys(c.args for c in cases))
    # Rows of a file: the same names recur with other record dates (distinct tuples, shared strings).
    row_inputs = list(dict.fromkeys(_dated(args, n) for args in eval_inputs for n in range(4)))
    names = [r["name"] for r in load_reference("admin_units_pre2025") if r["level"] == "commune"]
    floor_table = {name: ("code", "district", "code2025") for name in names}
    floor_keys = [names[i % len(names)] for i in range(len(row_inputs))]

    floor = _rate(len(floor_keys), lambda: [floor_table.get(k) for k in floor_keys])
    print("\nSpeed (distinct inputs, cold cache: resolver and parsing caches cleared before each run)")
    for label, inputs in (("evaluation inputs", eval_inputs), ("rows with varied dates", row_inputs)):
        rate = _rate(len(inputs), _cold(resolver, inputs))
        print(
            f"{label:<24}{len(inputs):>8} inputs {rate:>12,.0f} resolutions/s   {floor / rate:>6.0f}× the dict-lookup floor"
        )
    resolver.resolve_many(row_inputs)
    warm = _rate(len(row_inputs), lambda: resolver.resolve_many(row_inputs))
    print(
        f"{'warm cache':<24}{len(row_inputs):>8} inputs {warm:>12,.0f} resolutions/s   {floor / warm:>6.0f}× the dict-lookup floor"
    )
    print(f"{'floor (dict lookup)':<24}{len(floor_keys):>8} lookups {floor:>11,.0f} lookups/s")


if __name__ == "__main__":
    main()
