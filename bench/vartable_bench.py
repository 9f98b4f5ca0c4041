"""Building the variable table as the app's warm-up does, in-process CPU time per part.

    .venv/bin/python bench/vartable_bench.py GRAPH.meta [--keep] [--runs N]

Opens ``GRAPH.meta`` (``GraphIndex.from_file``), runs the warm-up's steps before the table
(``tui/warm_up.steps``: consumers, the file's bytes let go, the natural order; ``--keep``: the
bytes kept in memory instead), then times with ``time.process_time`` the parts of
``VariableTable.of``: the collections map (``CollectionTable.keys_of``, which the table asks
first), the saver's entries, and the rest of the table (VariableDefs, dtype/shape of every
variable node read back, roles, rows). A fresh process per run (``--runs``), the collector off
as in the warm-up. Prints one line per run and the load average.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _one(path: str, keep: bool) -> str:
    from graphtui.core.collections import CollectionTable
    from graphtui.core.graph import GraphIndex
    from graphtui.core.variables import VariableTable, saver_info
    from graphtui.tui.warm_up import steps

    gc.disable()
    graph = GraphIndex.from_file(path)
    before = steps(graph)[:3]  # consumers, release, natural order (see warm_up.steps)
    for step in before:
        if keep and getattr(step, "__name__", "") == "release_node_bytes":
            continue
        step()
    parts = []
    t0 = t = time.process_time()
    for name, work in (
        ("collections map", lambda: CollectionTable.of(graph).keys_of("")),
        ("saver", lambda: saver_info(graph)),
        ("table", lambda: VariableTable.of(graph)),
    ):
        work()
        now = time.process_time()
        parts.append(f"{name} {now - t:.2f}")
        t = now
    count = len(VariableTable.of(graph))
    return f"{count} variables: total {t - t0:.2f} s CPU ({', '.join(parts)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("graph")
    parser.add_argument("--keep", action="store_true", help="keep the file's bytes in memory")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(_one(args.graph, args.keep))
        return
    print(f"{args.graph} ({'kept' if args.keep else 'released'}); load {os.getloadavg()}")
    for _ in range(args.runs):
        cmd = [sys.executable, __file__, args.graph, "--child"] + (["--keep"] if args.keep else [])
        print(" ", subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
