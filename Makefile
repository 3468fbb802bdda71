# civicgrid: one platform for grassroots governance.
#   make run    set up and run the whole platform in the foreground (Ctrl-C stops it)
#   make up     the same in the background; returns once every service is ready
#   make down   stop everything `make up` started
#   make test   unit and integration tests (real broker and PostgreSQL, started by the tests)
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
UV := .tools/bin/uv
RUN := $(UV) run --frozen --no-sync

.PHONY: setup run up down status test test-unit test-integration lint reference contracts bench

setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock shared/pyproject.toml deploy/local/pyproject.toml \
               $(wildcard services/*/pyproject.toml) scripts/bootstrap.sh \
               services/analytics/package-lock.json
	@scripts/bootstrap.sh

# The simulated city starts with the platform: make run SIM=off (without it),
# SIM_RATE=5 (appeals per second, default 1), SIM_DAYS=7 (play 7 days fast, then stop).
SIM_FLAGS = $(if $(filter off no 0 false,$(SIM)),--no-sim) \
	$(if $(SIM_RATE),--sim-rate $(SIM_RATE)) $(if $(SIM_DAYS),--sim-days $(SIM_DAYS))

run: setup
	@$(RUN) python -m civicgrid_stack run $(SIM_FLAGS)

up: setup
	@$(RUN) python -m civicgrid_stack up $(SIM_FLAGS)

down: setup
	@$(RUN) python -m civicgrid_stack down

status: setup
	@$(RUN) python -m civicgrid_stack status

test: setup
	@$(RUN) pytest -q tests deploy/local/tests clients/department/tests

test-unit: setup
	@$(RUN) pytest -q tests/unit

test-integration: setup
	@$(RUN) pytest -q tests/integration

lint: setup
	@$(RUN) ruff check .
	@$(RUN) mypy -p civicgrid_shared -p civicgrid_intake -p civicgrid_dispatch \
		-p civicgrid_enforcement -p civicgrid_analytics -p civicgrid_stack \
		-p civicgrid_department_client -p civicgrid_simulator
	@$(RUN) mypy tools/contracts.py

# Regenerate the reference data (city, units, matter catalog) from its seed.
reference: setup
	@$(RUN) python -m civicgrid_shared.reference.generate --seed 12345

# Regenerate docs/asyncapi.json, docs/events.md and docs/schemas/ from the code; refuses
# to overwrite a released schema version with a breaking change.
contracts: setup
	@$(RUN) python tools/contracts.py

# End-to-end throughput and latency on a fresh stack of its own (see BENCHMARKS.md).
bench: setup
	@$(RUN) python -m bench.e2e $(BENCH_ARGS)
