# See README: `make run` serves on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
HOST ?= 127.0.0.1
PORT ?= 8000
# An existing SCIM_DATABASE_URL (environment or `make run SCIM_DATABASE_URL=...`) wins.
ifeq ($(strip $(SCIM_DATABASE_URL)),)
SCIM_DATABASE_URL := sqlite:///var/scim.db
endif
export SCIM_DATABASE_URL
# Extra pytest arguments for both test runs, e.g. `make test PYTEST_ARGS='-k patch -x'`.
PYTEST_ARGS ?=

.PHONY: venv venv-run run test check clean conformance-report bench bench-quick

# `venv`: the package with the dev extra (tests, linters); `venv-run`: only what serving
# needs (`make run`). Both reinstall whenever pyproject.toml changes.
venv: $(VENV)/.installed
venv-run: $(VENV)/.installed-run

define make_venv
	@if [ ! -x $(VENV)/bin/pip ]; then \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
			echo "error: '$(PYTHON) -m venv' failed; on Debian/Ubuntu install python3-venv" >&2; \
			exit 1; }; \
	fi
endef

# A venv without pip (a failed earlier attempt) is made again.
$(VENV)/.installed: pyproject.toml
	$(make_venv)
	$(VENV)/bin/pip install --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-run: pyproject.toml
	$(make_venv)
	$(VENV)/bin/pip install --disable-pip-version-check -e .
	touch $@

# SQLite: `db upgrade` creates or migrates var/scim.db (serve would too); on PostgreSQL it is
# the step every deployment runs before serve.
run: venv-run
	mkdir -p var
	$(VENV)/bin/scim-server db upgrade
	$(VENV)/bin/scim-server serve --bootstrap --host $(HOST) --port $(PORT)

test: venv
	bash scripts/test.sh $(PYTEST_ARGS)

# Regenerate docs/conformance.md: the suite, then the public tools (scim2-tester, scim-sanity)
# and their allow-list (conformance/allowlist.toml), each against a live server on SQLite.
conformance-report: venv
	scripts/conformance-live.sh sqlite --markdown docs/conformance.md
	scripts/public-tools.sh sqlite --markdown docs/conformance.md

# Our server (SQLite, PostgreSQL) side by side with scim2-server and a Flask/SQLAlchemy ceiling,
# plus gunicorn worker classes; writes docs/benchmark.md. `make bench BENCH_ARGS='--million'`
# adds 1,000 vs 1,000,000 users on PostgreSQL. bench-quick: 2,000 users, a few minutes.
bench: venv
	scripts/bench.sh $(BENCH_ARGS)

bench-quick: venv
	scripts/bench.sh --quick $(BENCH_ARGS)

check: venv
	$(VENV)/bin/ruff check scim_server tests conformance scripts setup.py
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) var build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -not -path './.git/*' -prune -exec rm -rf {} +
