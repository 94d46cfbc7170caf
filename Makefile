# The two quick-start commands live here: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data
PYTHON ?= python3

.PHONY: run test setup setup-test node chromium e2e lint typecheck pytest bench contracts contracts-check vectors bench-relay bench-fakes bench-watcher bench-points

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed
# Browser tests drive Debian's chromium (no browser download at run time).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

setup-test: $(VENV)/.installed-test node_modules/.installed chromium
node: node_modules/.installed

# Command 1: set up and run the bridge on its embedded defaults.
run: setup
	@test -f $(DATA)/config.toml || $(VENV)/bin/parley init --dir $(DATA)
	$(VENV)/bin/parley run --config $(DATA)/config.toml

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup-test
	$(VENV)/bin/mypy

pytest: setup-test
	$(VENV)/bin/pytest -q -p no:cacheprovider

# Command 2: install what the tests need and run them all.
test: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

# Benchmarks print figures; they run with the venv's Python from the repository root.
bench: setup-test
	$(PY) -m bench.crypto

bench-relay: setup-test
	$(PY) -m bench.relay

bench-fakes: setup-test
	$(PY) -m bench.relay --fakes

bench-watcher: setup-test
	$(PY) -m bench.watcher

bench-points: setup-test
	$(PY) -m bench.points

# Rewrites the committed js-waku vectors with the pinned js-waku (tests/crypto/vectors/README.md).
vectors: node_modules/.installed
	node tests/crypto/vectors/generate.mjs > tests/crypto/vectors/js-waku-vectors.json.tmp
	mv tests/crypto/vectors/js-waku-vectors.json.tmp tests/crypto/vectors/js-waku-vectors.json

contracts: node_modules/.installed
	node contracts/build.mjs

contracts-check: node_modules/.installed
	node contracts/build.mjs --check

e2e: setup-test
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/e2e
