# The two commands of the README's quick start. Both install what they need first (scripts/setup.sh).
VENV ?= .venv

.PHONY: run test test-fast setup bench

run: setup
	$(VENV)/bin/callbot serve

test: setup
	$(VENV)/bin/python -m pytest

# The fast lane: no model loads, no real-time or SIP calls, no browser, no PostgreSQL (tests/conftest.py), so
# nothing timing-sensitive: it runs on two xdist workers. The full suite stays serial (real-time SIP calls).
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow" -n 2

setup:
	@bash scripts/setup.sh
