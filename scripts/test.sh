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
.venv/bin/python -m pytest "$@"
