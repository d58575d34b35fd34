# Two commands: `make run` (the whole product on this machine) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PY_OK  := $(VENV)/.requirements-installed
NPM_OK := node_modules/.package-lock-installed
CHECKOV_OK := .venv-checkov/.requirements-installed

.PHONY: run test install bench deploy clean

run: install
	$(PY) -m local.run

test: install
	$(PY) -m pytest

bench: install
	-$(PY) benchmarks/coldstart.py
	-$(PY) benchmarks/parse.py
	-$(PY) benchmarks/crypto.py
	-$(PY) benchmarks/graph.py
	-$(PY) benchmarks/meetings.py
	-$(PY) benchmarks/webhook.py
	-$(PY) benchmarks/webex.py
	-$(PY) benchmarks/telemetry.py
	-$(PY) benchmarks/scale_model.py

install: $(PY_OK) $(NPM_OK) $(CHECKOV_OK)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11 or newer is needed; run e.g. make PYTHON=python3.13"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(PY_OK): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(CHECKOV_OK): requirements-infra.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-infra.txt
	@touch $@

$(NPM_OK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Azure: infra/main.bicep and the app, through the Azure Developer CLI (azure.yaml); docs/deploy.md.
deploy: install
	@command -v azd >/dev/null || { echo "deploy needs the Azure Developer CLI (azd): see docs/deploy.md"; exit 1; }
	azd up

clean:
	rm -rf $(VENV) .venv-checkov node_modules .pytest_cache
