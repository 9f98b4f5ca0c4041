"""``graphtui ls`` of a 1,000,000-entry index (issue 17.3; goal < 2 s).

    .venv/bin/python bench/ls_bench.py [--count N] [--runs N] [--keep]

Builds (once; kept with ``--keep``) a V2 checkpoint of ``--count`` scalar float32 tensors under
nested scopes with graphtui's BundleWriter, then times fresh ``graphtui ls`` and ``ls --json``
processes, run alternately with ``cat`` of the index (the floor: reading the bytes), medians of
wall time and CPU time (user + sys; the shared machine's load makes wall time mostly a queue).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import run  # noqa: E402 - bench/run.py: interleave, child_env, GRAPHTUI
from history_bench import _timed  # noqa: E402 - wall + CPU time of a child

DIR = os.path.join(run.DATA, "ls_index")


def build(prefix: str, count: int) -> None:
    import numpy as np

    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    value = np.zeros((), np.float32)
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for i in range(count):
            writer.add(f"layer_{i // 1000:04d}/block_{(i // 10) % 100:02d}/var_{i % 10}", value)
        writer.finish()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the built index")
    args = parser.parse_args()
    prefix = os.path.join(DIR, f"n{args.count}", "model")
    if not os.path.exists(prefix + ".index"):
        t0 = time.perf_counter()
        build(prefix, args.count)
        print(f"built {args.count:,} entries in {time.perf_counter() - t0:.1f} s", flush=True)
    try:
        got = run.interleave(
            args.runs,
            {
                "cat index": lambda: _timed(["cat", prefix + ".index"]),
                "graphtui ls": lambda: _timed([run.GRAPHTUI, "ls", prefix]),
                "graphtui ls --json": lambda: _timed([run.GRAPHTUI, "ls", prefix, "--json"]),
            },
        )
    finally:
        if not args.keep:
            shutil.rmtree(DIR, ignore_errors=True)
    size = os.path.getsize(prefix + ".index") if args.keep else 0
    print(f"\nindex {size / 2**20:.1f} MiB, load average {os.getloadavg()[0]:.1f}")
    for key, runs in got.items():
        wall = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(float(r.out["cpu"]) for r in runs)
        met = "" if key == "cat index" else (" met" if cpu < 2 else " NOT met (goal < 2 s)")
        print(f"| {key} | {wall:.3f} s wall | {cpu:.3f} s CPU |{met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
