#!/usr/bin/env bash
# Run the whole test suite: lint, types, unit, interop with real TensorFlow, TUI (pilot,
# snapshots, tmux). Sets everything up on first use. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/dev-env.sh test
V="${GRAPHTUI_VENV:-.venv}"
"$V/bin/ruff" check .
"$V/bin/mypy"
"$V/bin/python" -m vulture  # dead code (pyproject [tool.vulture], vulture_whitelist.py)
export TF_CPP_MIN_LOG_LEVEL=2
export GRAPHTUI_PROTOBUF_FLOOR="$PWD/$V/protobuf-floor"
exec "$V/bin/python" -m pytest -q "$@"
