#!/usr/bin/env bash
# The test command: set up if needed, then lint, check formatting, the import contracts and types,
# and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# Each pytest worker imports every test module to collect it, rewriting its asserts: with bytecode
# caching off (PYTHONDONTWRITEBYTECODE, set on some machines) that is ~4 s a worker on every run.
# The caches go to __pycache__ folders, which git ignores.
unset PYTHONDONTWRITEBYTECODE
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache   # the layers (pyproject.toml, docs/architecture.md)
.venv/bin/mypy                      # types of the packages that need no CDK
# One worker per core, taking whole modules, and the modules that share the session's apps together
# (their fixtures are built once), the slow end-to-end modules first (tests/conftest.py).
# `-n 0` runs serially; `-m e2e` runs the slow ones alone.
.venv/bin/python -m pytest -n auto --no-loadscope-reorder "$@"
