#!/usr/bin/env bash
# The Python package's tests (tests/python/, pytest) against the library
# and program in BUILD (default build/). Skipped, saying so, only where
# Debian's python3-numpy is not installed; without python3-pytest they
# fail with the command that installs it.
set -u
py=${PYTHON:-/usr/bin/python3}
build=${BUILD:-build}
cd "$(dirname "$0")/.."
if ! "$py" -c 'import numpy' 2>/dev/null; then
    echo "python: SKIPPED the Python tests: $py has no numpy (apt-get install python3-numpy python3-pytest)"
    exit 0
fi
if ! "$py" -c 'import pytest' 2>/dev/null; then
    echo "python: $py has numpy but no pytest: apt-get install python3-pytest" >&2
    exit 1
fi
SSVAE_BIN="$build/ssvae" PYTHONPATH=python PYTHONDONTWRITEBYTECODE=1 \
    "$py" -m pytest -q -p no:cacheprovider tests/python
