#!/usr/bin/env bash
# Installs couponctl into ./.venv, then plans and applies manifests/ against the embedded sandbox
# (state in state/couponctl.db, sandbox data in state/sandbox/), then checks that a second plan is a no-op and
# that upstream has not drifted. No credentials needed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
.venv/bin/couponctl validate manifests/
.venv/bin/couponctl plan --out state/demo.plan
.venv/bin/couponctl apply state/demo.plan
.venv/bin/couponctl plan --detailed-exitcode
.venv/bin/couponctl drift
