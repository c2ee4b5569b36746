# The two set-up commands of the README: `make demo` and `make test`. Each builds .venv with pip first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/relight: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/relight

.PHONY: install test demo
install: $(BIN)/relight

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/relight demo
