# The two set-up commands of the README are `make demo` and `make test`; both install first.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export MPLBACKEND := Agg
# The toy models are tiny: one intra-op thread per process is faster than two on a 2-core
# machine with data-loader workers beside it (measured: 46 vs 34 img/s, toy RetinaNet training).
export OMP_NUM_THREADS ?= 1

.PHONY: install data demo test lint format clean

install:
	@bash tools/install.sh

data: install
	@$(PY) tools/make_toy_coco.py --out data/toy_coco
	@$(PY) projects/detnas/tools/make_toy_imagenet.py --coco data/toy_coco --out data/toy_imagenet

demo: install data
	@$(PY) tools/demo.py

# The tests run on TEST_WORKERS processes (pytest-xdist), a file per worker at a time; the toy
# sets are written before, so the workers only read them. pytest exits 5 when it collects no
# test: that is not a failure of the suite.
TEST_WORKERS ?= 2
test: install data
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(or $(PYTEST_ARGS),tests); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests collected (exit 5), treated as success"; rc=0; fi; \
	exit $$rc

lint: install
	@$(PY) -m flake8 projects tools tests configs
	@$(PY) -m isort --check-only --diff projects tools tests configs
	@$(PY) -m yapf --diff --recursive projects tools tests configs

format: install
	@$(PY) -m isort projects tools tests configs
	@$(PY) -m yapf --in-place --recursive projects tools tests configs

clean:
	rm -rf work_dirs data/toy_coco
