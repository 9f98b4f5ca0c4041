"""The app on a 1,000,000-node meta graph: time to the first screen and peak memory.

Each run is a fresh process (imports count), headless (``App.run_test``, 120x40): from the
first import to the first frame painted (Textual's ``on_ready``), split into importing the
app, ``open_workspace`` (read + scan + index the graph) and mounting; the peak resident set
(``VmHWM``) at the first frame, and again once the app's warm-up workers are done (they build
the search, consumer and variable indexes, which decodes every node). TensorFlow's
``read_meta_graph_file`` of the same file runs in the same loop, interleaved, for scale.

    .venv/bin/python bench/big_graph_app.py [--runs 3] [--nodes 1000000] [--write bench/TUI_RESULTS.md]

The graph is bench/data/graphs/huge.meta when `bench/run.py --keep` left one of the right
size, else one built by bench/_build.py in a temporary directory. Goals (issue 17.1): first
screen < 1 s, peak RSS < 3x the file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
START = "<!-- big graph app (bench/big_graph_app.py): start -->"
END = "<!-- big graph app: end -->"

CHILD = r"""
import time
t0 = time.perf_counter()
import asyncio, json, sys
from graphtui.tui.app import GraphtuiApp
from graphtui.core.workspace import open_workspace
t_import = time.perf_counter()

def hwm_kb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

ws = open_workspace(sys.argv[1])
t_open = time.perf_counter()
out = {"import": t_import - t0, "open": t_open - t_import, "open_hwm_kb": hwm_kb()}

class BenchApp(GraphtuiApp):
    def on_ready(self) -> None:  # Textual: "the first frame has been displayed"
        out.setdefault("first_screen", time.perf_counter() - t0)
        out.setdefault("first_cpu", time.process_time())  # since the process started
        out.setdefault("first_hwm_kb", hwm_kb())

async def main():
    app = BenchApp(ws)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        out["warm"] = time.perf_counter() - t0
        out["warm_hwm_kb"] = hwm_kb()

asyncio.run(main())
out["mount"] = out["first_screen"] - (t_open - t0)
print(json.dumps(out))
"""


def graph_path(nodes: int, tmp: str) -> tuple[str, float]:
    """The benchmark graph of ``nodes`` nodes and how long building it took (0: reused)."""
    kept = BENCH / "data" / "graphs" / "huge.meta"
    stamp = BENCH / "data" / "stamp.json"
    if (
        kept.is_file()
        and stamp.is_file()
        and json.loads(stamp.read_text()).get("huge_nodes") == nodes
    ):
        return str(kept), 0.0
    sys.path.insert(0, str(BENCH))
    import _build

    path = os.path.join(tmp, "huge.meta")
    t0 = time.perf_counter()
    _build.build_graph(path, nodes)
    return path, time.perf_counter() - t0


def child_env() -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    env.pop("OPENBLAS_CORETYPE", None)
    return env


def _child_figures(args: list[str]) -> dict[str, float]:
    """Run a fresh Python with ``args``; its last line of output is the figures as JSON."""
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_app(path: str) -> dict[str, float]:
    return _child_figures(["-c", CHILD, path])


def run_tf(path: str) -> dict[str, float]:
    return _child_figures([str(BENCH / "_child.py"), "tf_meta", path])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--write", metavar="FILE", help="put the results in this Markdown file")
    parser.add_argument(
        "--graph", help="an existing .meta of --nodes nodes built by bench/_build.py"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graphtui-big-graph-") as tmp:
        path, build_s = (args.graph, 0.0) if args.graph else graph_path(args.nodes, tmp)
        size = os.path.getsize(path)
        with open(path, "rb") as fh:  # into the page cache, as a second open would find it
            while fh.read(1 << 24):
                pass
        load_start = os.getloadavg()[0]
        apps, tfs = [], []
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs} ...", flush=True)
            apps.append(run_app(path))
            tfs.append(run_tf(path))
        load_end = os.getloadavg()[0]

    def med(key: str) -> float:
        return statistics.median(float(r[key]) for r in apps)

    def mib(kb: float) -> float:
        return kb / 1024

    first, first_mib = med("first_screen"), mib(med("first_hwm_kb"))
    warm_mib = mib(med("warm_hwm_kb"))
    tf_s = statistics.median(float(r["seconds"]) for r in tfs)
    tf_mib = statistics.median(float(r["maxrss_kb"]) for r in tfs) / 1024
    file_mib = size / (1 << 20)
    rows = [
        ("graph", f"{args.nodes:,} nodes, {file_mib:.0f} MiB (bench/_build.py)"),
        ("import graphtui.tui.app", f"{med('import'):.3f} s"),
        ("open_workspace (read + scan + index the graph)", f"{med('open'):.3f} s"),
        ("mount to first frame", f"{med('mount'):.3f} s"),
        (
            "**time to first screen** (from the first import; goal < 1 s)",
            f"**{first:.3f} s** ({'met' if first < 1.0 else 'not met'})",
        ),
        (
            "CPU time of the process at the first screen (what an idle core would take)",
            f"{med('first_cpu'):.3f} s",
        ),
        (
            "**peak RSS at the first screen** (goal < 3x the file)",
            f"**{first_mib:.0f} MiB = {first_mib / file_mib:.2f}x the file** "
            f"({'met' if first_mib < 3 * file_mib else 'not met'})",
        ),
        (
            "warm-up workers done (every node decoded, search/consumer/variable indexes)",
            f"{med('warm'):.3f} s",
        ),
        (
            "peak RSS once the warm-up is done",
            f"{warm_mib:.0f} MiB = {warm_mib / file_mib:.2f}x the file "
            f"({'under' if warm_mib < 3 * file_mib else 'over'} 3x)",
        ),
        (
            "TF `read_meta_graph_file` of the same file, same loop (imports excluded)",
            f"{tf_s:.3f} s, peak RSS {tf_mib:.0f} MiB",
        ),
    ]
    text = "\n".join(
        [
            f"## The app on a {args.nodes:,}-node graph (issue 17.1)",
            "",
            f"Command: `.venv/bin/python bench/big_graph_app.py --runs {args.runs} --write "
            f"{args.write or 'FILE'}`. Machine: {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {load_start:.2f} at the start, "
            f"{load_end:.2f} at the end; {args.runs} fresh processes each, medians"
            + (
                f"; graph built in {build_s:.1f} s."
                if build_s
                else "; graph reused from bench/data."
            ),
            "",
            "| figure | value |",
            "|---|---|",
            *[f"| {a} | {b} |" for a, b in rows],
            "",
        ]
    )
    print(text)
    if args.write:
        target = Path(args.write)
        old = target.read_text() if target.is_file() else ""
        if START in old and END in old:
            head, rest = old.split(START, 1)
            old = head.rstrip("\n") + "\n" + rest.split(END, 1)[1]
        target.write_text(old.rstrip("\n") + "\n\n" + START + "\n" + text + END + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
