# Trunkline. `make run` runs it (with the GitHub simulator when no GitHub credentials are set);
# `make test` runs the tests. Everything installs into .venv on first use.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint bench bench-sync bench-webhooks bench-board bench-metrics bench-derive bench-report clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The demo: TRUNKLINE_DEMO=1 gives it its defaults (secret key, hosts, the simulator); DEBUG stays off, so it shows
# Trunkline's own error pages (`DEBUG=1 make run` for Django's debug pages).
run: $(VENV)/.runtime
	TRUNKLINE_DEMO=1 $(BIN)/python manage.py demo

# The tests run in parallel: TEST_PROCESSES pytest-xdist processes (auto: one per CPU), each with its own var/test
# folder, broker, Redis database, test database and ports (tests/settings.py). `make test TEST_PROCESSES=0` runs
# them in one process; PYTEST_ARGS adds options (`make test PYTEST_ARGS="-x tests/github"`).
TEST_PROCESSES ?= auto
test: $(VENV)/.dev
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) $(PYTEST_ARGS)

# mypy with django-stubs loads the settings: the demo's flag gives them a secret key.
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	TRUNKLINE_DEMO=1 $(BIN)/mypy

# The sync benchmark at two sizes (20 repositories, 2,000 and 10,000 PRs), each from an empty database of its own, so
# the peak memory of the two can be compared; then the webhook and board benchmarks.
bench: $(VENV)/.runtime
	@for prs in 2000 10000; do $(MAKE) --no-print-directory bench-sync REPOS=20 PRS=$$prs || exit 1; done
	@$(MAKE) --no-print-directory bench-webhooks
	@$(MAKE) --no-print-directory bench-board
	@$(MAKE) --no-print-directory bench-metrics

# One size of the sync benchmark: REPOS repositories, PRS pull requests, synced from scratch and again unchanged.
# PostgreSQL with DEBUG off when it answers on 127.0.0.1 (a database of its own, BENCH_SYNC_DB), else a SQLite file.
# Figures (requests REST + GraphQL and points, per PR, hours of GitHub's budgets, SQL statements per request, wall
# time, peak RSS, the no-change resync) are printed and written to var/bench-sync-$(PRS).json.
REPOS ?= 20
PRS ?= 10000
BENCH_SYNC_DB ?= trunkline_bench_sync
BENCH_SYNC_ARGS ?=
bench-sync: $(VENV)/.runtime
	@mkdir -p var
	@if pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
	  dropdb -h 127.0.0.1 -U postgres --if-exists $(BENCH_SYNC_DB) && \
	  createdb -h 127.0.0.1 -U postgres $(BENCH_SYNC_DB) || exit 1; \
	  db=postgres://postgres@127.0.0.1:5432/$(BENCH_SYNC_DB); \
	else \
	  rm -f var/bench.sqlite3*; \
	  db=sqlite:///$(CURDIR)/var/bench.sqlite3; \
	fi; \
	TRUNKLINE_DEMO=1 DEBUG= DATABASE_URL=$$db $(BIN)/python manage.py migrate -v 0 && \
	TRUNKLINE_DEMO=1 DEBUG= DATABASE_URL=$$db LOG_LEVEL=WARNING \
	  $(BIN)/python -m tools bench_sync --repos $(REPOS) --prs $(PRS) $(BENCH_SYNC_ARGS) --json var/bench-sync-$(PRS).json

# The webhook endpoint under load: gunicorn, a Celery worker and a load generator, 30 s of signed deliveries,
# twice: a steady 50 deliveries a second (the acknowledgement latency), then 8 connections sending as fast as
# they are answered (the capacity; latency there is mostly queueing).
# PostgreSQL and Redis when they answer on 127.0.0.1 (a database of its own, Redis database 14), else a SQLite
# file and the filesystem broker. Figures are printed and written to var/bench-webhooks-{rate-50,closed-loop}.json.
# BENCH_WEBHOOKS_ARGS adds options to both runs (`make bench-webhooks BENCH_WEBHOOKS_ARGS="--seconds 3"` for a quick
# check); BENCH_WEBHOOKS_DB and BENCH_WEBHOOKS_REDIS_DB move the database and the Redis database it empties.
BENCH_WEBHOOKS_DB ?= trunkline_bench_webhooks
BENCH_WEBHOOKS_REDIS_DB ?= 14
BENCH_WEBHOOKS_ARGS ?=
bench-webhooks: $(VENV)/.runtime
	@mkdir -p var
	@for run in rate-50 closed-loop; do \
	  if [ $$run = rate-50 ]; then args="--rate 50"; else args="--concurrency 8"; fi; \
	  if pg_isready -h 127.0.0.1 -q 2>/dev/null && [ "$$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG ]; then \
	    dropdb -h 127.0.0.1 -U postgres --if-exists $(BENCH_WEBHOOKS_DB) && \
	    createdb -h 127.0.0.1 -U postgres $(BENCH_WEBHOOKS_DB) || exit 1; \
	    redis-cli -h 127.0.0.1 -n $(BENCH_WEBHOOKS_REDIS_DB) flushdb >/dev/null; \
	    db=postgres://postgres@127.0.0.1:5432/$(BENCH_WEBHOOKS_DB); broker=redis://127.0.0.1:6379/$(BENCH_WEBHOOKS_REDIS_DB); \
	  else \
	    rm -f var/bench-webhooks.sqlite3*; \
	    db=sqlite:///$(CURDIR)/var/bench-webhooks.sqlite3; broker=; \
	  fi; \
	  TRUNKLINE_DEMO=1 DATABASE_URL=$$db REDIS_URL=$$broker $(BIN)/python manage.py migrate -v 0 && \
	  TRUNKLINE_DEMO=1 DATABASE_URL=$$db REDIS_URL=$$broker LOG_LEVEL=WARNING \
	    $(BIN)/python -m tools bench_webhooks $$args $(BENCH_WEBHOOKS_ARGS) --json var/bench-webhooks-$$run.json || exit 1; \
	done

# The pipeline pages on a large organization (the GitHub simulator's, 50 repositories, 20,000 PRs, about 5,000
# deployments, written straight to the database, then derived): p50/p95 server time of the board, its htmx refresh, the filtered board, a change, a
# repository and a release page, requested in-process through the whole Django stack, signed in. PostgreSQL when it
# answers on 127.0.0.1 (a database of its own), else a SQLite file. Figures are printed and written to
# var/bench-board.json. BENCH_BOARD_ARGS adds options (`--prs 2000` for a quick check); BENCH_BOARD_DB moves the
# PostgreSQL database it drops and creates.
BENCH_BOARD_DB ?= trunkline_bench_board
BENCH_BOARD_ARGS ?=
bench-board: $(VENV)/.runtime
	@mkdir -p var
	@if pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
	  dropdb -h 127.0.0.1 -U postgres --if-exists $(BENCH_BOARD_DB) && \
	  createdb -h 127.0.0.1 -U postgres $(BENCH_BOARD_DB) || exit 1; \
	  db=postgres://postgres@127.0.0.1:5432/$(BENCH_BOARD_DB); \
	else \
	  rm -f var/bench-board.sqlite3*; \
	  db=sqlite:///$(CURDIR)/var/bench-board.sqlite3; \
	fi; \
	TRUNKLINE_DEMO=1 DATABASE_URL=$$db $(BIN)/python manage.py migrate -v 0 && \
	TRUNKLINE_DEMO=1 DATABASE_URL=$$db LOG_LEVEL=WARNING $(BIN)/python -m tools bench_board $(BENCH_BOARD_ARGS) --json var/bench-board.json

# The metrics page and API on a quarter of a large simulated organization (50 repositories, 20,000 PRs, about 5,000
# deployments): p50/p95 server time and queries a request. PostgreSQL when it answers (a database of its own), else
# SQLite. Figures are printed and written to var/bench-metrics.json; BENCH_METRICS_ARGS adds options.
BENCH_METRICS_DB ?= trunkline_bench_metrics
BENCH_METRICS_ARGS ?=
bench-metrics: $(VENV)/.runtime
	@mkdir -p var
	@if pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
	  dropdb -h 127.0.0.1 -U postgres --if-exists $(BENCH_METRICS_DB) && \
	  createdb -h 127.0.0.1 -U postgres $(BENCH_METRICS_DB) || exit 1; \
	  db=postgres://postgres@127.0.0.1:5432/$(BENCH_METRICS_DB); \
	else \
	  rm -f var/bench-metrics.sqlite3*; \
	  db=sqlite:///$(CURDIR)/var/bench-metrics.sqlite3; \
	fi; \
	TRUNKLINE_DEMO=1 DATABASE_URL=$$db $(BIN)/python manage.py migrate -v 0 && \
	TRUNKLINE_DEMO=1 DATABASE_URL=$$db LOG_LEVEL=WARNING $(BIN)/python -m tools bench_metrics $(BENCH_METRICS_ARGS) --json var/bench-metrics.json
# One week's report (every section, the keys over five weeks) built over 50 repositories / 20,000 PRs, built again
# unchanged, and its page: time and SQL statements. PostgreSQL when it answers (a database of its own), else SQLite.
# Figures are printed and written to var/bench-report.json; BENCH_REPORT_ARGS adds options.
BENCH_REPORT_DB ?= trunkline_bench_report
BENCH_REPORT_ARGS ?=
bench-report: $(VENV)/.runtime
	@mkdir -p var
	@if pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
	  dropdb -h 127.0.0.1 -U postgres --if-exists $(BENCH_REPORT_DB) && \
	  createdb -h 127.0.0.1 -U postgres $(BENCH_REPORT_DB) || exit 1; \
	  db=postgres://postgres@127.0.0.1:5432/$(BENCH_REPORT_DB); \
	else \
	  rm -f var/bench-report.sqlite3*; \
	  db=sqlite:///$(CURDIR)/var/bench-report.sqlite3; \
	fi; \
	TRUNKLINE_DEMO=1 DATABASE_URL=$$db $(BIN)/python manage.py migrate -v 0 && \
	TRUNKLINE_DEMO=1 DATABASE_URL=$$db LOG_LEVEL=WARNING $(BIN)/python -m tools bench_report $(BENCH_REPORT_ARGS) --json var/bench-report.json
# The derivation per repository, full and per beat tick, at 5,000 and 80,000 PRs, each on a database of its own
# (PostgreSQL when it answers, else SQLite): a tick must not grow with the history. Figures are printed and written
# to var/bench-derive-<prs>.json. BENCH_DERIVE_SIZES changes the sizes.
BENCH_DERIVE_DB ?= trunkline_bench_derive
BENCH_DERIVE_SIZES ?= 5000 80000
bench-derive: $(VENV)/.runtime
	@mkdir -p var
	@for prs in $(BENCH_DERIVE_SIZES); do \
	  if pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
	    dropdb -h 127.0.0.1 -U postgres --if-exists $(BENCH_DERIVE_DB) && \
	    createdb -h 127.0.0.1 -U postgres $(BENCH_DERIVE_DB) || exit 1; \
	    db=postgres://postgres@127.0.0.1:5432/$(BENCH_DERIVE_DB); \
	  else \
	    rm -f var/bench-derive.sqlite3*; \
	    db=sqlite:///$(CURDIR)/var/bench-derive.sqlite3; \
	  fi; \
	  TRUNKLINE_DEMO=1 DATABASE_URL=$$db $(BIN)/python manage.py migrate -v 0 && \
	  TRUNKLINE_DEMO=1 DATABASE_URL=$$db LOG_LEVEL=WARNING \
	    $(BIN)/python -m tools bench_derive --prs $$prs --json var/bench-derive-$$prs.json || exit 1; \
	done

clean:
	rm -rf $(VENV) var staticfiles
