"""Airflow ingest DAGs `ingest_<dataset>`: one per spec in schemas/, built by the factory (wiring only)."""
# (Airflow parses only files that mention both "airflow" and "dag": the docstring above does.)

from pipelines.dagfactory import build_ingest_dag
from pipelines.specs import available_datasets, get_spec

for _name in available_datasets():
    globals()[f"ingest_{_name}"] = build_ingest_dag(get_spec(_name))
