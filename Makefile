# mobu — see README.md. Every target installs what it needs; nothing relies on a previous session.
SHELL := /bin/bash
# A Python >= 3.13 (scripts/find-python.sh says where it looks); override with PYTHON=/path/to/python.
PYTHON ?= $(shell scripts/find-python.sh 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
# Where scripts/install/*.sh install the local services and where mobu.platform's launchers
# (tests, `mobu demo`, bench) find them: see docs/configuration.md.
export MOBU_PLATFORM_DIR ?= $(CURDIR)/.services

.PHONY: install services test lint demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { scripts/find-python.sh >/dev/null; exit 1; }
	@if test -x $(PY) && ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 13))'; then \
	  echo "$(VENV) was made with $$($(PY) -V); recreating it with $(PYTHON)"; rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel
	$(PIP) install -q -c constraints.txt -e '.[dev,bench]'
	touch $(STAMP)

# Install the local services the tests and the demo run against (JupyterHub's proxy, GAVO DaCHS,
# giftless, Prometheus, ...). Each script under scripts/install/ is idempotent; a service that
# cannot be installed here (no root, no apt) is reported, and its tests skip saying why.
services: install
	@for script in scripts/install/*.sh; do \
	  [ -e "$$script" ] || continue; \
	  echo "== $$script"; \
	  bash "$$script" || echo "!! $$script failed; tests that need it will be skipped"; \
	done

test: install services
	$(PY) -m pytest -q --durations=15

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src

demo: install services
	$(VENV)/bin/mobu demo

bench: install services
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) $(MOBU_PLATFORM_DIR) .mypy_cache .ruff_cache .pytest_cache
