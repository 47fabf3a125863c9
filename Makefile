# The two set-up commands of the README: `make demo` and `make test`.
# Each (re)creates the virtualenv when pyproject.toml changed and installs what it needs.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint venv clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)"; exit 1; fi; }
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/sesame demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy automations connectors

# Installs Samba, Redis, PostgreSQL and Chromium with apt-get when root and missing; the test session itself
# starts a private Redis, PostgreSQL cluster and Samba AD DC bound to 127.0.0.1 and stops them at the end.
test: $(STAMP)
	bash ops/install-services.sh
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
