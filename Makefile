# Myodiary: `make run` to try it, `make test` to check it. Everything installs into .venv/.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app backend
HOST   ?= 127.0.0.1
PORT   ?= 8000
WORKERS ?= 2
# pytest-xdist: one test worker per core; each test file stays on one worker (--dist loadfile);
# the 15 slowest tests are listed at the end, to keep the suite well under 10 minutes
TEST_WORKERS ?= auto
SYNC_CLIENT := tests/sync_client
TUS_CLIENT := tests/tus_client
ASSETS := backend/dashboard/assets
VENDOR := backend/dashboard/static/vendor

.PHONY: install node-deps assets browser catalogs translations run test lint spec bench bench-quick bench-scale load profile lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The gettext catalogs (backend/translations/*/LC_MESSAGES/messages.po) compiled for Flask-Babel; the .mo files
# are built here, never committed. `make translations` brings the catalogs up to date with the code's words.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard backend/translations/*/LC_MESSAGES/messages.po))
catalogs: $(CATALOGS)

backend/translations/%/LC_MESSAGES/messages.mo: backend/translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@

translations: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k lazy_ngettext:1,2 -c Translators: --width=120 --project=Myodiary -o backend/translations/messages.pot .
	$(BIN)/pybabel update -i backend/translations/messages.pot -d backend/translations --no-fuzzy-matching --ignore-obsolete --width=120
	@echo "Now translate the new and changed messages in backend/translations/*/LC_MESSAGES/messages.po"

# The real WatermelonDB client for the sync tests and tus-js-client for the video upload tests
# (skipped, with the reason, without Node).
node-deps:
	@if ! command -v npm >/dev/null; then echo "npm not found: the WatermelonDB and tus-js-client tests will skip"; \
	else for dir in $(SYNC_CLIENT) $(TUS_CLIENT); do \
	  if [ ! -f $$dir/node_modules/.installed ] || [ $$dir/package-lock.json -nt $$dir/node_modules/.installed ]; then \
	    (cd $$dir && npm ci --no-audit --no-fund) && touch $$dir/node_modules/.installed || exit 1; fi; \
	done; fi

# The dashboard's JS libraries, from the npm registry through the lockfile into static/vendor (no CDN).
# Without npm the dashboard still works: the chart is the server's SVG instead of the interactive one.
assets: $(VENDOR)/chart.umd.js

$(VENDOR)/chart.umd.js: $(ASSETS)/package-lock.json
	@if ! command -v npm >/dev/null; then echo "npm not found: the dashboard shows its server-drawn chart only"; \
	else (cd $(ASSETS) && npm ci --no-audit --no-fund) && mkdir -p $(VENDOR) && \
	  cp $(ASSETS)/node_modules/chart.js/dist/chart.umd.js $(ASSETS)/node_modules/chart.js/LICENSE.md $(VENDOR)/ && \
	  touch $@; fi

# Headless Chromium for the dashboard's browser tests (Debian/Ubuntu, as root or with sudo); they skip without it.
browser:
	@if command -v chromium >/dev/null || [ -x /usr/bin/chromium ]; then echo "chromium: $$(chromium --version)"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found and not installable here: the browser tests will skip"; fi

run: install assets catalogs
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo
	@echo "Myodiary is starting on http://$(HOST):$(PORT)"
	@echo "  Dashboard  http://$(HOST):$(PORT)/dashboard/  (sign in with a demo login above)"
	@echo "  API        http://$(HOST):$(PORT)/api/v1/"
	@echo "  API docs   http://$(HOST):$(PORT)/api/docs"
	@echo "  OpenAPI    http://$(HOST):$(PORT)/api/v1/openapi.json"
	@echo "  Health     http://$(HOST):$(PORT)/healthz  and  /readyz"
	@echo "Sign in with a demo login above: POST /api/v1/tokens {\"email\", \"password\"}"
	@echo "  Reminders  the scheduler runs beside the web server; without MAIL_SERVER emails land in instance/outbox/"
	@echo "Stop with Ctrl-C."
	@$(FLASK) scheduler run & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn -c python:backend.gunicorn_config --bind $(HOST):$(PORT) --workers $(WORKERS) 'backend:create_app()'

lint: install
	$(BIN)/ruff check backend tests migrations bench

test: install node-deps assets catalogs lint
	@command -v promtool >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; } || echo "promtool not found and not installable here: the Prometheus config tests will skip"
	@$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest ran no tests: that is a failure here"; exit 1; fi; \
	exit $$status

# Benchmarks build their own data and end with one table of every target; docs/benchmarks.md.
bench: install
	$(BIN)/python bench/run_all.py

bench-quick: install
	$(BIN)/python bench/run_all.py --quick

# The cost curve: every request and background pass at 200, 2,000 and 20,000 children (about 5 million episodes
# at the top) on PostgreSQL, bulk-loaded; a table, bench/results/scale.json and docs/scale_curve.png. Takes a while.
bench-scale: install
	$(BIN)/python bench/scale_bench.py

# 50 phones syncing for 60 s against gunicorn and PostgreSQL; checks nothing is lost or doubled.
load: install
	$(BIN)/python bench/load_test.py

# Where one request's CPU goes under gunicorn, by layer (py-spy); e.g.
# make profile PROFILE_ARGS="--endpoint floor --database postgresql"
profile: install
	$(BIN)/python bench/profile_http.py $(PROFILE_ARGS)

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
