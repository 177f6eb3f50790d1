# The two commands: `make run` (the whole site on embedded servers) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed

.PHONY: run test test-oldest-pg oldest-pg-deps bench soak install browser-deps lint format clean help

help:
	@echo "make run    - install and start the whole site on embedded PostgreSQL and Kafka (http://127.0.0.1:8080)"
	@echo "make test   - install and run every test against real PostgreSQL, Kafka-protocol broker and gunicorn"
	@echo "make test-oldest-pg - the SQL security and migration tests on Debian's PostgreSQL (the oldest supported major)"
	@echo "make bench  - run the benchmarks under bench/ and print ratios against same-run baselines"
	@echo "make soak   - the alert cycle at Rubin's peak rate for 10 minutes (SOAK_RATE, SOAK_SECONDS, SOAK_DRAIN)"
	@echo "make lint   - formatter check, linter and import-layer contracts (CI runs it before the tests)"
	@echo "make format - reformat and apply the linter's safe fixes"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==0.13.8

$(STAMP): pyproject.toml | $(PY)
	$(UV) pip install --quiet --python $(PY) -e ".[test]"
	touch $(STAMP)

# Browser assets (Bootstrap, Alpine.js, plotly.js) from npm, reinstalled when the lock file changes.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# Debian's chromium for the browser tests (Playwright drives it; it downloads no browser).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	fi

run: install
	$(PY) -m devstack.run

test: install browser-deps
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian's packaged PostgreSQL (15 on Debian 12), the oldest major the site supports
# (docs/deploy.md): installed if missing; the tests start a throw-away cluster of their own.
oldest-pg-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		apt-get install -y --no-install-recommends postgresql || { apt-get update && apt-get install -y --no-install-recommends postgresql; }; \
	fi

# The SQL security and migration tests against that server (devstack/oldest_postgres.py).
test-oldest-pg: install oldest-pg-deps
	cd tom_desc && ../$(PY) -m devstack.oldest_postgres $(OLDEST_PG_ARGS)

bench: install
	$(PY) bench/run.py

# The live-rate soak (bench/soak.py): send_elasticc_alerts at SOAK_RATE alerts/s (1,000) for
# SOAK_SECONDS (600), fake broker and brokerpoll, on loopback; minutes by design, so not in bench.
soak: install
	$(PY) bench/soak.py

# The formatter and linter (ruff) and the import-layer contracts of docs/architecture.md
# (import-linter), all configured in pyproject.toml.
LINTED := tom_desc bench sql_query_tom_db.py tom_client.py secrets docker

lint: $(STAMP)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/ruff check $(LINTED)
	cd tom_desc && ../$(VENV)/bin/lint-imports --config ../pyproject.toml

format: $(STAMP)
	$(VENV)/bin/ruff format $(LINTED)
	$(VENV)/bin/ruff check --fix $(LINTED)

clean:
	rm -rf $(VENV) var test-artifacts tom_desc/_static node_modules
