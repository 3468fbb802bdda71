#!/usr/bin/env bash
# Sets up everything civicgrid needs on a fresh machine: a pinned uv in .tools/, then
# the locked Python environment in .venv/. Idempotent; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION="0.13.9"
export UV_PYTHON_DOWNLOADS=never   # use the machine's Python; never fetch one

find_python() {
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}

PYTHON="$(find_python)" || {
    echo "civicgrid needs Python 3.11 or newer: install it (e.g. apt-get install python3) and retry." >&2
    exit 1
}

if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
    echo "==> installing uv $UV_VERSION into .tools/"
    if ! "$PYTHON" -m venv .tools 2>/dev/null; then
        echo "Python's venv module is missing: apt-get install python3-venv, then retry." >&2
        exit 1
    fi
    .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

echo "==> syncing the Python environment (.venv) from uv.lock"
.tools/bin/uv sync --frozen --python "$PYTHON"
if command -v npm >/dev/null 2>&1; then
    echo "==> installing the dashboard's ECharts (npm ci in services/analytics)"
    npm ci --prefix services/analytics --no-audit --no-fund --loglevel=error
else
    echo "npm is missing: the dashboard will have no charts (apt-get install npm, then make setup)" >&2
fi
touch .venv/.synced
