"""Airflow DAG `watch_deliveries`: daily check for deliveries past their due date, with alerts (wiring only)."""

from pipelines.dagfactory import build_watch_dag

watch_deliveries = build_watch_dag()
