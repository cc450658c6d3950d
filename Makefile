# citybot — one Makefile for newcomers, maintainers and CI.
#   make run    set up both venvs, build indexes, train if needed, start everything
#   make test   set up what is missing, lint, run every test tier
SHELL := /bin/bash
.DEFAULT_GOAL := help

# pyenv's shims exist for every installed version but fail unless it is selected:
# take the interpreter from the pyenv tree, else a python3.10 that actually runs.
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
PY310 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10.13/bin/python3.10) $(shell python3.10 -c '' 2>/dev/null && command -v python3.10))
PY311 ?= $(shell python3.11 -c '' 2>/dev/null && command -v python3.11 || command -v python3)
VENV := .venv
RASA_VENV := .venv-rasa
export RASA_TELEMETRY_ENABLED := false
export OMP_NUM_THREADS ?= 1

.PHONY: cluster-up cluster-down help setup run test test-unit test-integration test-eval test-e2e lint validate index train screenshots browser clean lock

help:
	@echo "make run    — set up and start the bot on the sample data (http://127.0.0.1:8000/)"
	@echo "make test   — set up and run lint + unit + integration + e2e tests"
	@echo "make index | train | validate | lint | test-unit | test-integration | test-e2e | screenshots | clean"

$(RASA_VENV)/.installed: requirements/rasa.lock
	@test -x "$(PY310)" || { echo "Python 3.10 not found at $(PY310) (set PY310=...)"; exit 1; }
	@echo "== creating $(RASA_VENV) (CPython 3.10, Rasa 3.6 + GiNZA) from requirements/rasa.lock — about 2 minutes"
	rm -rf $(RASA_VENV)
	$(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install -q pip==24.2
	$(RASA_VENV)/bin/pip install -q --no-deps -r requirements/rasa.lock
	touch $@

$(VENV)/.installed: requirements/app.lock
	@echo "== creating $(VENV) (CPython 3.11: gateway, actions, retrieval) from requirements/app.lock — about 2 minutes"
	rm -rf $(VENV)
	$(PY311) -m venv $(VENV)
	$(VENV)/bin/pip install -q pip==26.3
	$(VENV)/bin/pip install -q --no-deps -r requirements/app.lock
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(RASA_VENV)/.installed $(VENV)/.installed

# Debian's Chromium for the browser tests (never `playwright install`), and the test-time
# npm tools pinned in tests/e2e/package-lock.json (axe-core for tests/e2e/test_widget_a11y.py).
browser: tests/e2e/node_modules/.installed
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver fonts-noto-cjk; \
	  else echo "install Debian chromium: sudo apt-get install chromium chromium-driver fonts-noto-cjk"; exit 1; fi; fi

tests/e2e/node_modules/.installed: tests/e2e/package-lock.json
	@if ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; \
	  else echo "install Node.js and npm: sudo apt-get install nodejs npm"; exit 1; fi; fi
	npm ci --prefix tests/e2e --no-audit --no-fund
	touch $@

index: setup
	$(VENV)/bin/citybot index build

train: setup
	$(VENV)/bin/citybot nlu train

run: setup
	$(VENV)/bin/citybot run

# Serve sample_site/ on 127.0.0.1 and crawl it into var/pages/resident.sqlite (+ dead-link CSV).
.PHONY: crawl-sample
crawl-sample: setup
	$(VENV)/bin/citybot crawl --sample

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check retrieval actions bot tests bench
	$(VENV)/bin/lint-imports

validate: setup
	$(VENV)/bin/citybot nlu validate

test-unit: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/unit -q

test-integration: setup
	$(VENV)/bin/python -m pytest tests/integration -q

test-eval: $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/eval -q

test-e2e: setup browser
	$(VENV)/bin/python -m pytest tests/e2e -q

test: setup browser lint validate
	$(VENV)/bin/python -m pytest tests -q

screenshots: setup browser
	CITYBOT_SCREENSHOTS=test-artifacts $(VENV)/bin/python -m pytest tests/e2e -q
	@echo "screenshots in test-artifacts/"

# Re-lock after changing requirements/*.in or pyproject.toml dependencies.
lock:
	rm -rf /tmp/citybot-lock-app /tmp/citybot-lock-rasa
	$(PY311) -m venv /tmp/citybot-lock-app && /tmp/citybot-lock-app/bin/pip install -q pip==26.3 && /tmp/citybot-lock-app/bin/pip install -q -r requirements/app.in
	/tmp/citybot-lock-app/bin/pip freeze --all | grep -v -E '^(pip|citybot)==|^-e ' > requirements/app.lock
	$(PY310) -m venv /tmp/citybot-lock-rasa && /tmp/citybot-lock-rasa/bin/pip install -q pip==24.2 && /tmp/citybot-lock-rasa/bin/pip install -q -r requirements/rasa.in
	/tmp/citybot-lock-rasa/bin/pip freeze --all | grep -v '^pip==' > requirements/rasa.lock

# The multi-replica topology on loopback (nginx, gunicorn, 2 Rasa replicas, 2 action servers,
# PostgreSQL, Redis): needs Debian's postgresql, redis-server and nginx. See docs/deploy.md.
cluster-up: setup index train
	$(VENV)/bin/python -m bot.cluster up

cluster-down:
	$(VENV)/bin/python -m bot.cluster down

clean:
	rm -rf var models data/nlu/generated_faq.yml test-artifacts .pytest_cache
