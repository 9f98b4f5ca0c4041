#!/usr/bin/env bash
# Run the app: ./run.sh [PATH]   (no PATH: the bundled demo). Sets everything up on first use.
# Any graphtui command works too: ./run.sh ls model.ckpt-50
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/scripts/dev-env.sh" app
exec "$here/${GRAPHTUI_VENV:-.venv}/bin/graphtui" "$@"
