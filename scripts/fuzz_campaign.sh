#!/usr/bin/env bash
# The long fuzz campaign (tests/FUZZING.md): every target of tests/unit/test_fuzz.py with
# GRAPHTUI_FUZZ_EXAMPLES random examples each (the file readers at most READERS, a few slow
# targets capped in the test file), in three processes, and the app's start-up key storm
# (about a second of CPU an example) in a fourth with STORM examples (0: not run; run it on
# its own at normal priority: at nice 19 on a busy machine the pilot's own 30 s wait for the
# app to start times out). Not part of CI: it takes about an hour on 2 busy cores. Run it at
# low priority on a shared machine (nice -n 19 scripts/fuzz_campaign.sh).
#
#   scripts/fuzz_campaign.sh [EXAMPLES_PER_TARGET] [LOG_DIR] [STORM] [READERS]
#                                             (defaults: 21000, ./fuzz-logs, 400, 8000)
#
# Each process writes its pytest log with --hypothesis-show-statistics; the summary at the end
# counts the examples hypothesis ran (passing + failing) and the failures.
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES="${1:-21000}"
LOGS="${2:-fuzz-logs}"
export GRAPHTUI_FUZZ_STORM_EXAMPLES="${3:-400}" GRAPHTUI_FUZZ_READER_EXAMPLES="${4:-8000}"
mkdir -p "$LOGS"
PY="${PYTHON:-.venv/bin/python}"
export GRAPHTUI_FUZZ_EXAMPLES="$EXAMPLES" TF_CPP_MIN_LOG_LEVEL=2
# the file readers (slow examples, capped at READER_CAP in the test file) in two processes,
# everything else in a third, the key storm in a fourth
READERS="bundle or sliced_tensor or listing or sstable or v1 or meta_graph or table_scan"
SETS=(
    "bundle or sliced_tensor or listing"
    "sstable or v1 or meta_graph or table_scan"
    "not ($READERS or key_storm)"
)
if [ "$GRAPHTUI_FUZZ_STORM_EXAMPLES" != 0 ]; then SETS+=("key_storm"); fi
start=$(date +%s)
pids=()
for i in "${!SETS[@]}"; do
    "$PY" -m pytest -q -p no:randomly -p no:cacheprovider tests/unit/test_fuzz.py \
        -k "${SETS[$i]}" --hypothesis-show-statistics >"$LOGS/group$i.log" 2>&1 &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || status=1
done
end=$(date +%s)
"$PY" - "$LOGS" $((end - start)) <<'PY'
import re, sys
from pathlib import Path

logs, seconds = Path(sys.argv[1]), int(sys.argv[2])
total = failing = 0
for log in sorted(logs.glob("*.log")):
    text = log.read_text(errors="replace")
    for target, passing, failed in re.findall(
        r"tests/unit/test_fuzz.py::(\w+):\n\n  - during generate phase.*?- (\d+) passing, (\d+) failing",
        text, flags=re.S,
    ):
        print(f"{log.stem:8} {target:58} {passing:>7} passing {failed:>3} failing")
        total += int(passing) + int(failed)
        failing += int(failed)
    print(f"{log.stem}: {text.strip().splitlines()[-1]}")
print(f"total examples {total:,}, failing {failing}, wall time {seconds // 60} min {seconds % 60} s")
PY
exit $status
