#!/usr/bin/env bash
# Run the whole test suite: lint, types, unit, interop with real TensorFlow, TUI (pilot,
# snapshots, tmux). Sets everything up on first use. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/dev-env.sh test
V="${GRAPHTUI_VENV:-.venv}"
"$V/bin/ruff" check .
"$V/bin/mypy"
# dead code in graphtui/ (a name used only by tests counts as used; see vulture_whitelist.py)
dead="$("$V/bin/python" -m vulture | grep '^graphtui/' || true)"
if [ -n "$dead" ]; then printf '%s\n' "$dead"; echo "dead code (or add it to vulture_whitelist.py)" >&2; exit 1; fi
export TF_CPP_MIN_LOG_LEVEL=2
export GRAPHTUI_PROTOBUF_FLOOR="$PWD/$V/protobuf-floor"
exec "$V/bin/python" -m pytest -q "$@"
