#!/usr/bin/env bash
# Create (or reuse) .venv and install graphtui into it. Usage: scripts/dev-env.sh [app|test]
# "test" adds the test extra, the dev tools and tensorflow-cpu (for interop tests) and tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${GRAPHTUI_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.graphtui-installed-$1"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip
    if [ "$1" = test ]; then
        "$VENV/bin/python" -m pip install -q -e '.[test,dev]' 'tensorflow-cpu==2.21.0'
        # the oldest protobuf runtime we declare, for the test that loads our descriptors on it
        "$VENV/bin/python" -m pip install -q --no-deps --target "$VENV/protobuf-floor" 'protobuf==5.26.0'
        if ! command -v tmux >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            (apt-get update -qq && apt-get install -y -qq tmux) >/dev/null 2>&1 || echo "note: could not install tmux; the tmux test will skip" >&2
        fi
    else
        "$VENV/bin/python" -m pip install -q -e .
    fi
    touch "$stamp"
fi
