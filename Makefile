# Two commands on a fresh machine: `make run` and `make test`.
# The venv is (re)built whenever pyproject.toml or the lock file changes. It installs the
# exact versions of requirements.lock (what CI tests), then ninelives itself without
# dependencies; users who `pip install ninelives` get pyproject.toml's ranges instead.
# `make lock` refreshes the lock from those ranges in a throw-away venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock

.PHONY: run test bench lint lock clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(LOCK)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/ninelives run

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests

bench: $(STAMP)
	$(PY) -m ninelives.bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	( echo "# Exact versions CI installs (make test). Refresh with 'make lock'."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^pip==' ) > $(LOCK)
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) bench-results.json build *.egg-info
