# Shopfloor — developer and CI entry points (GNU make >= 4.3).
#
# On a fresh Debian machine with only python3 (>= 3.11) and make, `make test` and
# `make demo` do all the setup themselves: the virtualenv, the pinned Python packages and,
# when run as root, the Debian packages they need (python3-venv, a C compiler for evdev,
# chromium and mosquitto for the tests). Without root they warn and carry on: the browser
# tests then skip and the MQTT tests fall back to amqtt.
#
#   make test    setup, the whole test suite (slow tests included), then ruff and mypy
#   make demo    setup, then `shopfloor demo`
#   make bench   benchmarks (tests/bench, marker `bench`)
#   make lint    ruff + mypy            make fmt     ruff format + import sorting
#   make lock    re-pin requirements.lock from the current .venv
#   make clean   caches and build output (keeps .venv)   make distclean   also .venv

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
# One thing at a time: the setup steps may all call apt-get, which takes a lock.
.NOTPARALLEL:
MAKEFLAGS += --no-builtin-rules --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when pyproject.toml or requirements.lock changes; deleting .venv removes it too.
STAMP := $(VENV)/.shopfloor-installed.stamp
CHROMIUM := /usr/bin/chromium
# make test runs everything but the benchmarks (make bench runs those), slow suites included;
# a plain `pytest` skips the slow ones too (pyproject addopts). `PYTEST_ARGS='-m ""'` runs all.
PYTEST_ARGS ?= -m "not bench"
# Module names from the repo root, so tests/*/conftest.py files don't collide.
MYPY_ARGS ?= --explicit-package-bases

IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)
HAS_APT := $(shell command -v apt-get >/dev/null 2>&1 && echo yes)
# $(call apt_install,PACKAGES,WHAT-IT-IS-FOR): install Debian packages when we are root on
# Debian; otherwise (or when apt fails) print a warning and let the caller carry on.
define apt_install
	if [ "$(IS_ROOT)$(HAS_APT)" = yesyes ]; then \
	  echo ">> installing Debian packages: $(1) ($(2))"; \
	  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q \
	         && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1); }; then \
	    echo "warning: could not install $(1) ($(2)); continuing without" >&2; \
	  fi; \
	else \
	  echo "warning: $(1) missing and not root on Debian: $(2); install it yourself" >&2; \
	fi
endef

.PHONY: help setup demo test bench lint fmt lock clean distclean test-system-deps

help:
	@sed -n 's/^#   //p' $(firstword $(MAKEFILE_LIST))

# --- setup -----------------------------------------------------------------------------

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: $(PYTHON) is older than 3.11 (set PYTHON=python3.11)" >&2; exit 1; }
	@if ! $(PYTHON) -m venv $(VENV); then \
	  rm -rf $(VENV); \
	  ver=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  $(call apt_install,python$$ver-venv,python -m venv needs ensurepip); \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }; \
	fi

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	@# evdev ships no wheels: it is compiled, which needs a C compiler and the headers.
	@inc=$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	if ! command -v cc >/dev/null 2>&1 || [ ! -f "$$inc/Python.h" ] \
	   || [ ! -f /usr/include/linux/input.h ]; then \
	  ver=$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	  $(call apt_install,gcc libc6-dev linux-libc-dev python$$ver-dev,to build evdev); \
	fi
	@echo ">> installing shopfloor and its pinned dependencies into $(VENV)"
	$(BIN)/python -m pip install --disable-pip-version-check -q -c requirements.lock -e '.[dev]'
	@touch $@

setup: $(STAMP)

# Debian's chromium for the browser tests, mosquitto for the MQTT tests.
test-system-deps:
	@if [ ! -x $(CHROMIUM) ]; then \
	  $(call apt_install,chromium,the browser tests will skip); \
	fi
	@if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then \
	  $(call apt_install,mosquitto,the MQTT tests fall back to amqtt); \
	fi

# --- everyday targets ------------------------------------------------------------------

test: $(STAMP) test-system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/ruff check .
	$(BIN)/mypy $(MYPY_ARGS) .

demo: $(STAMP)
	$(BIN)/shopfloor demo

bench: $(STAMP)
	@# exit status 5 means "no benchmarks collected": not a failure while there are none
	$(BIN)/python -m pytest tests/bench -m bench -q -s || [ $$? -eq 5 ]

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy $(MYPY_ARGS) .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --select I --fix .

# Pins exactly what .venv holds now (the editable shopfloor itself excluded).
lock: | $(BIN)/python
	@{ echo "# Pinned versions of the development virtualenv, used as pip constraints:"; \
	   echo "#   pip install -c requirements.lock -e '.[dev]'"; \
	   echo "# Regenerate with \`make lock\` after changing dependencies in pyproject.toml."; \
	   $(BIN)/python -m pip freeze --disable-pip-version-check --exclude-editable \
	     | grep -viE '^shopfloor([ =@]|$$)'; } > requirements.lock.tmp
	@mv requirements.lock.tmp requirements.lock
	@echo "requirements.lock: $$(grep -c '==' requirements.lock) pins"

clean:
	rm -rf build dist .eggs *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis \
	  htmlcov .coverage .coverage.* requirements.lock.tmp
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
