# The two commands: `make demo` and `make test`. Everything else is a helper of those.
# Components add their own targets in mk/*.mk and append to TEST_DEPS / DEMO_DEPS / BENCHES.

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

# Caches live outside the clone so that a fresh clone is fast.
export TRYON_CACHE_DIR ?= $(HOME)/.cache/tryon
export UV_CACHE_DIR ?= $(HOME)/.cache/uv
export UV_PYTHON ?= 3.11
UV_VERSION := 0.13.9
UV_HOME := $(TRYON_CACHE_DIR)/tools/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
TRYON := $(VENV)/bin/tryon
PYTEST_ARGS ?=

TEST_DEPS :=
DEMO_DEPS :=
BENCHES :=

include $(sort $(wildcard mk/*.mk))

.PHONY: help install test demo check lint typecheck bench clean

help: ## Show the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-16s %s\n", $$1, $$2}'

$(UV):
	@echo "==> installing uv $(UV_VERSION) into $(UV_HOME)"
	python3 -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	@echo "==> syncing $(VENV) from uv.lock"
	$(UV) sync --frozen --extra cpu --extra dev
	@touch $@

install: $(VENV)/.installed ## Create .venv with every Python dependency (locked)

test: install $(TEST_DEPS) ## Set everything up and run every test
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install $(DEMO_DEPS) ## Set everything up and start the embedded server on 127.0.0.1:8000
	$(TRYON) db upgrade
	$(TRYON) serve

lint: install ## ruff (lint and format check)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install ## mypy, strict for our packages
	$(VENV)/bin/mypy

check: lint typecheck test ## ruff, mypy and the tests

bench: install $(BENCHES) ## Every benchmark

clean: ## Remove the venv and local data (caches outside the clone stay)
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
