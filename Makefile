# Provincial digital data repository pipelines. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
# Use the machine's uv if it has one; otherwise bootstrap a pinned uv into .tools/ with pip.
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export KDS_HOME ?= $(CURDIR)/data
export GX_ANALYTICS_ENABLED := False
export AIRFLOW_HOME ?= $(KDS_HOME)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
VENV := $(CURDIR)/.venv
KDS := $(VENV)/bin/kds
PYTEST_ARGS ?=
# `make run` samples each dataset at its realistic volume capped at this many rows (land has 2,000,000
# parcels and the labour register 848,500 people at full size: `kds generate <dataset>` writes those).
SAMPLE_ROWS ?= 20000

.PHONY: help install run test test-unit lint airflow bench clean browser

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python 3.11 --compile-bytecode
	@touch $@

install: $(VENV)/.synced ## Create .venv from uv.lock (bootstraps uv if needed)

run: install ## Generate sample exports if the landing zone is empty, ingest every dataset, print the summary
	@if [ -z "$$(find $(KDS_HOME)/landing -type f 2>/dev/null | head -n 1)" ]; then \
		echo "Landing zone $(KDS_HOME)/landing is empty: generating sample department exports"; \
		$(KDS) generate all --max-rows $(SAMPLE_ROWS); \
	fi
	$(KDS) run all

# The Airflow UI test drives Debian's Chromium through Debian's chromedriver (never a downloaded browser).
browser: ## Install Debian chromium + chromium-driver for the UI test when missing (as root; else says how)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian chromium and chromium-driver (browser test of the Airflow UI)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
		echo "NOTE: /usr/bin/chromium or /usr/bin/chromedriver is missing and this is not root with apt-get:"; \
		echo "      run 'sudo apt-get install chromium chromium-driver' (the UI test skips without them; in CI it fails)"; \
	fi

test: install browser ## Run the whole test suite (unit, dags, integration, reliability)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-unit: install ## Only the fast unit tier
	$(VENV)/bin/pytest -m unit $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

airflow: install ## Airflow standalone on 127.0.0.1:8080 with this repo's DAGs (login printed at start)
	PATH="$(VENV)/bin:$$PATH" AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=8080 \
	AIRFLOW__API__BASE_URL=http://127.0.0.1:8080 \
	bash -c 'airflow db migrate >/dev/null && airflow pools set kds_warehouse 1 "DuckDB has one writer" >/dev/null && exec airflow standalone'

bench: install ## Performance runs (ratios against an I/O floor)
	$(VENV)/bin/python benchmarks/run_all.py

clean: ## Remove generated data (landing, lake, warehouse) under KDS_HOME
	rm -rf $(KDS_HOME)
