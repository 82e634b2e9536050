# The two commands of the README's quick start. Both install what they need first (scripts/setup.sh).
VENV ?= .venv

.PHONY: run test setup bench

run: setup
	$(VENV)/bin/callbot serve

test: setup
	$(VENV)/bin/python -m pytest

setup:
	@bash scripts/setup.sh
