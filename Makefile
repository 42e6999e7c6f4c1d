# Set-up and everyday commands. Needs only Python 3.11, git and make.
#   make repro   install everything into .venv, then run the DVC pipeline on the default data
#   make test    install everything into .venv, then run the test suite
#   make sweep-summary   the last hyperparameter sweep's runs, best first (docs/sweeps.md)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
# cluster: the Ray and SLURM launchers (tests/sweeps starts a Ray head)
EXTRAS ?= sweep,cluster,test

# Stage commands (`python -m housenet.*`) must find the venv's Python.
export PATH := $(BIN):$(PATH)

.PHONY: setup repro test params check-params ui sweep-summary constraints clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

repro: setup
	@test -d .git || git init -q  # DVC keeps its state beside a Git repository
	$(BIN)/dvc repro
	$(BIN)/dvc metrics show

test: setup
	$(BIN)/python -m pytest

params: setup
	$(BIN)/python -m housenet.params

check-params: setup
	$(BIN)/python -m housenet.params --check

ui: setup
	$(BIN)/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000

sweep-summary: setup
	$(BIN)/python -m housenet.sweep.summary

constraints: setup
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^housenet' > constraints.txt.new
	(sed -n '1,2p' constraints.txt; cat constraints.txt.new) > constraints.txt.tmp && rm constraints.txt.new
	mv constraints.txt.tmp constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache
