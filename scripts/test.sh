#!/usr/bin/env bash
# Set up a virtual environment with the dev extras and run the whole test suite.
# PostgreSQL tests start a throwaway server from the Debian binaries, and the dashboard's
# browser test drives Debian's Chromium (both installed here when running as root and
# missing); without them those tests skip with a loud reason.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] \
    && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) \
    || echo "warning: could not install postgresql; its tests will be skipped" >&2
fi
# The dashboard's browser test drives Debian's Chromium (Playwright never downloads one).
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: could not install chromium; the dashboard's browser test will be skipped" >&2
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[dev]"
export OMP_NUM_THREADS=1
exec .venv/bin/python -m pytest -q "$@"
