PY ?= .venv/bin/python
export GUICHET_MODE ?= test

.PHONY: dev test lint fmt messages bench

dev:
	$(PY) -m guichet.cli demo

test:
	$(PY) -m pytest

lint:
	$(PY) -m ruff check . && $(PY) -m ruff format --check . && $(PY) -m mypy guichet tests bench && .venv/bin/lint-imports

fmt:
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

# Refresh the catalogues after changing strings, then translate the new French entries. Strings of an
# area with its own `locale/` directory (acs, merchants, subscribers, checkout, demoshop) go to that
# area's catalogue; the rest to guichet/core/locale.
messages:
	cd guichet && ../$(PY) -m django makemessages -l fr -l en --settings=guichet.config.settings --no-obsolete
	cd guichet && ../$(PY) -m django compilemessages --settings=guichet.config.settings

bench:
	$(PY) bench/code_verification.py
	$(PY) bench/payments_api.py
	$(PY) bench/signin_cost.py
	$(PY) bench/acs_areq.py
