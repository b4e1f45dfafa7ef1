# `make run`: set up and serve the product with demo data. `make test`: lint, types and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bytecode bench bench-api bench-scale clean govuk-assets axe-core

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# the product's bytecode, written once: with PYTHONDONTWRITEBYTECODE set (as on some CI
# machines) every command and server started would compile its sources again
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q referral workflow

# the port `make run` serves on: `make run PORT=8000` for another
PORT ?= 5000

run: bytecode
	REFERRAL_ENV=development $(BIN)/referral db upgrade
	REFERRAL_ENV=development $(BIN)/referral demo
	@echo "Open http://127.0.0.1:$(PORT)/ (staff pages) or /api/docs (API) -- Ctrl-C to stop"
	REFERRAL_ENV=development $(BIN)/referral run --host 127.0.0.1 --port $(PORT)

test: bytecode
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n auto --dist worksteal

bench: $(STAMP)
	$(BIN)/python bench/workflow_bench.py

# the API against a bare Flask app doing the same SQL, in one run (needs wrk: apt-get install wrk)
bench-api: $(STAMP)
	$(BIN)/python bench/api_bench.py $(BENCH_ARGS)

# lists, filters and reads at 10,000 referrals and at a million (PostgreSQL; generates them once)
bench-scale: $(STAMP)
	$(BIN)/python bench/scale_bench.py $(BENCH_ARGS)

# refresh the pinned GOV.UK Frontend assets the app serves (referral/web/static/govuk-frontend/)
# from the release locked in tools/govuk-frontend/package-lock.json (needs node and npm)
govuk-assets:
	tools/govuk-frontend/build.sh

# refresh tests/browser/vendor/axe.min.js (the browser tests' axe-core) from the release locked
# in tools/axe-core/package-lock.json (needs node and npm)
axe-core:
	tools/axe-core/build.sh

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
