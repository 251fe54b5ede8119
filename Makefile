# iamdrift: `make demo` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DB := sqlite:///$(CURDIR)/.demo/iamdrift.db

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	@mkdir -p .demo
	IAMDRIFT_DB=$(DEMO_DB) $(BIN)/iamdrift demo
	@echo "explore it: IAMDRIFT_DB=$(DEMO_DB) $(BIN)/iamdrift show latest --coverage"
	@echo "the findings as one offline page: IAMDRIFT_DB=$(DEMO_DB) $(BIN)/iamdrift findings --format html -o .demo/findings.html"

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py --out bench/results.json

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
