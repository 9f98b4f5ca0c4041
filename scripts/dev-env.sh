#!/usr/bin/env bash
# Create (or reuse) .venv and install graphtui into it. Usage: scripts/dev-env.sh [app|test]
# "test" adds the test extra, the dev tools and tensorflow-cpu (for interop tests) and tmux.
# Quiet: one line while it sets up; pip's output goes to $VENV/setup.log, shown only on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${GRAPHTUI_VENV:-.venv}
stamp="$VENV/.graphtui-installed-$1"
fresh() {  # the stamp is newer than everything the install step builds from
    local f
    for f in pyproject.toml setup.py graphtui/formats/_wirescan.c; do
        [ "$f" -nt "$stamp" ] && return 1
    done
    return 0
}
if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && fresh; then
    exit 0
fi
log="$VENV/setup.log"
what="graphtui"
[ "$1" = test ] && what="graphtui, its test tools and TensorFlow"
echo "graphtui: setting up $VENV ($what; first run only; log: $log)" >&2
setup() {  # runs where `set -e` does not apply (inside `if !`): every step says `|| return 1`
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV" || return 1
    fi
    "$VENV/bin/python" -m pip install --upgrade pip || return 1
    if [ "$1" = test ]; then
        "$VENV/bin/python" -m pip install -e '.[test,dev]' 'tensorflow-cpu==2.21.0' || return 1
        # the oldest protobuf runtime we declare, for the test that loads our descriptors on it
        "$VENV/bin/python" -m pip install --no-deps --target "$VENV/protobuf-floor" \
            'protobuf==5.26.0' || return 1
        if ! command -v tmux >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            (apt-get update -qq && apt-get install -y -qq tmux) || echo "note: could not install tmux; the tmux test will skip"
        fi
    else
        "$VENV/bin/python" -m pip install -e . || return 1
    fi
}
mkdir -p "$VENV"
if ! (setup "$1") >"$log" 2>&1; then
    cat "$log" >&2
    echo "graphtui: setup failed (the log above is in $log)" >&2
    exit 1
fi
grep -h "^note:" "$log" >&2 || true
touch "$stamp"
