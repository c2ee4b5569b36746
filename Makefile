# The two set-up commands of the README: `make demo` and `make test`. Each builds .venv with pip first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/relight: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,depth,ui]'
	touch $(BIN)/relight

.PHONY: install test demo
install: $(BIN)/relight

# One compute thread per test process: the tests run tiny tensors, several processes at once (the DDP
# test, data-loader workers), and idle OpenMP threads spin-waiting against them on a 2-core runner made
# single tests up to 30x slower. Instead, one test process per core (pytest-xdist), at most 4: some
# tests hold the paper's 613 MB network several times over. Work stealing: an idle worker takes tests
# still queued on a busy one, so a long test near the end of one queue does not leave the other core idle.
test: install
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal

demo: install
	$(BIN)/relight demo
