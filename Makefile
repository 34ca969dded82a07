# Two commands do everything on a fresh machine with Python 3.11:
#   make run    set up .venv from the pinned lock, then run the whole study on the default config
#   make test   same set-up, then the whole test suite
PYTHON ?= python3.11
VENV := .venv
CORES ?= 2
SNAKEMAKE := $(VENV)/bin/snakemake
PYTEST_ARGS ?=

.PHONY: setup run test lint format clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -r requirements.lock
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: setup
	$(SNAKEMAKE) --cores $(CORES)

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(SNAKEMAKE) --lint
	$(VENV)/bin/snakefmt --check Snakefile rules/

format: setup
	$(VENV)/bin/snakefmt Snakefile rules/

clean:
	rm -rf results/* .snakemake
	git checkout results/README.md
