"""Keystroke-to-paint latency of the app on a big graph, while its warm-up runs and after.

``graphtui PATH`` runs in a pseudo-terminal (as bench/big_graph_app.py starts it: 120x40, a fresh
process, compiled bytecode). From the first screen on, a cycle of keys is sent, one at a time,
each once the terminal has been quiet for a moment: tree navigation (down, up), a tab switch
(``2`` then ``1``), and the graph search box (``/``, then typing ``lay``; Escape closes it, not
timed: a lone Escape waits for the terminal's escape-sequence timeout). For each key: the time
from writing it to the first bytes of the repaint (*first paint*) and to the end of that burst
of output (*painted*: no more output for 30 ms); a typed character counts once the box shows
it. A key is *during the warm-up* when it was sent before the tree showed its parameter counts
(the app's index-building worker has finished), *after* when sent after that. The cycle goes on
for ``--after`` seconds past the warm-up; ``--runs`` fresh processes.

    .venv/bin/python bench/warmup_latency.py [--graph FILE] [--runs 1] [--after 8]

Goal (issue 17, the app on the 1,000,000-node graph): every key painted < 100 ms, during the
warm-up too. CPU time (all threads) is not split per key: the warm-up keeps a core busy.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from big_graph_app import (  # noqa: E402 - the sibling script's terminal helpers
    COLUMNS,
    ESCAPE,
    FIRST_SCREEN,
    LINES,
    ROOT,
    WARM,
    graph_path,
    graphtui_command,
    prepared_env,
)

DOWN, UP, ESC = b"\x1b[B", b"\x1b[A", b"\x1b"
# (kind, bytes, text the repaint must show or None); Escape is sent untimed
CYCLE: list[tuple[str, bytes, bytes | None]] = [
    *[("tree", DOWN, None), ("tree", UP, None)] * 3,
    ("tab", b"2", None),
    ("tab", b"1", None),
    ("search", b"/", None),
    ("type", b"l", b"l"),
    ("type", b"a", b"la"),
    ("type", b"y", b"lay"),
]
QUIET = 0.15  # the terminal quiet this long before a key is sent
BURST_END = 0.03  # no output this long: the repaint is over
KEY_TIMEOUT = 30.0  # a key not answered by then is counted as taking this long


class Terminal:
    """The app in a pseudo-terminal: keys in, text (escape sequences removed) out."""

    def __init__(self, path: str, env: dict[str, str]) -> None:
        command = os.environ.get("LATENCY_COMMAND", "").split() or graphtui_command()
        self.t0 = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
                os.chdir(ROOT)
                os.execve(command[0], [*command, path], dict(env, TERM="xterm-256color"))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.warm_at: float | None = None  # when the tree first showed parameter counts
        self._tail = b""

    def read(self, timeout: float) -> bytes | None:
        """Text received within ``timeout`` (None: nothing came)."""
        if not select.select([self.fd], [], [], max(0.0, timeout))[0]:
            return None
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            raise RuntimeError("the app exited") from None
        text = ESCAPE.sub(b"", data)
        if self.warm_at is None and WARM in self._tail + text:
            self.warm_at = time.perf_counter()
        self._tail = (self._tail + text)[-256:]
        return text

    def wait_for(self, markers: tuple[bytes, ...], timeout: float) -> float:
        seen = b""
        deadline = time.perf_counter() + timeout
        while not all(m in seen for m in markers):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no {markers} in {timeout:.0f} s")
            text = self.read(deadline - time.perf_counter())
            seen += text or b""
        return time.perf_counter()

    def settle(self, quiet: float = QUIET, limit: float = 3.0) -> None:
        """Read until nothing has come for ``quiet`` seconds (or ``limit`` passed)."""
        end = time.perf_counter() + limit
        while time.perf_counter() < end and self.read(quiet) is not None:
            pass

    def key(self, key: bytes, shows: bytes | None) -> tuple[float, float]:
        """Send ``key``: seconds to the first paint (that shows ``shows``) and to its end."""
        sent = time.perf_counter()
        os.write(self.fd, key)
        seen = b""
        first = None
        while True:
            text = self.read(KEY_TIMEOUT if first is None else BURST_END)
            now = time.perf_counter()
            if text is None:
                if first is None:  # counted as the timeout: the app is still blocked
                    return now - sent, now - sent
                return first - sent, now - BURST_END - sent
            seen += text
            if first is None and (shows is None or shows in seen):
                first = now

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, b"q")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, RuntimeError):
                self.read(0.2)
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                break
        else:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def run(path: str, env: dict[str, str], after: float) -> dict[str, object]:
    """One fresh process: the keys, each as (kind, phase, first paint s, painted s)."""
    term = Terminal(path, env)
    keys: list[tuple[str, str, float, float]] = []
    try:
        first_screen = term.wait_for(FIRST_SCREEN, 120) - term.t0
        term.settle()
        stop_at: float | None = None
        while stop_at is None or time.perf_counter() < stop_at:
            for kind, key, shows in CYCLE:
                term.settle()
                phase = "during" if term.warm_at is None else "after"
                first, painted = term.key(key, shows)
                keys.append((kind, phase, first, painted))
                if os.environ.get("LATENCY_DEBUG"):
                    print(
                        kind, key, phase, f"{first * 1e3:.0f} {painted * 1e3:.0f}", file=sys.stderr
                    )
            os.write(term.fd, ESC)  # close the search box: back to the tree
            term.settle(0.3)
            if stop_at is None and term.warm_at is not None:
                stop_at = time.perf_counter() + after
            if time.perf_counter() - term.t0 > 300:
                raise RuntimeError("no warm-up end in 300 s")
        warm = (term.warm_at or 0) - term.t0
    finally:
        term.close()
    return {"first_screen": first_screen, "warm": warm, "keys": keys}


def summary(runs: list[dict[str, object]]) -> list[tuple[str, str, int, float, float, float]]:
    """(kind, phase, count, median painted, max painted, median first paint), in ms."""
    rows = []
    for phase in ("during", "after"):
        for kind in ("tree", "tab", "search", "type", "all"):
            hits = [
                k
                for r in runs
                for k in r["keys"]  # type: ignore[attr-defined]
                if k[1] == phase and (kind == "all" or k[0] == kind)
            ]
            if hits:
                painted = [h[3] * 1e3 for h in hits]
                firsts = [h[2] * 1e3 for h in hits]
                rows.append(
                    (
                        kind,
                        phase,
                        len(hits),
                        statistics.median(painted),
                        max(painted),
                        statistics.median(firsts),
                    )
                )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--graph", help="a .meta built by bench/_build.py (default: as big_graph_app)"
    )
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--after", type=float, default=8.0, help="seconds of keys after the warm-up"
    )
    parser.add_argument("--json", action="store_true", help="print every key's figures too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="graphtui-latency-") as tmp:
        path = args.graph or graph_path(args.nodes, tmp)[0]
        size = os.path.getsize(path)  # before a graph built in ``tmp`` goes with it
        env = prepared_env(path, tmp)
        load_start = os.getloadavg()
        runs = [run(path, env, args.after) for _ in range(args.runs)]
        load_end = os.getloadavg()
    if args.json:
        print(json.dumps(runs))
    print(
        f"graph {path} ({size / (1 << 20):.0f} MiB); {args.runs} run(s); load "
        f"average {load_start[0]:.2f} at the start, {load_end[0]:.2f} at the end; first screen "
        + ", ".join(f"{r['first_screen']:.2f}" for r in runs)  # type: ignore[str-format]
        + " s; warm-up seen done at "
        + ", ".join(f"{r['warm']:.1f}" for r in runs)  # type: ignore[str-format]
        + " s"
    )
    print("\n| key | phase | keys | painted, median | painted, max | first paint, median |")
    print("|---|---|---|---|---|---|")
    for kind, phase, n, med, worst, first in summary(runs):
        print(f"| {kind} | {phase} | {n} | {med:.0f} ms | {worst:.0f} ms | {first:.0f} ms |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
