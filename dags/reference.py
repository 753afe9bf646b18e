"""Airflow DAG `refresh_reference_data`: the `ref` schema from the vendored code lists (wiring only)."""

from pipelines.dagfactory import build_reference_dag

refresh_reference_data = build_reference_dag()
