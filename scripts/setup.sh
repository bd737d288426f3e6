#!/usr/bin/env bash
# Set up a fresh checkout: a Python virtual environment with the app's and tests' packages, one
# for checkov, and the pinned CDK CLI from package-lock.json. Safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
# checkov apart: its pins (boto3, packaging) conflict with the app's and pytest's.
if [ ! -x .venv-checkov/bin/python ]; then
  python3 -m venv .venv-checkov
fi
if [ requirements-checkov.txt -nt .venv-checkov/installed ] || [ ! -f .venv-checkov/installed ]; then
  .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
  touch .venv-checkov/installed
fi
if [ ! -x node_modules/.bin/cdk ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
