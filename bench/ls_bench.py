"""``graphtui ls`` and ``verify`` of a 1,000,000-entry index (issue 17.3; ls goal < 2 s), side
by side with TF.

    .venv/bin/python bench/ls_bench.py [--count N] [--runs N] [--keep] [--against DIR]

Builds (once; kept with ``--keep``) a V2 checkpoint of ``--count`` scalar float32 tensors under
nested scopes with graphtui's BundleWriter, then runs, alternately: ``cat`` of the index (the
floor: reading the bytes), fresh ``graphtui ls`` and ``ls --json`` processes, graphtui's drop-in
``list_variables`` and TensorFlow's ``tf.train.list_variables`` on the same prefix (each in a
fresh process, the call timed inside it, imports apart); then ``cat`` of index and data, a fresh
``graphtui verify`` (every block's and every tensor's checksum) and TensorFlow's equivalent,
``tf.train.load_checkpoint`` + ``get_tensor`` of every tensor (TF's bundle reader checks each
tensor's crc32c as it reads it). ``--against DIR`` adds ``graphtui verify`` of another checkout
(``git archive COMMIT | tar -x -C DIR``), alternating with this one: the before/after pair.
Medians of wall time, CPU time (user + sys: the shared machine's load makes wall time mostly a
queue) and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sized

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import run  # noqa: E402 - bench/run.py: interleave, child_env, GRAPHTUI

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


def _measured(argv: list[str], root: str | None = None) -> run.Run:
    """A child's wall time, CPU time (user + sys) and peak RSS (``/usr/bin/time``), and the
    JSON its last stdout line holds, if any; ``root``: the checkout it imports graphtui from
    (its working directory too: ``python -m`` imports from there first)."""
    env = run.child_env()
    if root is not None:
        env["PYTHONPATH"] = root
    with tempfile.NamedTemporaryFile("r") as stats, tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [run.TIME, "-o", stats.name, "-f", "%U %S %M", *argv],
            stdout=out,
            stderr=subprocess.PIPE,  # TF's start-up lines; shown when a child fails
            env=env,
            cwd=root,
        )
        if proc.returncode:
            raise RuntimeError(f"{argv} failed: {proc.stderr.decode(errors='replace')[-2000:]}")
        seconds = time.perf_counter() - t0
        user, sys_, rss = stats.read().split()[-3:]
        out.seek(0)
        last = (out.read().strip().splitlines() or [b""])[-1].decode(errors="replace")
    inner = json.loads(last) if last.startswith("{") else {}
    return run.Run(seconds, int(rss), {"cpu": float(user) + float(sys_), **inner})


def _tf_read_all(prefix: str) -> list[str]:
    """TF's reader opened and every tensor read (each one's crc32c checked as it is read)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    names = list(reader.get_variable_to_shape_map())
    for name in names:
        reader.get_tensor(name)
    return names


def inner(which: str, prefix: str) -> None:
    """In a fresh child: import, then time one ``list_variables`` call, or TF's read of every
    tensor (wall and CPU)."""
    t0, c0 = time.perf_counter(), time.process_time()
    call: Callable[[str], Sized]
    if which == "tf":
        import tensorflow as tf

        call = tf.train.list_variables
    elif which == "tf-read":
        import tensorflow  # noqa: F401 - imported before the clock starts, as for the others

        call = _tf_read_all
    else:
        from graphtui import list_variables

        call = list_variables
    t1, c1 = time.perf_counter(), time.process_time()
    got = call(prefix)
    t2, c2 = time.perf_counter(), time.process_time()
    assert len(got) > 0
    print(json.dumps({"import": t1 - t0, "import_cpu": c1 - c0, "call": t2 - t1,
                      "call_cpu": c2 - c1, "count": len(got)}))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the built index")
    parser.add_argument(
        "--against", metavar="DIR", help="also verify with the checkout in DIR, alternately"
    )
    parser.add_argument("--inner", nargs=2, metavar=("WHICH", "PREFIX"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        inner(*args.inner)
        return 0
    prefix = os.path.join(DIR, f"n{args.count}", "model")
    if not os.path.exists(prefix + ".index"):
        t0 = time.perf_counter()
        build(prefix, args.count)
        print(f"built {args.count:,} entries in {time.perf_counter() - t0:.1f} s", flush=True)
    me = [sys.executable, os.path.abspath(__file__), "--inner"]
    verify = [sys.executable, "-m", "graphtui", "verify", "--quiet", prefix]
    files = [prefix + ".index", prefix + ".data-00000-of-00001"]
    jobs = {
        "cat index": lambda: _measured(["cat", prefix + ".index"]),
        "graphtui ls": lambda: _measured([run.GRAPHTUI, "ls", prefix]),
        "graphtui ls --json": lambda: _measured([run.GRAPHTUI, "ls", prefix, "--json"]),
        "graphtui list_variables": lambda: _measured([*me, "graphtui", prefix]),
        "TF tf.train.list_variables": lambda: _measured([*me, "tf", prefix]),
        "cat index + data": lambda: _measured(["cat", *files]),
        "graphtui verify": lambda: _measured(verify, run.ROOT),
        "TF load_checkpoint + get_tensor of every tensor": lambda: _measured(
            [*me, "tf-read", prefix]
        ),
    }
    if args.against:
        against = os.path.abspath(args.against)
        jobs[f"graphtui verify ({args.against})"] = lambda: _measured(verify, against)
    try:
        got = run.interleave(args.runs, jobs)
        size = os.path.getsize(prefix + ".index")
    finally:
        if not args.keep:
            shutil.rmtree(DIR, ignore_errors=True)
    print(f"\nindex {size / 2**20:.1f} MiB, load average {os.getloadavg()}")
    print("| figure | wall | CPU | peak RSS | the call alone (import apart) | goal |")
    print("|---|---|---|---|---|---|")
    for key, runs in got.items():
        wall = statistics.median(r.seconds for r in runs)
        cpu = statistics.median(float(r.out["cpu"]) for r in runs)
        rss = statistics.median(r.maxrss_kb for r in runs) / 1024
        call = ""
        if "call" in runs[0].out:
            call_wall = statistics.median(float(r.out["call"]) for r in runs)
            call_cpu = statistics.median(float(r.out["call_cpu"]) for r in runs)
            imp = statistics.median(float(r.out["import_cpu"]) for r in runs)
            call = f"{call_wall:.3f} s wall, {call_cpu:.3f} s CPU (import {imp:.3f} s CPU)"
        goal = ""
        if key.startswith("graphtui ls"):
            goal = "< 2 s: met" if cpu < 2 else "< 2 s: **NOT met**"
        print(f"| {key} | {wall:.3f} s | {cpu:.3f} s | {rss:.0f} MB | {call} | {goal} |")
    cpu_of = {k: statistics.median(float(r.out["cpu"]) for r in runs) for k, runs in got.items()}
    mine = cpu_of["graphtui verify"]
    print(
        f"\nverify, CPU of whole processes: TF's read of every tensor / graphtui verify = "
        f"{cpu_of['TF load_checkpoint + get_tensor of every tensor'] / mine:.1f}x; "
        f"graphtui verify / graphtui ls = {mine / cpu_of['graphtui ls']:.2f}"
        + (
            f"; {args.against} / this checkout = "
            f"{cpu_of[f'graphtui verify ({args.against})'] / mine:.1f}x"
            if args.against
            else ""
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
