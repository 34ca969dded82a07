# Two commands do everything on a fresh machine with Python 3.11:
#   make run    set up .venv from the pinned lock, then run the whole study on the default config
#   make test   same set-up, then the whole test suite
# `make help` lists every target and variable.
PYTHON ?= python3.11
VENV := .venv
CORES ?= 2
# An extra config file layered on config/config.yaml, e.g. CONFIG=config/tiny.yaml.
CONFIG ?=
# Where results/ goes: the repository for the default config, runs/<config name>/ for another,
# so two configurations never overwrite each other's models and tables.
WORKDIR ?= $(if $(CONFIG),runs/$(basename $(notdir $(CONFIG))),.)
# Extra Snakemake arguments, e.g. ARGS="--keep-going results/table5.csv".
ARGS ?=
PYTEST_ARGS ?=
SNAKEMAKE := $(VENV)/bin/snakemake
SNAKE = $(SNAKEMAKE) --snakefile Snakefile --directory $(WORKDIR) --cores $(CORES) $(ARGS) \
	$(if $(CONFIG),--configfile $(abspath $(CONFIG)))

.PHONY: help setup run dry-run report test lint format clean clean-all

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12
	@echo "variables: CONFIG=<file> WORKDIR=<dir> ARGS='<snakemake args>' CORES=$(CORES) PYTEST_ARGS=..."

setup: $(VENV)/.installed  ## create .venv from requirements.lock (once)

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: setup  ## the whole study (every table, figure and the summary)
	$(SNAKE)

dry-run: setup  ## what `make run` would do, without doing it
	$(SNAKE) --dry-run

report: setup  ## HTML report of a finished run (WORKDIR/results/report.html)
	$(SNAKE) --report results/report.html

test: setup  ## the whole test suite (unit tests + end-to-end runs on config/tiny.yaml)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: setup  ## snakemake --lint, snakefmt and ruff checks
	$(SNAKEMAKE) --lint
	$(VENV)/bin/snakefmt --check Snakefile rules/
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup  ## format rules (snakefmt) and Python (ruff)
	$(VENV)/bin/snakefmt Snakefile rules/
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

clean:  ## delete results but keep data and trained baselines (results/data, results/models/*/baseline.*)
	find $(WORKDIR)/results -mindepth 1 -maxdepth 1 ! -name README.md ! -name data ! -name models -exec rm -rf {} +
	find $(WORKDIR)/results/models -type f ! -name 'baseline.keras' ! -name history.csv ! -name train.json -delete 2>/dev/null || true

clean-all:  ## delete every result, trained models and data included
	find $(WORKDIR)/results -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
	rm -rf $(WORKDIR)/.snakemake
