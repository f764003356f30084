# The two commands of the README: `make demo` (the main job) and `make test` (the whole suite).
# Both set up everything they need first (scripts/setup.sh is idempotent).
PY := .venv/bin/python

.PHONY: setup demo test test-faults test-unit bench cluster-up cluster-down cluster-status

setup:
	@bash scripts/setup.sh

demo: setup
	@$(PY) -m envgrid.demo $(ARGS)

test: setup
	@$(PY) -m pytest -q $(ARGS)

# The 3-node fault test alone (tests/integration/test_three_brokers.py; `make test` runs it too).
test-faults: setup
	@$(PY) -m pytest -q -m node_faults $(ARGS)

test-unit: setup
	@$(PY) -m pytest -q -m "not integration" $(ARGS)

bench: setup
	@$(PY) -m bench $(ARGS)

cluster-up: setup
	@$(PY) -m envgrid.localcluster up

cluster-down:
	@$(PY) -m envgrid.localcluster down

cluster-status:
	@$(PY) -m envgrid.localcluster status
