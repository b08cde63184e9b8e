# whoknows - build, demo and test entry points.
#
#   make demo      create .venv if needed, install, ingest the sample organisation in data/, ask 3 questions
#   make test      install (with the dev extras) and run pytest
#   make help      list every target
#
# The install is idempotent: a stamp file named after a hash of pyproject.toml + constraints.txt
# marks a finished install, so a second `make test` does not reinstall. Edit either file and the
# next make reinstalls.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        ?= .venv
BIN         := $(VENV)/bin
PIP         := $(BIN)/python -m pip
CONSTRAINTS := constraints.txt
# The CPU build of torch (found through pip's find-links). It MUST be installed first and exactly like
# this: any other spec makes pip pull gigabytes of CUDA wheels. Every later pip call keeps it pinned
# with -c $(CONSTRAINTS).
TORCH_SPEC  := torch==2.13.0
PYTEST_ARGS ?=
DATA        ?= data/

DEPS_HASH := $(shell cat pyproject.toml $(CONSTRAINTS) | sha256sum | cut -c1-16)
STAMP     := $(VENV)/.installed-$(DEPS_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(DEPS_HASH)

# Offline, quiet, no telemetry: for every command run from here (tests, demo, ingest).
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DO_NOT_TRACK := true
export ANONYMIZED_TELEMETRY := False
export UNSTRUCTURED_DISABLE_NOTICE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# llama-cpp-python (dev extra) compiles llama.cpp at install: use every core.
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: help venv install install-dev demo ingest test lint typecheck check-deps clean distclean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(BIN)/python ## create .venv (python3 -m venv) if it does not exist

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

install: $(STAMP) ## install whoknows (editable) and its runtime dependencies into .venv

install-dev: $(DEV_STAMP) ## install whoknows with the dev extras (pytest, ruff, mypy, ...)

# $(1): the extras to install ("" or "[dev]"). Steps:
#  1. torch, exactly $(TORCH_SPEC), first (CPU wheel via find-links);
#  2. the project, editable, pinned by constraints.txt;
#  3. unstructured-inference with --no-deps (partition_pdf imports it; its deps would bring timm/torchvision);
#  4. fail loudly if torchvision, timm or a CUDA (nvidia-*) package slipped in.
define do_install
	@echo ">>> installing whoknows$(1) into $(VENV) (torch first, CPU build)"
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -c $(CONSTRAINTS) -e ".$(1)"
	$(PIP) install -c $(CONSTRAINTS) --no-deps unstructured-inference
	@$(MAKE) --no-print-directory check-deps
endef

# (No file prerequisites: the hash in the stamp's name already tracks their content, not their mtime.)
$(STAMP): | $(BIN)/python
	$(call do_install,)
	@rm -f $(VENV)/.installed-*
	@touch $@

# The dev install is a superset, so it also marks the runtime install as done.
$(DEV_STAMP): | $(BIN)/python
	$(call do_install,[dev])
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP) $@

# torchvision (pulled by unstructured[pdf] -> unstructured-inference -> timm) breaks transformers with
# "operator torchvision::nms does not exist"; nvidia-* packages mean a CUDA torch came in.
check-deps: ## fail if torchvision, timm, nvidia-* packages or a torch other than 2.13.0 are in .venv
	@bad=$$($(PIP) list --format=freeze 2>/dev/null | cut -d= -f1 | tr 'A-Z_' 'a-z-' \
	        | grep -E '^(torchvision|timm|nvidia-.*)$$' || true); \
	if [ -n "$$bad" ]; then \
	  echo "ERROR: forbidden packages in $(VENV): $$bad" >&2; \
	  echo "       (torchvision/timm break transformers; nvidia-* means a CUDA torch). Run 'make distclean' and" >&2; \
	  echo "       find the dependency that pulls them in." >&2; \
	  exit 1; \
	fi; \
	$(BIN)/python -c "import torch, sys; v = torch.__version__; \
	  sys.exit(0 if v.startswith('2.13.0') else 'ERROR: torch ' + v + ' is not the pinned 2.13.0')"

ingest: $(STAMP) ## ingest data/ (or DATA=folder) into ./.whoknows
	$(BIN)/whoknows ingest $(DATA)

demo: $(STAMP) ## install, ingest the sample organisation in data/ and answer three sample questions
	$(BIN)/whoknows ingest data/
	$(BIN)/whoknows ask "How do I deploy a service to production?"
	$(BIN)/whoknows ask "Who knows about our Stripe webhooks?"
	$(BIN)/whoknows ask "What are the incident severity levels and who is the incident commander?"

# pytest exits 5 when it collects no test: not a failure of the build, so it is reported and passes.
test: $(DEV_STAMP) ## install with dev extras, run ruff and mypy, then pytest (PYTEST_ARGS="-k foo" to narrow)
	$(BIN)/ruff check .
	$(BIN)/mypy
	@rc=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5) - treated as success"; rc=0; fi; \
	exit $$rc

lint: $(DEV_STAMP) ## ruff check
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP) ## mypy
	$(BIN)/mypy

clean: ## remove the local store (.whoknows) and tool caches
	rm -rf .whoknows .pytest_cache .mypy_cache .ruff_cache build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV)
