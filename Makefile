# Two commands set a fresh machine up and prove it: `make setup`, then `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PIP     := $(BIN)/python -m pip
# constraints.txt pins every package to what was tested, and torch to the CPU build on local disk.
INSTALL := $(PIP) install -c constraints.txt

.PHONY: help setup system-deps test test-fast grade release bench lint notebooks clean

help:
	@echo "make setup    create .venv with the package, its tests' needs, the browser tests' Chromium and axe-core"
	@echo "make test     run the whole test suite (engine, checkers, course, grading, sandbox, browser)"
	@echo "make grade    grade the bundled example class into ./graded (grades.csv, feedback, report)"
	@echo "make release  student versions of the notebooks with nbgrader generate_assignment"
	@echo "make bench    benchmarks: engine against micrograd and PyTorch, grader against nbgrader"
	@echo "make notebooks  regenerate the test cells of the source notebooks from graders/*.toml"
	@echo "make lint     ruff (also run by make test)"
	@echo "make test-fast  the suite without the slow and browser tests"

setup: system-deps
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(INSTALL) -q torch==2.13.0
	$(INSTALL) -q -e '.[test,bench]'
	npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts --loglevel=error
	$(BIN)/python -c "import autodiff_course, torch, nbgrader; print('autodiff-course', autodiff_course.__version__, 'ready')"

# Debian packages the sandbox (bubblewrap) and the browser tests (chromium; npm for the pinned axe-core in
# tests/browser/package-lock.json) need; each is installed only where it is missing.
system-deps:
	@PKGS=""; \
	command -v bwrap >/dev/null || PKGS="$$PKGS bubblewrap"; \
	command -v chromium >/dev/null || PKGS="$$PKGS chromium"; \
	command -v npm >/dev/null || PKGS="$$PKGS npm"; \
	if [ -n "$$PKGS" ] && command -v apt-get >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$PKGS >/dev/null; \
	fi

test:
	$(BIN)/python -m pytest -q

test-fast:
	$(BIN)/python -m pytest -q -m "not slow and not browser"

grade:
	$(BIN)/autodiff-course grade

release:
	$(BIN)/autodiff-course release

bench:
	$(BIN)/python benchmarks/run_all.py

notebooks:
	$(BIN)/autodiff-course sync-notebooks

lint:
	$(BIN)/ruff check autodiff_course tests benchmarks

clean:
	rm -rf graded release .pytest_cache
