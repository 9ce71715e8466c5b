# Everything a developer or CI needs, from a fresh clone with only Python 3.11 and the package
# registries. `make serve` and `make test` create .venv and install what they need themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export HMP_STORE ?= $(CURDIR)/.hmp-store
APT := DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confold

.PHONY: help setup serve test lint typecheck pytest ontology system-deps java virtuoso chromium vendor node clean bench

help:
	@echo "make serve   build the example study into the embedded store (if empty) and serve http://$(HOST):$(PORT)"
	@echo "make test    lint, type-check and run the whole test suite"
	@echo "make ontology  regenerate ontology/hmp.owl and kg/vocab.py from ontology/hmp.ttl"
	@echo "make bench   run the benchmarks and print the figures recorded in bench/RESULTS.md"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

setup: $(STAMP)

# --- system packages (Debian), installed only where missing -------------------------------
APT_UPDATED := /tmp/.hmp-apt-updated
$(APT_UPDATED):
	$(APT) update >/dev/null
	touch $@

java:
	@command -v java >/dev/null || { $(MAKE) -s $(APT_UPDATED) && $(APT) install default-jre-headless >/dev/null; }

virtuoso:
	@command -v virtuoso-t >/dev/null || { $(MAKE) -s $(APT_UPDATED) && $(APT) install virtuoso-opensource >/dev/null; }

chromium:
	@command -v chromium >/dev/null || { $(MAKE) -s $(APT_UPDATED) && $(APT) install chromium >/dev/null; }

system-deps: java virtuoso chromium

# YASGUI for the landing page, from the npm registry at build time (never a CDN at run time)
VENDOR := service/static/vendor
YASGUI := $(VENDOR)/node_modules/@zazuko/yasgui/build/yasgui.min.js
node:
	@command -v npm >/dev/null || { $(MAKE) -s $(APT_UPDATED) && $(APT) install nodejs npm >/dev/null; }

$(YASGUI): $(VENDOR)/package.json $(VENDOR)/package-lock.json | node
	npm ci --prefix $(VENDOR) --no-audit --no-fund --ignore-scripts
	touch $@

vendor: $(YASGUI)

# --- the work ------------------------------------------------------------------------------
ontology: $(STAMP)
	$(BIN)/hmp ontology release

serve: $(STAMP) vendor
	$(BIN)/hmp serve --host $(HOST) --port $(PORT) --build-if-empty

lint: $(STAMP)
	$(BIN)/ruff check kg service tests bench
	$(BIN)/ruff format --check kg service tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps vendor
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: $(STAMP) vendor virtuoso
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m bench.pipeline
	$(BIN)/python -m bench.queries --scales 1,10 --virtuoso-max-scale 10
	$(BIN)/python -m bench.join_growth
	$(BIN)/python -m bench.remote_load
	$(BIN)/python -m bench.service --write

clean:
	rm -rf $(VENV) .hmp-store .pytest_cache .mypy_cache .ruff_cache
