# Two commands: `make run` (the demo, on SQLite and the in-memory channel layer)
# and `make test` (the whole suite, on a throwaway PostgreSQL and Redis; what the machine
# lacks of PostgreSQL, Redis and Chromium, scripts/with_services.py installs with apt-get
# when it runs as root or with passwordless sudo, or names the one command to run).
PYTHON := $(shell scripts/find-python)
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs in two processes side by side (pytest-xdist, whole files to each): it mostly
# waits on PostgreSQL, uvicorn and Chromium, so two fill the two cores of the CI machine.
# PYTEST_WORKERS=0 runs it in one.
PYTEST_WORKERS ?= 2

export UV_PYTHON_DOWNLOADS := never

.PHONY: install run test lint format bench bench-dashboard clean

$(UV):
	@test -n "$(PYTHON)" || { echo "Python 3.12 ou plus est introuvable : installez python3.12." >&2; exit 1; }
	$(PYTHON) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.synced

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_reference_data
	$(PY) manage.py load_calls
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_wave
	$(PY) manage.py start_missing_processes
	@# The worker (e-mails) runs beside the server and stops with it.
	$(PY) manage.py run_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) -m uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan off \
		--ws-per-message-deflate false

test: install
	$(PY) scripts/with_services.py $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile \
		--no-loadscope-reorder $(PYTEST_ARGS)

bench: install
	$(PY) scripts/with_services.py $(PY) -m bench.transitions
	$(PY) scripts/with_services.py $(PY) -m bench.waves
	$(PY) scripts/with_services.py $(PY) -m bench.notify_latency
	$(PY) scripts/with_services.py $(PY) -m bench.deadlines
	$(PY) scripts/with_services.py $(PY) -m bench.dashboard
	$(PY) scripts/with_services.py $(PY) -m bench.api

# The pages at scale (BENCH_CONTRACTS synthetic contracts, 100000 by default) against their SQL.
bench-dashboard: install
	$(PY) scripts/with_services.py $(PY) -m bench.dashboard

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf .uv $(VENV) db.sqlite3 staticfiles
