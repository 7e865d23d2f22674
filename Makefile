# Trunkline. `make run` runs it (with the GitHub simulator when no GitHub credentials are set);
# `make test` runs the tests. Everything installs into .venv on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py demo

test: $(VENV)/.dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# The sync benchmark at two sizes, each from an empty database of its own, so the peak memory of
# 2,000 and 10,000 PRs can be compared. Figures are printed and written to var/bench-sync-*.json.
bench: $(VENV)/.runtime
	@mkdir -p var
	@for prs in 2000 10000; do \
	  rm -f var/bench.sqlite3*; \
	  DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 $(BIN)/python manage.py migrate -v 0 && \
	  DEBUG=1 DATABASE_URL=sqlite:///$(CURDIR)/var/bench.sqlite3 LOG_LEVEL=WARNING \
	    $(BIN)/python manage.py bench_sync --repos 20 --prs $$prs --json var/bench-sync-$$prs.json || exit 1; \
	done

clean:
	rm -rf $(VENV) var staticfiles
