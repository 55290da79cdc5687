# Two entry points, both from a fresh clone: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=
# pytest workers: two per core. The real-process tests spend much of their time waiting
# (servers starting, Prometheus scrapes, faults taking hold): with one worker per core the
# CPU idled 35-50% of a run. Measured on 2 cores: 8m12 with 2 workers, 5m34 with 4, 6m04
# with 6 (saturated). A test file stays on one worker (some share a server between tests).
JOBS   ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) * 2 )))
# The Jupyter kernel every committed notebook names (tests/test_project.py holds them to it),
# registered inside the venv, so JupyterLab opens a notebook without rewriting its metadata.
KERNEL_NAME         := mcops
KERNEL_DISPLAY_NAME := mcops (Python 3)
KERNEL_SPEC         := $(VENV)/share/jupyter/kernels/$(KERNEL_NAME)/kernel.json
# What Jupyter writes on run and save that is not the notebook: nbstripout drops these on
# top of outputs, execution counts and its defaults (cell timing, widget state, collapsed).
NBSTRIPOUT_KEYS     := metadata.language_info.version metadata.papermill cell.metadata.papermill cell.metadata.jupyter
NBSTRIPOUT          := "$(abspath $(PY))" -m nbstripout --keep-id

.PHONY: setup git-filter jupyter-config catalogue system-deps postgres demo test test-fast durations lint clean

setup: $(VENV)/.installed $(KERNEL_SPEC) git-filter jupyter-config

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

$(KERNEL_SPEC): $(VENV)/.installed
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL_NAME) \
	  --display-name "$(KERNEL_DISPLAY_NAME)" >/dev/null
	$(PY) -m mcops.slow_imports $@

# Outputs never reach git: .gitattributes sends *.ipynb through nbstripout, whose command
# lives in .git/config (git never takes it from the repository), so setup writes it there.
# Cell ids stay (--keep-id): they are stable. Outside a git checkout there is nothing to do.
git-filter:
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean '$(NBSTRIPOUT)' && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.required true && \
	  git config filter.nbstripout.extrakeys '$(NBSTRIPOUT_KEYS)' && \
	  git config diff.ipynb.textconv '$(NBSTRIPOUT) -t'; \
	fi

# git trusts a size change without asking the filter, so a notebook saved with outputs
# would show as modified with an empty diff; a Jupyter post-save hook (a server extension
# of the venv's Jupyter) refreshes its index entry when the filter says it is unchanged.
jupyter-config:
	@mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	@echo '{"ServerApp": {"jpserver_extensions": {"mcops.jupyter_save": true}}}' \
	  > $(VENV)/etc/jupyter/jupyter_server_config.d/mcops.json

# notebooks/README.md, the catalogue, from the notebooks' metadata and the registry
catalogue: $(VENV)/.installed
	$(PY) -m mcops.catalogue --write

# deploy/kubernetes/base/prometheus-rule.yaml, from deploy/prometheus's rule files
.PHONY: k8s-rules
k8s-rules: $(VENV)/.installed
	$(PY) deploy/kubernetes/prometheus_rule.py

# System packages the real-parts tests need, installed only when missing.
system-deps:
	bash .ci/install-system-deps

postgres:
	@pg_lsclusters 2>/dev/null | grep -q online || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start

demo: setup
	$(VENV)/bin/mcops lab demo

# The lab with a little load and JupyterLab on it (127.0.0.1, notebooks/); prints the URL
# with its token. Ctrl-C stops JupyterLab, and the lab if this started it.
.PHONY: lab
lab: setup
	$(VENV)/bin/mcops lab jupyter

test: setup system-deps postgres
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder -m "not serial" $(PYTEST_ARGS)
	$(PY) -m pytest -m serial $(PYTEST_ARGS)

# For quick iteration: every test that starts no real process (server, Prometheus,
# kernel, browser, PostgreSQL), in parallel; about a minute. `make test` runs them all.
test-fast: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n $(JOBS) --dist loadfile --no-loadscope-reorder -m "not slow and not browser and not postgres and not serial" $(PYTEST_ARGS)

# Refresh tests/durations.json: seconds per test file in a full run, by which `make test`
# hands out the longest files first. Commit the result when files were added or moved.
durations: setup system-deps postgres
	rm -f tests/durations.json.new
	MCOPS_RECORD_DURATIONS=$(CURDIR)/tests/durations.json.new $(MAKE) test
	mv tests/durations.json.new tests/durations.json

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) evidence .pytest_cache build dist *.egg-info
