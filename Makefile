# Two entry points (see README): `make serve` and `make test`. Both set everything up first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: serve test setup lint bench

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from the pinned CPU build: any other torch pulls GBs of CUDA packages.
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,bench]"
	touch $(STAMP)

setup: $(STAMP)

serve: $(STAMP)
	$(VENV)/bin/rag serve

lint: $(STAMP)
	$(VENV)/bin/ruff check rag ui tests benchmarks
	$(VENV)/bin/ruff format --check rag ui tests benchmarks
	$(VENV)/bin/mypy

test: $(STAMP)
	bash scripts/system-deps.sh
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -m "slow or not slow"
