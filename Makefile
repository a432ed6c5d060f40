# Every target creates its own virtual environment from python3 alone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test browser-test test-all test-versions bench explain-oracle engines flask-suite webpy-suite django-suite tornado-suite lint clean


$(STAMP): pyproject.toml setup.py tracer/_linecore.c tracer/_stepcore.c tracer/_corecommon.h
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# Opens the viewer on the seed's class-based view; without a terminal it prints the steps.
demo: $(STAMP)
	@if [ -t 1 ]; then $(BIN)/flaskscope view fixtures/seed_views.py GET /index; \
	else $(BIN)/flaskscope trace fixtures/seed_views.py GET /index; fi

# On every core (pytest-xdist). The oracles' closing counts print when their files run
# alone (`pytest tests/oracle/test_explain_ran.py`, `pytest tests/corpus`).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --ignore=tests/tracer/test_engines_agree.py --ignore=tests/browser

# The HTML report in headless Chromium (Debian's chromium and chromium-driver, installed
# when missing and apt-get is there) driven by selenium from the `browser` extra.
browser-test: $(STAMP)
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  fi; \
	fi
	$(BIN)/python -m pip install -q -e '.[browser]'
	FLASKSCOPE_BROWSER=required $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser

# The compiled line core and the pure-Python engine record the same trace: every fixture
# and corpus app through both, on the default environment and on 3.12 and 3.13 if found.
engines: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/tracer/test_engines_agree.py
	@set -e; for v in 3.12 3.13; do \
	  py=$$(scripts/find_python.sh $$v); \
	  if [ -z "$$py" ]; then echo "python$$v: not found, skipped"; continue; fi; \
	  $(MAKE) --no-print-directory .venv-$$v/.installed PYTHON=$$py VENV=.venv-$$v; \
	  echo "== engines agree, Python $$v"; \
	  .venv-$$v/bin/python -m pytest -q -p no:cacheprovider tests/tracer/test_engines_agree.py; \
	done

# The suite on every supported Python found on this machine.
test-all:
	@set -e; for v in 3.11 3.12 3.13; do \
	  py=$$(scripts/find_python.sh $$v); \
	  if [ -z "$$py" ]; then echo "python$$v: not found, skipped"; continue; fi; \
	  echo "== Python $$v ($$py)"; \
	  $(MAKE) --no-print-directory test PYTHON=$$py VENV=.venv-$$v; \
	done

# Benchmarks (not tests): recording overhead and `flaskscope trace --lines` on httpbin on
# every Python found, then the viewer, graph and explain timings. Peers (hunter, snoop,
# PySnooper, viztracer) come from the bench extra, installed only in the per-version
# environments: hunter's .pth file imports hunter into every process, which would add to
# the viewer's time to first screen.
bench:
	@set -e; for v in 3.11 3.12 3.13; do \
	  py=$$(scripts/find_python.sh $$v); \
	  if [ -z "$$py" ]; then echo "python$$v: not found, skipped"; continue; fi; \
	  $(MAKE) --no-print-directory .venv-$$v/.bench PYTHON=$$py VENV=.venv-$$v; \
	  echo; echo "== recording overhead, Python $$v"; \
	  .venv-$$v/bin/python benchmarks/bench_tracer.py $(BENCH_ARGS); \
	  echo; echo "== flaskscope trace --lines on a 61-route app, Python $$v"; \
	  .venv-$$v/bin/python benchmarks/bench_trace_command.py; \
	done
	$(MAKE) --no-print-directory $(STAMP)
	@for script in benchmarks/bench_viewer.py benchmarks/bench_graph.py benchmarks/bench_explain.py \
	              benchmarks/bench_frameworks.py benchmarks/bench_integrations.py \
	              benchmarks/bench_store.py benchmarks/store_parts.py; do \
	  if [ -f $$script ]; then echo; echo "== $$script"; $(BIN)/python $$script; fi; \
	done

%/.bench: pyproject.toml
	$(MAKE) --no-print-directory $*/.installed VENV=$* PYTHON=$(PYTHON)
	$*/bin/python -m pip install -q -e '.[test,bench]'
	touch $@

# The explain line oracle where hook mode records the lines that ran inside requests too
# (3.12+, sys.monitoring): `make test` on 3.11 holds quotes chosen from the facts.
explain-oracle:
	@set -e; for v in 3.12 3.13; do \
	  py=$$(scripts/find_python.sh $$v); \
	  if [ -z "$$py" ]; then echo "python$$v: not found, skipped"; continue; fi; \
	  $(MAKE) --no-print-directory .venv-$$v/.installed PYTHON=$$py VENV=.venv-$$v; \
	  echo "== explain line oracle, Python $$v"; \
	  .venv-$$v/bin/python -m pytest -q -p no:cacheprovider tests/oracle/test_explain_ran.py \
	    tests/explain "tests/corpus/test_corpus.py::test_explain_tells_only_what_ran"; \
	done

# Every other Flask version flaskscope supports (scripts/flask_versions.txt), on every
# supported Python found: an environment each, the fixture/explain/check/oracle/tracer/
# graph/CLI/viewer/integration tests, and (on python3) Flask's own suite, plain and recorded.
test-versions:
	scripts/test_versions.sh $(PYTHON) $$(scripts/find_python.sh 3.12) $$(scripts/find_python.sh 3.13)

# Flask's own test suite, plain and with recording installed process-wide: same outcomes.
flask-suite: $(STAMP)
	scripts/flask_suite.sh $(BIN)/python

webpy-suite: $(STAMP)
	scripts/webpy_suite.sh $(BIN)/python

# A sample of Django's own test suite, plain and recorded process-wide (hooks, lines): same outcomes.
django-suite: $(STAMP)
	scripts/django_suite.sh $(BIN)/python

# Tornado's own web and routing tests, plain and recorded process-wide (hook and line mode):
# identical outcomes and output.
tornado-suite: $(STAMP)
	scripts/tornado_suite.sh $(BIN)/python

lint: $(STAMP)
	$(BIN)/python -m pip install -q ruff mypy
	$(BIN)/ruff check tracer viewer flaskscope fixtures tests
	$(BIN)/mypy

clean:
	rm -rf .venv .venv-* .pytest_cache
