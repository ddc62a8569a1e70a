# Myodiary: `make run` to try it, `make test` to check it. Everything installs into .venv/.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app backend
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 2
SYNC_CLIENT := tests/sync_client

.PHONY: install node-deps run test lint spec bench bench-quick lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The real WatermelonDB client for the sync tests (skipped, with the reason, without Node).
node-deps:
	@if ! command -v npm >/dev/null; then echo "npm not found: the WatermelonDB client tests will skip"; \
	elif [ ! -f $(SYNC_CLIENT)/node_modules/.installed ] || \
	     [ $(SYNC_CLIENT)/package-lock.json -nt $(SYNC_CLIENT)/node_modules/.installed ]; then \
	  (cd $(SYNC_CLIENT) && npm ci --no-audit --no-fund) && touch $(SYNC_CLIENT)/node_modules/.installed; fi

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo
	@echo "Myodiary is starting on http://$(HOST):$(PORT)"
	@echo "  API        http://$(HOST):$(PORT)/api/v1/"
	@echo "  API docs   http://$(HOST):$(PORT)/api/docs"
	@echo "  OpenAPI    http://$(HOST):$(PORT)/api/v1/openapi.json"
	@echo "  Health     http://$(HOST):$(PORT)/healthz  and  /readyz"
	@echo "Sign in with a demo login above: POST /api/v1/tokens {\"email\", \"password\"}"
	@echo "  Reminders  the scheduler runs beside the web server; without MAIL_SERVER emails land in instance/outbox/"
	@echo "Stop with Ctrl-C."
	@$(FLASK) scheduler run & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers $(WORKERS) --access-logfile - 'backend:create_app()'

lint: install
	$(BIN)/ruff check backend tests migrations

test: install node-deps lint
	@$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest ran no tests: that is a failure here"; exit 1; fi; \
	exit $$status

# Benchmarks build their own data; figures and how they were measured: docs/benchmarks.md.
bench: install
	$(BIN)/python bench/sync_bench.py
	$(BIN)/python bench/trends_bench.py

bench-quick: install
	$(BIN)/python bench/sync_bench.py --quick
	$(BIN)/python bench/trends_bench.py --quick

spec: install
	$(FLASK) openapi write --format=yaml api_spec/openapi.yaml
	@echo "wrote api_spec/openapi.yaml"

# Refresh constraints.txt (the lock file) from the ranges in setup.cfg.
lock:
	rm -rf /tmp/myodiary-lock && $(PYTHON) -m venv /tmp/myodiary-lock
	/tmp/myodiary-lock/bin/pip install --quiet '.[dev]'
	/tmp/myodiary-lock/bin/pip freeze --exclude myodiary > constraints.txt

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
