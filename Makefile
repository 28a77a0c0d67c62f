# The two set-up commands of the README: `make demo` and `make test`.
# Both create .venv on first use (scripts/bootstrap.sh) and keep every cache in .cache/.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export INHABIT_CACHE_DIR := $(CURDIR)/.cache
export ANNY_CACHE_DIR := $(CURDIR)/.cache/anny
export WARP_CACHE_PATH := $(CURDIR)/.cache/warp
export HF_HOME := $(CURDIR)/.cache/huggingface
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export TOKENIZERS_PARALLELISM := false

.PHONY: venv demo test lint bench doctor clean

venv:
	@bash scripts/bootstrap.sh

demo: venv
	$(PY) -m inhabit demo --out runs/demo

test: venv
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks

bench: venv
	$(PY) benchmarks/run_all.py

doctor: venv
	$(PY) -m inhabit doctor

clean:
	rm -rf runs .pytest_cache
