# Two entry points, both from a fresh clone: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=
# pytest workers: one per core (the notebook tests wait on kernels, servers and scrapes);
# a test file stays on one worker (some files share a server between their tests)
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: setup system-deps postgres demo test test-fast lint clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# System packages the real-parts tests need, installed only when missing.
system-deps:
	bash .ci/install-system-deps

postgres:
	@pg_lsclusters 2>/dev/null | grep -q online || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start

demo: setup
	$(VENV)/bin/mcops lab demo

test: setup system-deps postgres
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(JOBS) --dist loadfile -m "not serial" $(PYTEST_ARGS)
	$(PY) -m pytest -m serial $(PYTEST_ARGS)

# For quick iteration: every test that starts no real process (server, Prometheus,
# kernel, browser, PostgreSQL), in parallel; about a minute. `make test` runs them all.
test-fast: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(JOBS) --dist loadfile -m "not slow and not browser and not postgres and not serial" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) evidence .pytest_cache
