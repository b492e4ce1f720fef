# Two commands from a fresh clone:
#   make demo   set up .venv and run taxospec on a shipped example
#   make test   set up .venv with the dev tools and run ruff, mypy and the whole test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
EXAMPLE ?= examples/football-signals

.PHONY: demo test fuzz lint typecheck pytest schemas clean venv browser

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
	@mkdir -p build/demo
	$(BIN)/taxospec check $(EXAMPLE)/spec.yaml $(EXAMPLE)/export.json --config $(EXAMPLE)/project.xml \
		--ls-url http://localhost:8080 -o build/demo/report.html || [ $$? -eq 1 ]
	$(BIN)/taxospec todo $(EXAMPLE)/spec.yaml $(EXAMPLE)/export.json --budget 20 -o build/demo/todo.md
	@echo "open build/demo/report.html (the HTML report) and build/demo/todo.md (the collection to-do list)"
	@# the embedding checks, offline, with the small CLIP trained for the synthetic-signals example
	@for kind in "" -boxes -clips; do \
		echo "== taxospec check examples/synthetic-signals/spec$$kind.yaml (embedding checks, offline)"; \
		HF_HUB_OFFLINE=1 $(BIN)/taxospec check examples/synthetic-signals/spec$$kind.yaml \
			examples/synthetic-signals/export$$kind.json --ls-document-root examples/synthetic-signals \
			--cache-dir build/demo/cache --per-code 2 || [ $$? -eq 1 ] || exit 1; \
	done
	@# again, nothing new: no model is loaded; the HTML report pictures every flagged task
	HF_HUB_OFFLINE=1 $(BIN)/taxospec check examples/synthetic-signals/spec.yaml examples/synthetic-signals/export.json \
		--ls-document-root examples/synthetic-signals --cache-dir build/demo/cache \
		-o build/demo/embeddings.html || [ $$? -eq 1 ]
	@echo "open build/demo/embeddings.html (the explorer: the embedding map, every example, the findings pictured)"
	@# deployment coverage: the labeled data against two deployment cameras, and what to label next from a pool
	HF_HUB_OFFLINE=1 $(BIN)/taxospec check examples/synthetic-signals/spec-deployment.yaml \
		examples/synthetic-signals/export.json --ls-document-root examples/synthetic-signals \
		--cache-dir build/demo/cache --select deployment-uncovered --select deployment-shift \
		--select deployment-axis-shift --select deployment-quality-shift --select image-grayscale \
		-o build/demo/deployment.html || [ $$? -eq 1 ]
	HF_HUB_OFFLINE=1 $(BIN)/taxospec check examples/synthetic-signals/spec-deployment.yaml \
		examples/synthetic-signals/export.json --ls-document-root examples/synthetic-signals \
		--cache-dir build/demo/cache --per-code 3 --select deployment-uncovered --select deployment-shift \
		--select deployment-axis-shift --select deployment-quality-shift --select image-grayscale \
		--select image-dark --select image-blurry || [ $$? -eq 1 ]
	HF_HUB_OFFLINE=1 $(BIN)/taxospec todo examples/synthetic-signals/spec-deployment.yaml \
		examples/synthetic-signals/export.json --ls-document-root examples/synthetic-signals \
		--cache-dir build/demo/cache --pool examples/synthetic-signals/pool --pool-size 15 -o build/demo/label-next.md
	@sed -n '/^## Label these next/,$$p' build/demo/label-next.md
	@echo "open build/demo/deployment.html (coverage, the uncovered scenarios pictured) and build/demo/label-next.md"

test: $(STAMP) browser lint typecheck pytest

# The HTML report is tested in a real headless Chromium (Debian's chromium package), and the Label Studio
# Enterprise plugin script with node's own test runner (Debian's nodejs package).
browser:
	@for tool in chromium:chromium node:nodejs; do \
		command -v $${tool%%:*} >/dev/null 2>&1 && continue; \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's $${tool#*:} for the tests"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $${tool#*:} >/dev/null; \
		else \
			echo "$${tool%%:*} is missing: install Debian's $${tool#*:} package"; \
		fi; \
	done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Fuzzing: `make test` runs every fuzz target for a few seconds with seed 0; this runs each for a quarter of
# an hour (an hour in all) with a fresh seed. Failing inputs are kept in build/fuzz-failures/.
FUZZ_SECONDS ?= 900
fuzz: $(STAMP)
	TAXOSPEC_FUZZ_SECONDS=$(FUZZ_SECONDS) TAXOSPEC_FUZZ_SEED=$${TAXOSPEC_FUZZ_SEED:-$$(date +%s)} \
		$(BIN)/python -m pytest tests/fuzz -p no:cacheprovider -q

schemas: $(STAMP)
	$(BIN)/taxospec schema -o schemas/taxospec.schema.json
	$(BIN)/taxospec schema --for report -o schemas/report.schema.json
	$(BIN)/taxospec schema --for todo -o schemas/todo.schema.json

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
