"""Airflow DAG `build_marts`: the indicator marts, scheduled on the ingest DAGs' Assets (wiring only)."""

from pipelines.dagfactory import build_marts_dag
from pipelines.specs import available_datasets, get_spec

build_marts = build_marts_dag([get_spec(name) for name in available_datasets()])
