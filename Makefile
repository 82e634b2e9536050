# The two commands of the README's quick start. Both install what they need first (scripts/setup.sh).
VENV ?= .venv

.PHONY: run test test-fast setup bench

run: setup
	$(VENV)/bin/callbot serve

test: setup
	$(VENV)/bin/python -m pytest

# The fast lane: no model loads, no real-time or SIP calls, no browser, no PostgreSQL (tests/conftest.py).
test-fast: setup
	$(VENV)/bin/python -m pytest -m "not slow"

setup:
	@bash scripts/setup.sh
