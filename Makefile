# Two commands: `make run` scores the bundled rollouts, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.base

run: $(VENV)/.base
	$(BIN)/rewardsmith score

test: $(VENV)/.dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/pytest -q

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@ $(VENV)/.dev $(VENV)/.base

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/qa_throughput.py
	$(BIN)/python benchmarks/math_verify_bench.py

clean:
	rm -rf $(VENV) build dist *.egg-info
