# The two set-up commands of the README are `make demo` and `make test`; both install first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export MPLBACKEND := Agg

.PHONY: install data demo test lint format clean

install:
	@bash tools/install.sh

data: install
	@$(PY) tools/make_toy_coco.py --out data/toy_coco

demo: install data
	@$(PY) tools/demo.py

test: install
	@$(PY) -m pytest tests $(PYTEST_ARGS)

lint: install
	@$(PY) -m flake8 projects tools tests configs
	@$(PY) -m isort --check-only --diff projects tools tests configs
	@$(PY) -m yapf --diff --recursive projects tools tests configs

format: install
	@$(PY) -m isort projects tools tests configs
	@$(PY) -m yapf --in-place --recursive projects tools tests configs

clean:
	rm -rf work_dirs data/toy_coco
