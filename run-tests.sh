#!/usr/bin/env bash
# Runs lakecart's test suite (and the linter). Creates .venv on first use.
#   ./run-tests.sh                 everything (lint, chromium on first use, pytest)
#   ./run-tests.sh -m "not slow"   skip the whole-dataset and cluster tests
#   ./run-tests.sh tests/test_clean.py -k orders   any pytest arguments
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/scripts/ensure-venv.sh"
cd "$HERE"
export PYARROW_IGNORE_TIMEZONE=1
"$VENV/bin/ruff" check lib jobs tests bench notebooks
"$VENV/bin/ruff" format --check lib jobs tests bench notebooks
# the report's browser test needs Debian's chromium (installed on first use when root)
bash "$HERE/scripts/ensure-chromium.sh"
set +e
"$PY" -m pytest "$@"
rc=$?
set -e
[[ $rc -eq 5 ]] && { echo "no tests were collected" >&2; exit 1; }
exit $rc
