# kinko: `make run` starts a demo on SQLite, `make test` runs every check.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest test-tools clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "kinko needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,token]'
	@touch $@

run: $(STAMP) ## migrate the SQLite database, load demo data if empty, serve on :8000 (KINKO_PORT)
	$(BIN)/kinko db upgrade
	$(BIN)/kinko demo --if-empty
	KINKO_THIRD_PARTY_APPS=$${KINKO_THIRD_PARTY_APPS:-true} $(BIN)/kinko serve --notify print

test: lint typecheck pytest ## ruff, mypy and the whole test suite (SQLite and PostgreSQL)

lint: $(STAMP) ## ruff (the code, the tests and the benchmark), the layers' import rules
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP) ## mypy, strict for all of kinko and kinko_token
	$(BIN)/mypy

pytest: $(STAMP) test-tools ## the test suite with its coverage report (fails under the floor)
	$(BIN)/pytest --cov --cov-report=term

# Debian packages the tests use: chromium for the browser tests (never a downloaded
# browser), a Japanese font for their screenshots, oathtool as a standard TOTP app.
# Installed here (as root, as in CI) when missing.
TEST_PACKAGES := chromium fonts-ipafont-gothic oathtool
test-tools: ## install the Debian packages the tests need (chromium, a Japanese font, oathtool)
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/oathtool ] \
		&& fc-list 2>/dev/null | grep -qi ipagothic; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$(TEST_PACKAGES) >/dev/null; \
	else echo "install these Debian packages (as root) for the tests: $(TEST_PACKAGES)"; exit 1; fi

clean: ## remove the virtualenv, caches and the local demo database
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .coverage var artifacts

# The verification benchmark (docs/performance.md), never part of `make test`. It runs in its
# own virtualenv (bench/.venv: kinko plus uvicorn[standard], gunicorn, granian and httpx), so
# nothing it needs becomes a kinko dependency. Knobs: PEER=privacyidea, SIZES=10000,1000000,
# CLIENTS=1,16,32,64, SECONDS=20, BACKENDS=sqlite,postgresql, WORKERS=2, SERVER=uvicorn
# (or granian: kinko under granian instead of uvicorn).
BENCH_VENV  := bench/.venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . 'uvicorn[standard]' gunicorn httpx granian
	@touch $@

# wrk (Debian's package) generates the load: a Python load generator costs more CPU per
# request than the servers it measures. Without it, BENCH_LOADGEN=httpx still works.
.PHONY: bench bench-tools
bench-tools:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else echo "install Debian's wrk (as root) for the benchmark, or set BENCH_LOADGEN=httpx"; fi

bench: $(BENCH_STAMP) bench-tools ## verification benchmark: kinko vs the floor (PEER=privacyidea adds it)
	PYTHONPATH=. $(BENCH_VENV)/bin/python -m bench.run $(if $(PEER),--peer $(PEER)) \
		$(if $(SIZES),--sizes $(SIZES)) $(if $(CLIENTS),--clients $(CLIENTS)) \
		$(if $(SECONDS),--seconds $(SECONDS)) $(if $(BACKENDS),--backends $(BACKENDS)) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SERVER),--server $(SERVER))
