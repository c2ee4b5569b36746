# The two set-up commands of the README: `make demo` and `make test`. Each builds .venv with pip first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/relight: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,depth,ui]'
	touch $(BIN)/relight

.PHONY: install browser test demo
install: $(BIN)/relight

# The browser test (tests/test_ui_browser.py) drives Debian's chromium, headless, through its chromedriver:
# installed with apt-get when missing, as root or through sudo; elsewhere one line says what to install.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	    if ! command -v apt-get >/dev/null; then as=none; elif [ "$$(id -u)" -eq 0 ]; then as=; elif command -v sudo >/dev/null; then as=sudo; else as=none; fi; \
	    if [ "$$as" = none ]; then \
	        echo "make test: the browser test needs chromium and chromedriver; install them (on Debian, as root: apt-get install chromium chromium-driver)" >&2; \
	        exit 1; \
	    fi; \
	    echo "make test: installing chromium and chromium-driver for the browser test"; \
	    $$as apt-get update -qq && $$as env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# One compute thread per test process: the tests run tiny tensors, several processes at once (the DDP
# test, data-loader workers), and idle OpenMP threads spin-waiting against them on a 2-core runner made
# single tests up to 30x slower. Instead, one test process per core (pytest-xdist), at most 4: some
# tests hold the paper's 613 MB network several times over. Work stealing: an idle worker takes tests
# still queued on a busy one, so a long test near the end of one queue does not leave the other core idle.
test: install browser
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist worksteal

demo: install
	$(BIN)/relight demo
