# Rasterlab: `make run` starts the app, `make test` runs the whole suite (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
# --isolated: ignore this machine's pip config (it points at a CPU-only torch wheel that cannot
# load torchvision); take the registry's matched torch + torchvision pair, which runs on CPU too.
PIP := $(VENV)/bin/pip --isolated --disable-pip-version-check

.PHONY: venv frontend frontend-test run test test-embedded e2e worker lint bench-tiles arcgis-check

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# setuptools reports every editable install as a warning ("Editable installation."): not news.
	PYTHONWARNINGS="ignore:Editable installation:UserWarning" $(PIP) install -q -e ".[test]" -e ./clients/python
	touch $@

frontend: frontend/dist/app.js

frontend/dist/app.js: $(shell find frontend/src -type f 2>/dev/null) frontend/package.json frontend/vite.config.ts
	cd frontend && (test -f package-lock.json && npm ci --no-audit --no-fund || npm install --no-audit --no-fund) && npm run build

run: venv frontend
	$(PY) -m backend.launcher

worker: venv
	$(PY) manage.py rqworker default

frontend-test: frontend
	cd frontend && npm test

test: venv frontend frontend-test
	$(PY) -m pytest $(PYTEST_ARGS)

# The job system on the embedded defaults (SQLite + private Redis), whatever the environment says.
test-embedded: venv
	env -u DATABASE_URL -u REDIS_URL RASTERLAB_DATA_DIR=/tmp/rasterlab-test-embedded-$$(id -u) \
		$(PY) -m pytest tests/jobs $(PYTEST_ARGS)

e2e: venv frontend
	$(PY) -m pytest tests/e2e -q

lint: venv
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench-tiles: venv
	$(PY) bench/tiles.py

# Exports and packages through Esri's arcgis.learn (not in CI; see scripts/arcgis_check/run).
arcgis-check: venv
	scripts/arcgis_check/run
