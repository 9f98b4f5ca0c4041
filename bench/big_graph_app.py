"""The app on a 1,000,000-node meta graph: time to the first screen and peak memory.

What the user runs: ``graphtui PATH`` started in a pseudo-terminal (120x40, ``TERM=xterm-256color``)
as a fresh process, with compiled bytecode as an installed graphtui has (a private
``PYTHONPYCACHEPREFIX`` filled by one run before the measured ones). The clock starts before the
fork; the first screen is the first time the terminal has received the graph tree's root listing
(the ``model/`` scope of bench/_build.py's graph, with the tabs); the warm-up is done when the
tree shows parameter counts (the app's index-building workers have finished: search, consumers,
variables). Peak RSS is the process's ``VmHWM``, read at the first screen and again once the warm-up
is done, just before ``q`` quits it: the peak over the whole run.

A third fresh process per run (headless) expands the graph's biggest flat scope, ``save/``
(166,670 children), once its warm-up is done: the first screenful, the chunks the tree adds on
its own after it, and the chunk an End key (the "more" row scrolled into view) adds.

A second fresh process per run says where the time goes, one step after another, headless
(``App.run_test``): importing the app, ``open_workspace`` (read + scan + index the graph) and
mounting to the first frame (Textual's ``on_ready``); it exits at the first frame. ``graphtui
PATH`` itself overlaps the opening with the imports (``graphtui/tui/launch.py``), so its first
screen can come before the sum of the three. TensorFlow's ``read_meta_graph_file`` of the same
file runs in the same loop, interleaved, for scale.

    .venv/bin/python bench/big_graph_app.py [--runs 3] [--nodes 1000000] [--graph FILE]
        [--write bench/TUI_RESULTS.md]

The graph is --graph, else bench/data/graphs/huge.meta when `bench/run.py --keep` left one of
the right size, else one built by bench/_build.py in a temporary directory. Goals (issue 17.1):
first screen < 1 s, peak RSS < 3x the file's size. --write replaces only the generated block
between its markers in FILE (the notes around it are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import pty
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
START = "<!-- big graph app (bench/big_graph_app.py): start -->"
END = "<!-- big graph app: end -->"
SECTION = "## The app on a 1,000,000-node graph (issue 17.1)"
COLUMNS, LINES = 120, 40
FIRST_SCREEN = (b"1 Graph", b"model/")  # the tabs and the root listing's first scope
WARM = b" params"  # the tree's scopes with their parameter counts: the indexes are built
ESCAPE = re.compile(
    rb"\x1b(\[[0-9;?<>=$]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|.)"
)

BREAKDOWN = r"""
import time
t0 = time.perf_counter()
import asyncio, json, os, sys
from graphtui.tui.app import GraphtuiApp
from graphtui.core.workspace import open_workspace
t_import = time.perf_counter()
ws = open_workspace(sys.argv[1])
t_open = time.perf_counter()
out = {"import": t_import - t0, "open": t_open - t_import}

class BenchApp(GraphtuiApp):
    def on_ready(self) -> None:  # Textual: "the first frame has been displayed"
        out["first_screen"] = time.perf_counter() - t0
        out["mount"] = out["first_screen"] - (t_open - t0)
        print(json.dumps(out), flush=True)
        os._exit(0)  # the warm-up is measured in the terminal run

async def main():
    async with BenchApp(ws).run_test(size=(120, 40)) as pilot:
        await pilot.pause(30)

asyncio.run(main())
"""

# expanding the graph's biggest flat scope (bench/_build.py's ``save/``: 166,670 children) once
# the warm-up is done, headless: the first screenful, then each later chunk the tree adds on
# its own (a UI-thread step each) until it waits for the user to scroll
EXPAND = r"""
import asyncio, json, sys, time
from graphtui.tui.app import GraphtuiApp
from graphtui.tui.widgets import lazy_tree
from graphtui.core.workspace import open_workspace
ws = open_workspace(sys.argv[1])
steps = []
load_more = lazy_tree.LazyTree._load_more

def timed(self, *args, **kwargs):
    t = time.perf_counter()
    load_more(self, *args, **kwargs)
    steps.append(time.perf_counter() - t)

lazy_tree.LazyTree._load_more = timed

async def main():
    async with GraphtuiApp(ws).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        tree = pilot.app.workspace.graph_pane.node_tree
        save = next(n for n in tree.root.children if n.data and n.data.path == "save")
        tree.move_cursor(save)
        await pilot.pause()
        t, cpu = time.perf_counter(), time.process_time()
        tree.fill(save)
        save.expand()
        _ = tree.last_line
        out = {"first": time.perf_counter() - t, "first_cpu": time.process_time() - cpu,
               "children": len(tree.items_of(save))}
        steps.clear()
        t = time.perf_counter()
        while len(steps) < 100 and time.perf_counter() - t < 30:
            await pilot.pause(0.05)
            if tree._loading[save.id].parked:
                break
        out["auto_loaded"] = tree._loading[save.id].done
        out["chunk_max"] = max(steps, default=0.0)
        steps.clear()
        t = time.perf_counter()
        await pilot.press("end")
        while not steps and time.perf_counter() - t < 10:
            await pilot.pause(0.01)
        out["scrolled_chunk"] = max(steps, default=0.0)
        out["scrolled_loaded"] = tree._loading[save.id].done
        print(json.dumps(out), flush=True)
        await pilot.press("q")

asyncio.run(main())
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


def child_env(pycache: str) -> dict[str, str]:
    """The children's environment: this checkout's graphtui, compiled bytecode kept in
    ``pycache`` (as an installed graphtui has it), TensorFlow quiet."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    env["PYTHONPYCACHEPREFIX"] = pycache
    for name in ("OPENBLAS_CORETYPE", "PYTHONDONTWRITEBYTECODE", "TEXTUAL_ANIMATIONS"):
        env.pop(name, None)
    return env


def prepared_env(path: str, tmp: str) -> dict[str, str]:
    """:func:`child_env` with its bytecode under ``tmp`` compiled, and ``path`` read into the
    page cache (as a second open would find it): what every measured run starts from."""
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass
    env = child_env(os.path.join(tmp, "pycache"))
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import graphtui.cli, graphtui.tui.app; graphtui.cli._load_commands()",
        ],
        check=True,
        env=env,
        cwd=ROOT,
    )
    return env


def _child_figures(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run a fresh Python with ``args``; its last line of output is the figures as JSON."""
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env=env, cwd=ROOT
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_breakdown(path: str, env: dict[str, str]) -> dict[str, float]:
    return _child_figures(["-c", BREAKDOWN, path], env)


def run_expand(path: str, env: dict[str, str]) -> dict[str, float]:
    return _child_figures(["-c", EXPAND, path], env)


def run_tf(path: str, env: dict[str, str]) -> dict[str, float]:
    return _child_figures([str(BENCH / "_child.py"), "tf_meta", path], env)


def graphtui_command() -> list[str]:
    """``graphtui`` as installed beside this Python, else ``python -m graphtui``."""
    script = Path(sys.executable).with_name("graphtui")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "graphtui"]


def _proc(pid: int) -> tuple[float, int]:
    """CPU seconds (every thread) and ``VmHWM`` (KiB) of process ``pid``."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as fh:
        hwm = next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0)
    return cpu, hwm


# the app as before tui/launch.py, through the same command-line steps as ``graphtui PATH``
# (the commands registered, the arguments parsed, the path located), then the app imported and
# then the workspace opened: no overlap
SEQUENTIAL = [
    sys.executable,
    "-c",
    "import sys\n"
    "from graphtui import cli\n"
    "from graphtui.core.locate import locate\n"
    "cli._load_commands()\n"
    "path = cli.build_parser()[1].parse_args(sys.argv[1:]).path\n"
    "assert locate(path).found\n"
    "from graphtui.tui.app import run_app\n"
    "sys.exit(run_app(path))\n",
]


def run_terminal(
    path: str,
    env: dict[str, str],
    command: list[str] | None = None,
    *,
    warm: bool = True,
    timeout: float = 600.0,
) -> dict[str, float]:
    """``graphtui PATH`` (or ``command PATH``) in a pseudo-terminal: the first screen, the
    warm-up (unless ``warm`` is False: it quits at the first screen), peak RSS."""
    command = command or graphtui_command()
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of COLUMNS x LINES, then the user's command
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
            os.chdir(ROOT)
            os.execve(command[0], [*command, path], dict(env, TERM="xterm-256color"))
        finally:
            os._exit(127)
    out: dict[str, float] = {}
    seen = b""  # the text received (escape sequences removed), until the warm-up is seen
    try:
        while "warm" not in out and (warm or "first_screen" not in out):
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(
                    f"graphtui {path}: no {'first screen' if not out else 'warm-up'} in {timeout:.0f} s"
                )
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                data = os.read(fd, 1 << 16)
            except OSError:  # the app ended
                raise RuntimeError(
                    f"graphtui {path} exited before the figures were taken"
                ) from None
            now = time.perf_counter() - t0
            # whole until the first screen (a frame comes in several reads), then a tail
            seen = (seen if "first_screen" not in out else seen[-256:]) + ESCAPE.sub(b"", data)
            if "first_screen" not in out and all(m in seen for m in FIRST_SCREEN):
                cpu, hwm = _proc(pid)
                out.update(first_screen=now, first_cpu=cpu, first_hwm_kb=hwm)
                seen = b""
            elif "first_screen" in out and WARM in seen:
                out["warm"] = now
        if warm:
            time.sleep(0.5)  # whatever the app does once the indexes are built (a gc pass)
            out["warm_cpu"], out["peak_hwm_kb"] = _proc(pid)
    finally:
        with contextlib.suppress(OSError):
            os.write(fd, b"q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if select.select([fd], [], [], 0.2)[0]:
                    os.read(fd, 1 << 16)  # drain: the app must not block on its output
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--write", metavar="FILE", help="put the results in this Markdown file")
    parser.add_argument(
        "--graph", help="an existing .meta of --nodes nodes built by bench/_build.py"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=5,
        help="more first screens (no warm-up), with and without the overlap, alternating",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graphtui-big-graph-") as tmp:
        path, build_s = (args.graph, 0.0) if args.graph else graph_path(args.nodes, tmp)
        size = os.path.getsize(path)
        env = prepared_env(path, tmp)
        load_start = os.getloadavg()[0]
        terms, seqs, parts, tfs = [], [], [], []
        expands: list[dict[str, float]] = []
        for i in range(args.runs):
            print(f"run {i + 1}/{args.runs} ...", flush=True)
            terms.append(run_terminal(path, env))
            seqs.append(run_terminal(path, env, SEQUENTIAL, warm=False))
            parts.append(run_breakdown(path, env))
            tfs.append(run_tf(path, env))
            expands.append(run_expand(path, env))
            print(
                json.dumps({"graphtui": terms[-1], "sequential": seqs[-1], "breakdown": parts[-1]}),
                flush=True,
            )
        for i in range(args.pairs):
            print(f"pair {i + 1}/{args.pairs} ...", flush=True)
            terms.append(run_terminal(path, env, warm=False))
            seqs.append(run_terminal(path, env, SEQUENTIAL, warm=False))
        load_end = os.getloadavg()[0]

    def med(runs: list[dict[str, float]], key: str) -> float:
        return statistics.median(float(r[key]) for r in runs if key in r)

    file_mib = size / (1 << 20)
    first = med(terms, "first_screen")
    first_mib = med(terms, "first_hwm_kb") / 1024
    peak_mib = med(terms, "peak_hwm_kb") / 1024
    tf_s = med(tfs, "seconds")
    tf_mib = med(tfs, "maxrss_kb") / 1024

    def met(ok: bool) -> str:
        return "met" if ok else "not met"

    rows = [
        ("graph", f"{args.nodes:,} nodes, {file_mib:.0f} MiB (bench/_build.py)"),
        (
            "**`graphtui PATH` to the first screen** in a terminal (from the fork; goal < 1 s)",
            f"**{first:.3f} s** ({met(first < 1.0)}); runs "
            + ", ".join(f"{r['first_screen']:.3f}" for r in terms),
        ),
        (
            "the same without the overlap (the app imported, then the graph opened), "
            "alternating with the above",
            f"{med(seqs, 'first_screen'):.3f} s; runs "
            + ", ".join(f"{r['first_screen']:.3f}" for r in seqs),
        ),
        (
            "CPU time of the process at the first screen (every thread), with / without the "
            "overlap",
            f"{med(terms, 'first_cpu'):.2f} s / {med(seqs, 'first_cpu'):.2f} s",
        ),
        (
            "peak RSS at the first screen",
            f"{first_mib:.0f} MiB = {first_mib / file_mib:.2f}x the file",
        ),
        (
            "warm-up done (the tree shows parameter counts: the search, consumer and variable "
            "indexes built)",
            f"{med(terms, 'warm'):.2f} s, CPU {med(terms, 'warm_cpu'):.2f} s",
        ),
        (
            "**peak RSS over the whole run** (warm-up included; goal < 3x the file)",
            f"**{peak_mib:.0f} MiB = {peak_mib / file_mib:.2f}x the file** ({met(peak_mib < 3 * file_mib)})",
        ),
        (
            "breakdown, headless, one step after another: import graphtui.tui.app",
            f"{med(parts, 'import'):.3f} s",
        ),
        (
            "breakdown: open_workspace (read + scan + index the graph)",
            f"{med(parts, 'open'):.3f} s",
        ),
        (
            "breakdown: mount to the first frame (Textual's on_ready)",
            f"{med(parts, 'mount'):.3f} s",
        ),
        (
            "breakdown: the sum (first frame, headless, no overlap)",
            f"{med(parts, 'first_screen'):.3f} s",
        ),
        (
            "TF `read_meta_graph_file` of the same file, same loop (imports excluded)",
            f"{tf_s:.3f} s, peak RSS {tf_mib:.0f} MiB",
        ),
        (
            f"expanding `save/` ({int(med(expands, 'children')):,} children) after the warm-up, "
            "headless: the first screenful (listing + first chunk, UI thread), wall / CPU",
            f"{1e3 * med(expands, 'first'):.0f} ms / {1e3 * med(expands, 'first_cpu'):.0f} ms",
        ),
        (
            "the same: the later chunks the tree adds on its own (each a UI-thread step), the "
            "longest; children added before it waits for a scroll",
            f"{1e3 * med(expands, 'chunk_max'):.0f} ms; {int(med(expands, 'auto_loaded')):,}",
        ),
        (
            "the same: End (the 'more' row scrolled into view) -> the next chunk added",
            f"{1e3 * med(expands, 'scrolled_chunk'):.0f} ms "
            f"({int(med(expands, 'scrolled_loaded')):,} children then)",
        ),
    ]
    text = "\n".join(
        [
            f"Command: `.venv/bin/python bench/big_graph_app.py --runs {args.runs} "
            f"--pairs {args.pairs}"
            + (f" --write {args.write}`" if args.write else "`")
            + f". Machine: {os.cpu_count()} cores, Python {platform.python_version()}, load "
            f"average {load_start:.2f} at the start, {load_end:.2f} at the end; {args.runs} runs "
            f"of each (fresh processes) and {args.pairs} more first screens with and without "
            "the overlap, alternating; medians"
            + (f"; graph built in {build_s:.1f} s." if build_s else "; graph reused."),
            "",
            "| figure | value |",
            "|---|---|",
            *[f"| {a} | {b} |" for a, b in rows],
            "",
        ]
    )
    print(text)
    if args.write:
        write_block(Path(args.write), text)
    return 0


def write_block(target: Path, text: str) -> None:
    """Put ``text`` between the markers in ``target``, keeping everything around them (a
    file without the markers gets the section at its end)."""
    old = target.read_text() if target.is_file() else ""
    block = f"{START}\n{text}{END}\n"
    if START in old and END in old:
        head, rest = old.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        new = head + block + ("\n" + after if after else "")
    else:
        new = old.rstrip("\n") + f"\n\n{SECTION}\n\n" + block
    target.write_text(new)


if __name__ == "__main__":
    raise SystemExit(main())
