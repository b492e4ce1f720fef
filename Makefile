# Two commands from a fresh clone:
#   make demo   set up .venv and run taxospec on a shipped example
#   make test   set up .venv with the dev tools and run ruff, mypy and the whole test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
EXAMPLE ?= examples/football-signals

.PHONY: demo test lint typecheck pytest schemas clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "taxospec needs Python >= 3.10 (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(BIN)/taxospec lint examples/*/spec.yaml
	$(BIN)/taxospec describe $(EXAMPLE)/spec.yaml
	@# the example's export carries planted problems: exit 1 (findings) is the expected outcome
	$(BIN)/taxospec check $(EXAMPLE)/spec.yaml $(EXAMPLE)/export.json --config $(EXAMPLE)/project.xml \
		--ls-url http://localhost:8080 || [ $$? -eq 1 ]

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

schemas: $(STAMP)
	$(BIN)/taxospec schema -o schemas/taxospec.schema.json
	$(BIN)/taxospec schema --for report -o schemas/report.schema.json
	$(BIN)/taxospec schema --for todo -o schemas/todo.schema.json

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
