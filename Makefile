# Two commands for a newcomer: `make run` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONUNBUFFERED := 1

.PHONY: run test lint format typecheck bench clean venv

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP) ## the whole system on embedded defaults (API :8000, Temporal UI :8233); ARGS="--no-stream"
	$(BIN)/ecs dev $(ARGS)

test: $(STAMP) ## the full suite (unit, workflows, API, stream, end-to-end)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint + format check + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP) ## benchmarks print their figures; they are never part of `make test`
	$(BIN)/python -m bench.decisions
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.signals

clean:
	rm -rf $(VENV) .ecs .pytest_cache .mypy_cache .ruff_cache
