#!/usr/bin/env bash
# The test command: set up if needed, then lint, check formatting, the import contracts and types,
# and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache   # the layers (pyproject.toml, docs/architecture.md)
.venv/bin/mypy                      # types of the packages that need no CDK
# One worker per core, each taking whole modules (their shared fixtures are built once), the slow
# end-to-end modules first (tests/conftest.py). `-n 0` runs serially; `-m e2e` the slow ones alone.
.venv/bin/python -m pytest -n auto --dist loadfile --no-loadscope-reorder "$@"
