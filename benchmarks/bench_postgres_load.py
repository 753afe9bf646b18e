"""How close `PostgresWarehouse.insert_arrow` comes to a plain `COPY` of the same rows.

Generates N synthetic rows shaped like `core.enterprise` (the spec-generated table, all its types:
text with quotes/newlines/Vietnamese, dates, bigints, booleans, nulls), loads them with
`insert_arrow` into a fresh database, then COPYs the same rows from a CSV buffer rendered before
the clock starts (the floor: server-side parsing and writing only). Prints rows/s and the ratio.
No thresholds: the numbers depend on the machine; the ratio is what to watch.

    .venv/bin/python benchmarks/bench_postgres_load.py [--rows 2000000] [--repeat 3] [--url postgresql://…]

The URL defaults to KDS_TEST_POSTGRES_URL; the script creates and drops `kds_bench_<random>` there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.specs import get_spec
from pipelines.warehouse.postgres import PostgresWarehouse, libpq_url
from pipelines.warehouse.tables import Table, arrow_to_logical, core_table

_TEXTS = np.array(
    [
        "Công ty TNHH Thương mại Quy Nhơn",
        'Doanh nghiệp "Hoà Bình"',
        "Phường Nhơn Bình; TP. Quy Nhơn",
        "line one\nline two",
        "tab\tand backslash \\ here",
        "'); DROP TABLE x; --",
        "",
    ],
    dtype=object,
)
_ARROW_TYPES = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


def synthetic(table: Table, rows: int, seed: int = 7) -> pa.Table:
    """Deterministic rows for every column of `table`, about 5% nulls in each."""
    rng = np.random.default_rng(seed)
    columns = {}
    for col in table.columns:
        nulls = rng.random(rows) < 0.05
        if col.type == "text":
            values = np.char.add(
                _TEXTS[rng.integers(0, len(_TEXTS), rows)].astype(str), rng.integers(0, 10**9, rows).astype(str)
            )
            array = pa.array(values, pa.string(), mask=nulls)
        elif col.type == "bigint":
            array = pa.array(rng.integers(-(2**62), 2**62, rows), pa.int64(), mask=nulls)
        elif col.type == "double":
            array = pa.array(rng.normal(0, 1e6, rows), pa.float64(), mask=nulls)
        elif col.type == "date":
            days = rng.integers(0, 20_000, rows)
            array = pa.array(np.datetime64(date(1975, 1, 1)) + days.astype("timedelta64[D]"), pa.date32(), mask=nulls)
        elif col.type == "boolean":
            array = pa.array(rng.random(rows) < 0.5, pa.bool_(), mask=nulls)
        else:
            start = np.datetime64("2025-01-01T00:00:00", "us")
            array = pa.array(start + rng.integers(0, 10**12, rows).astype("timedelta64[us]"), mask=nulls)
            array = array.cast(_ARROW_TYPES["timestamp"])
        assert arrow_to_logical(array.type) == col.type
        columns[col.name] = array
    return pa.table(columns)


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A throw-away database on the server of `url`; yields its URL."""
    admin = libpq_url(url)
    name = f"kds_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(admin, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def bench(url: str, rows: int, repeat: int) -> dict[str, list[float]]:
    """Seconds per attempt for each way of loading, alternating them so machine noise hits both alike."""
    table = core_table(get_spec("enterprises"))
    data = synthetic(table, rows)
    sink = pa.BufferOutputStream()
    pacsv.write_csv(data, sink, pacsv.WriteOptions(include_header=False))
    rendered = sink.getvalue()
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    timings: dict[str, list[float]] = {OURS: [], FLOOR: []}
    with fresh_database(url) as db:
        wh = PostgresWarehouse(db)
        try:
            wh.ensure([table])
            for _ in range(repeat):
                wh.execute(f"TRUNCATE {table.qualified}")
                with wh.transaction():
                    t0 = time.perf_counter()
                    assert wh.insert_arrow(table.qualified, data) == rows
                timings[OURS].append(time.perf_counter() - t0)
                wh.execute(f"TRUNCATE {table.qualified}")
                with psycopg.connect(db) as con, con.cursor() as cur:
                    t0 = time.perf_counter()
                    with cur.copy(f"COPY {table.qualified} ({cols}) FROM STDIN (FORMAT csv)") as copy:
                        copy.write(memoryview(rendered))
                    con.commit()
                    timings[FLOOR].append(time.perf_counter() - t0)
                assert wh.count(table.qualified) == rows
        finally:
            wh.close()
    return timings


OURS, FLOOR = "insert_arrow", "plain COPY (pre-rendered CSV)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="attempts per method; the best one is reported")
    parser.add_argument("--url", default=os.environ.get("KDS_TEST_POSTGRES_URL"))
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("give --url or set KDS_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    timings = bench(args.url, args.rows, args.repeat)
    for label, seconds in timings.items():
        best, median = min(seconds), statistics.median(seconds)
        print(f"{label:30} best {args.rows / best:>10,.0f} rows/s   median {args.rows / median:>10,.0f} rows/s")
    ratio = min(timings[FLOOR]) / min(timings[OURS])
    print(f"{'ratio (best, 1.00 = floor)':30} {ratio:.2f}   ({args.rows:,} rows x {args.repeat} attempts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
