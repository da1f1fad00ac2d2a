# Flywheel: `make demo` runs the whole app on embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: demo test test-fast lint format check migrate clean-demo soak

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@DEBUG=$${DEBUG:-true} $(PY) manage.py demo

test: $(STAMP)
	@$(PY) -m pytest -n $${PYTEST_WORKERS:-auto} --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP)
	@$(PY) -m pytest -n auto -m "not integration and not browser" $(PYTEST_ARGS)

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: $(STAMP)
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .

check: $(STAMP)
	@DEBUG=true $(PY) manage.py check
	@DEBUG=true $(PY) manage.py makemigrations --check --dry-run

soak: $(STAMP)
	@HYPOTHESIS_PROFILE=soak CHAOS_LEADS=$${CHAOS_LEADS:-10000} CHAOS_MINUTES=$${CHAOS_MINUTES:-5} \
		CHAOS_KILLS=$${CHAOS_KILLS:-10} $(PY) -m pytest -n $${PYTEST_WORKERS:-auto} --dist loadfile \
		-p no:cacheprovider --timeout 3600 tests/reliability $(PYTEST_ARGS)

clean-demo:
	rm -rf var/demo
