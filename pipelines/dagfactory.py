"""Build Airflow DAGs from dataset specs (imported by the thin files in `dags/`).

Only light imports here (Airflow's SDK, the YAML specs): DAG files are parsed often.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, AssetAny, BaseNotifier, Param, task
from airflow.timetables.trigger import CronTriggerTimetable

from pipelines.specs import DatasetSpec

TIMEZONE = "Asia/Ho_Chi_Minh"
WAREHOUSE_POOL = "kds_warehouse"  # one slot on DuckDB (a single writer); see README "Airflow"
START = pendulum.datetime(2025, 1, 1, tz=TIMEZONE)


class FailureNotifier(BaseNotifier):
    """Pages once when a task has failed for good: after its last retry, or at once for a rejected or
    blocked file. Warnings and quarantined rows never page. The message and the channels (Airflow
    connections `kds_smtp`, `kds_webhook`) are in `pipelines/alerts.py`."""

    def notify(self, context: object) -> None:
        from pipelines.alerts import notify_task_failure

        notify_task_failure(context)  # type: ignore[arg-type]


def _dag(
    dag_id: str,
    *,
    description: str,
    schedule: Any,
    doc_md: str,
    tags: list[str],
    timeout: timedelta,
    owner: str = "data-platform",
    retry_delay: timedelta = timedelta(minutes=5),
    params: dict[str, Param] | None = None,
) -> DAG:
    """What every KDS DAG shares: local-time start without catch-up, one run at a time, an owner,
    two retries, a timeout and the failure alert."""
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=START,
        catchup=False,
        max_active_runs=1,
        doc_md=doc_md,
        tags=tags,
        default_args={
            "owner": owner,
            "retries": 2,
            "retry_delay": retry_delay,
            "execution_timeout": timeout,
            "on_failure_callback": FailureNotifier(),
        },
        params=params or {},
    )


def core_asset(spec: DatasetSpec) -> Asset:
    """The Asset an ingest DAG updates on success; the marts DAG is scheduled on these."""
    return Asset(name=spec.target_table, uri=f"kds://warehouse/{spec.target_table.replace('.', '/')}")


def doc_md(spec: DatasetSpec) -> str:
    key = ", ".join(spec.natural_key)
    columns = "\n".join(
        f"| `{c.output_name or '(restricted)'}` | {c.type} | {c.pii} | {c.description.vi} / {c.description.en} |"
        for c in spec.columns
    )
    return f"""# {spec.title.vi}
*{spec.title.en}* — owner department: **{spec.department}**, team `{spec.owner}`, cadence **{spec.cadence}**.

{spec.description.en}

- Source files: `landing/{spec.name}/` matching `{spec.file_pattern.pattern}`
- Grain: {spec.grain} Natural key: `{key}`. Load mode: `{spec.load_mode}` into `{spec.target_table}`.
- Checks: `expectations/{spec.name}.json` (severity block / quarantine / warn).

## When it fails
- **rejected** — the file cannot be read as this layout (the log names the file, row or column and the fix):
  ask the department for a corrected file and drop it into the landing zone; the next run picks it up.
- **blocked** — a `block` check failed: nothing was published; the log line says which check and by how much.
- **failed** — infrastructure (disk, warehouse): the task retries; if it keeps failing, read the traceback.
Quarantined rows are in `restricted.quarantine` with reason codes and Excel row numbers.

## Manual run
Trigger with **period** (e.g. `2025-03-31`, `2025-03`, `2025`) to process only that period, and **force**
to re-process files already loaded (re-running a period gives the same result).

| column | type | PII | description |
|---|---|---|---|
{columns}
"""


def build_ingest_dag(spec: DatasetSpec) -> DAG:
    with _dag(
        f"ingest_{spec.name}",
        description=f"{spec.title.en} ({spec.department})",
        schedule=CronTriggerTimetable("0 1 * * *", timezone=TIMEZONE),
        doc_md=doc_md(spec),
        tags=["kds", "ingest", spec.cadence, *spec.tags],
        timeout=timedelta(hours=3),
        owner=spec.owner,
        params={
            "period": Param(
                None, type=["null", "string"], description="Only this period, e.g. 2025-03-31 / 2025-03 / 2025"
            ),
            "force": Param(False, type="boolean", description="Re-process files that were already loaded"),
        },
    ) as dag:

        @task(task_id="ingest", pool=WAREHOUSE_POOL, outlets=[core_asset(spec)])
        def ingest(**context: object) -> list[dict[str, object]]:
            from pipelines.orchestrate import ingest_task

            return ingest_task(spec.name, context)

        ingest()
    return dag


REFERENCE_DOC = """# Reference data (`ref` schema)
Loads the vendored code lists of `schemas/reference/` into the warehouse: administrative units of both
code systems (before and from 2025-07-01) with validity dates, the 2025 crosswalk (split flags, documented
default targets, official wording), the draft → official code remap, VSIC 2018 sections, VSCO 2020 groups,
land-use codes of both systems, and a date dimension. Every table is replaced in one transaction.

## When it fails
The lists are files in the repository: a failure is a warehouse problem (connection, lock). Re-run it;
readers keep seeing the previous lists meanwhile. To change a list, change the CSV (with its provenance
in `schemas/reference/README.md`) and deploy.
"""


def build_reference_dag() -> DAG:
    with _dag(
        "refresh_reference_data",
        description="Reload the ref schema (admin units, crosswalk, code lists, dates)",
        schedule=CronTriggerTimetable("30 0 * * 1", timezone=TIMEZONE),
        doc_md=REFERENCE_DOC,
        tags=["kds", "reference"],
        timeout=timedelta(minutes=30),
    ) as dag:

        @task(task_id="refresh", pool=WAREHOUSE_POOL, outlets=[Asset(name="ref", uri="kds://warehouse/ref")])
        def refresh() -> dict[str, int]:
            from pipelines.orchestrate import refresh_reference_task

            return refresh_reference_task()

        refresh()
    return dag


MARTS_DOC = """# Indicator marts (`mart` schema)
Rebuilds the indicator tables that the Intelligent Operations Centre and BI tools read, each in both
geographies (`*_pre2025` by old district and commune, `*_2025` by new commune). Runs whenever an ingest
DAG has updated its core table (Asset schedule), and can be triggered by hand.
Rows that cannot be placed in a geography are reported as unallocated, never spread; counts split by a
sensitive attribute are suppressed below 10.

## When it fails
Readers keep the previous build (one transaction). A failure is usually a warehouse problem or a
core table whose shape changed: read the task log for the SQL error, fix, re-run this DAG.
"""


def build_marts_dag(specs: list[DatasetSpec]) -> DAG:
    with _dag(
        "build_marts",
        description="Rebuild the indicator marts when any ingest DAG updates its core table",
        schedule=AssetAny(*(core_asset(spec) for spec in specs)),
        doc_md=MARTS_DOC,
        tags=["kds", "marts"],
        timeout=timedelta(hours=1),
    ) as dag:

        @task(task_id="build", pool=WAREHOUSE_POOL)
        def build() -> dict[str, int]:
            from pipelines.orchestrate import build_marts_task

            return build_marts_task()

        build()
    return dag


WATCH_DOC = """# Missing deliveries (`watch_deliveries`)
Every morning at 07:00 (after the nightly ingest and its retries), compares what each department promised
(cadence and `deadline_days` in its spec) with what arrived (`audit.file`), using the rules of
`pipelines/scoreboard.py`: a period is **missing** once its due date has passed with no file at all (a late
file is not missing; a rejected or blocked one already paged from its ingest DAG). Each newly overdue period
pages **once** (recorded in `audit.alert`), in one message per dataset, through the Airflow connections
`kds_smtp` and `kds_webhook`; with neither configured the alert is only logged. It also rewrites the overview
report `docs/index.html` as of the same date.

Trigger it with **as_of** (`2025-05-06`) to check as of another date.

## When it alerts
Ask the department named in the message for the file of that period and drop it into `landing/<dataset>/`;
`kds status` shows the scoreboard (on time / late / missing per dataset).

## When it fails
It only reads the audit and writes `audit.alert`: a failure is a warehouse problem (DuckDB busy, connection).
It retries; a missed day is caught up by the next check, since every overdue period not yet alerted is alerted.
"""


def build_watch_dag() -> DAG:
    with _dag(
        "watch_deliveries",
        description="Alert on deliveries past their due date with no file; refresh the overview report",
        schedule=CronTriggerTimetable("0 7 * * *", timezone=TIMEZONE),
        doc_md=WATCH_DOC,
        tags=["kds", "watch"],
        timeout=timedelta(minutes=15),
        retry_delay=timedelta(minutes=10),
        params={"as_of": Param(None, type=["null", "string"], description="Check as of this date (YYYY-MM-DD)")},
    ) as dag:

        @task(task_id="check", pool=WAREHOUSE_POOL)
        def check(**context: object) -> dict[str, object]:
            from pipelines.orchestrate import watch_deliveries_task

            return watch_deliveries_task(context)

        check()
    return dag
