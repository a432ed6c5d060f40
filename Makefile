# Every target creates its own virtual environment from python3 alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/flaskscope trace fixtures/seed_views.py GET /index

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The suite on every supported Python found on this machine (pyenv names them python3.X).
PYENV_ROOT ?= $(HOME)/.pyenv
test-all:
	@set -e; for v in 3.11 3.12 3.13; do \
	  py=$$(command -v python$$v || ls -d $(PYENV_ROOT)/versions/$$v*/bin/python$$v 2>/dev/null | tail -n 1); \
	  if [ -z "$$py" ]; then echo "python$$v: not found, skipped"; continue; fi; \
	  echo "== Python $$v ($$py)"; \
	  $(MAKE) --no-print-directory test PYTHON=$$py VENV=.venv-$$v; \
	done

lint: $(STAMP)
	$(BIN)/python -m pip install -q ruff
	$(BIN)/ruff check tracer viewer fixtures tests

clean:
	rm -rf .venv .venv-* .pytest_cache
