# Two commands do everything (see README.md):
#   make book   create or reuse .venv, install, execute every notebook (demo profile), write _build/html
#   make test   create or reuse .venv, install, run the test suite
# Slow checks are behind the `slow` pytest marker: make test-slow.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.propgrad-installed

# The authors' files are looked up in $PROPGRAD_ASSETS first; in this repository's
# development layout they sit in ../shared/assets.
PROPGRAD_ASSETS ?= $(if $(wildcard ../shared/assets/authors-cvd),$(abspath ../shared/assets),)
export PROPGRAD_ASSETS
# There, `make test` fails (instead of skipping) tests whose assets are not found.
PROPGRAD_REQUIRE_ASSETS ?= $(if $(wildcard ../shared/assets/authors-cvd),1,)
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test test-slow lint sync clean-book install

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[all]"
	touch $(STAMP)

# Before building: stop if a notebook's .md and .ipynb differ (fix: make sync), and
# clear the execution cache when propgrad/ changed, since it keys notebooks by
# their code only (see tools/book_checks.py).
book: $(STAMP)
	$(BIN)/python tools/book_checks.py pairs notebooks/*.md
	$(BIN)/python tools/book_checks.py library
	$(BIN)/jupyter-book build . -W --keep-going --builder html
	@echo "Book written to _build/html/index.html"

test: $(STAMP)
	PROPGRAD_REQUIRE_ASSETS=$(PROPGRAD_REQUIRE_ASSETS) $(BIN)/python -m pytest -n 2 --dist loadgroup

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.md

clean-book:
	rm -rf _build
