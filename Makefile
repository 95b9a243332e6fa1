# `make setup` creates .venv with the CPU build of torch first (no CUDA download), then the package.
PY ?= python3
VENV ?= .venv

.PHONY: setup test lint bench
setup:
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -e ".[clip,raw,onnx,dev]"

test:
	$(VENV)/bin/python -m pytest -q -m "not slow"

lint:
	$(VENV)/bin/ruff check src tests benchmarks
