# mlplab tasks. `make install` builds .venv. TORCH_SPEC picks the torch build to install first (pyproject.toml
# allows any torch>=2.3): e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu".
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
ARGS ?=

.PHONY: install train test test-fast sweep report bench readme-table clean

STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml  # install once; again only when the dependencies change
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install:  ## (re)create .venv and install mlplab with its dev extra (pytest, pyinstrument)
	rm -f $(STAMP)
	$(MAKE) $(STAMP)

train: $(STAMP)  ## the main job: hand-written MLP, Xavier init, 50 epochs (add ARGS="key=value ...")
	$(PY) train.py impl=manual init=xavier $(ARGS)

test: $(STAMP)  ## the whole suite
	$(PY) -m pytest -q $(ARGS)

test-fast: $(STAMP)  ## the suite without the slow sweeps
	$(PY) -m pytest -q -m "not slow" $(ARGS)

sweep: $(STAMP)  ## the comparison study: manual/nn x default/xavier x 10 seeds, report included
	$(PY) train.py -m experiment=compare $(ARGS)

bench: $(STAMP)  ## timing against bare PyTorch; writes bench.json and bench.md
	$(PY) -m mlplab.bench $(ARGS)
	$(PY) -m mlplab.readme_table bench bench.md

readme-table: $(STAMP)  ## rerun the compare study and paste its summary table into README.md
	$(PY) -m mlplab.readme_table compare

clean:
	rm -rf outputs multirun .pytest_cache bench.json bench.md
