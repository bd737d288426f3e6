#!/usr/bin/env bash
# Set up a fresh checkout: a Python virtual environment with the app's and tests' packages, one
# for checkov, and the pinned CDK CLI from package-lock.json. Safe to run again (it only adds what is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
# pip takes ~15 s even when everything is installed: skip it while the requirements and the
# packages' declarations are what was last installed.
wanted=$(cat requirements.txt requirements-dev.txt pyproject.toml client/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/installed 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" > .venv/installed
fi
# checkov apart: its pins (boto3, packaging) conflict with the app's and pytest's.
if [ ! -x .venv-checkov/bin/python ]; then
  python3 -m venv .venv-checkov
fi
if [ requirements-checkov.txt -nt .venv-checkov/installed ] || [ ! -f .venv-checkov/installed ]; then
  .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
  touch .venv-checkov/installed
fi
node_major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
if [ "$node_major" -lt 22 ]; then
  # The CDK supports Node 22 and 24; jsii's 11-line end-of-life banner is silenced in cdk.json
  # and scripts/test.sh, so this is the one place it is said.
  echo "note: Node $(node --version) is past its end of life; the AWS CDK supports Node 22 and 24: upgrade when you can" >&2
fi
if [ ! -x node_modules/.bin/cdk ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
