# The two commands: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make run PORT=8001` serves elsewhere; CPOR_VAR_DIR moves the SQLite file, mail and broker folders.
PORT ?= 8000
VAR := $(or $(CPOR_VAR_DIR),var)

.PHONY: run test test-machines setup lint format bench clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)
	mkdir -p $(VAR)/mail $(VAR)/media $(VAR)/broker/queue $(VAR)/broker/processed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

## make run: the whole application with demo data at http://127.0.0.1:8000 (Ctrl-C stops it)
run: setup
	@echo ""
	@echo "  CPOR is starting at http://127.0.0.1:$(PORT)"
	@echo "  Demo logins (password: cpor-demo):"
	@echo "    incentives@fabrikam.example  Incentives admin, Fabrikam Consulting"
	@echo "    billing@fabrikam.example     Billing admin, Fabrikam Consulting"
	@echo "    global@fabrikam.example      Global admin, Fabrikam Consulting"
	@echo "    incentives@northwind.example Incentives admin, Northwind Advisory"
	@echo "    reviewer@cpor.example        Reviewer (Django admin at /admin/)"
	@echo "  Customer emails land in var/mail/ unless EMAIL_HOST is set."
	@echo ""
# The development settings, explicitly: the server and worker entry points default to production.
	DJANGO_SETTINGS_MODULE=cpor.settings.base SITE_URL=$(or $(SITE_URL),http://127.0.0.1:$(PORT)) \
		$(VENV)/bin/honcho start -f Procfile --port $(PORT)

## make test: lint, layer contracts, migrations check and the whole suite (PostgreSQL and Redis when reachable)
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DJANGO_SETTINGS_MODULE=cpor.settings.test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make test-machines: only the several-machines test (2 gunicorn, 2 workers, 1 beat; `make test` runs it too)
test-machines: $(STAMP)
	$(VENV)/bin/pytest -m multiprocess $(PYTEST_ARGS)

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf var $(VENV)
