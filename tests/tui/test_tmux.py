"""The installed app in a real terminal: tmux runs ``python -m graphtui``, we type and read."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import TRAIN

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def _clean_env() -> dict[str, str]:
    """Our environment minus what would fix the app's size or mode (the test runner exports
    COLUMNS/LINES, which Textual would believe over the terminal)."""
    drop = ("COLUMNS", "LINES", "NO_COLOR")
    return {
        k: v
        for k, v in os.environ.items()
        if k not in drop and not k.startswith(("TEXTUAL", "PYTEST"))
    }


class Terminal:
    """One tmux session on a private server socket."""

    def __init__(self, socket: str, session: str) -> None:
        self.socket = socket
        self.session = session

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", os.devnull, *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=20,
            env=_clean_env(),
        )

    def screen(self, *, escapes: bool = False) -> str:
        """The pane's text (with ``escapes``: its colours and attributes too)."""
        flags = ["-e"] if escapes else []
        return self.tmux("capture-pane", "-p", *flags, "-t", self.session, check=False).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return self.stable()
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def wait_gone(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} stayed on screen")
            time.sleep(0.2)

    def stable(self) -> str:
        """The screen once two captures in a row agree (the app finished drawing)."""
        previous = self.screen()
        for _ in range(25):
            time.sleep(0.2)
            screen = self.screen()
            if screen == previous:
                return screen
            previous = screen
        return previous

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", self.session, check=False).returncode == 0


def _start(tmp_path: Path, path: Path) -> tuple[Terminal, Path]:
    term = Terminal(f"graphtui-test-{os.getpid()}-{tmp_path.name}", "app")  # one server each
    status = tmp_path / "exit-status"
    app = shlex.join([sys.executable, "-m", "graphtui", str(path)])
    command = f"cd {shlex.quote(str(REPO))} && {app}; echo $? > {shlex.quote(str(status))}"
    term.tmux(
        "new-session", "-d", "-s", term.session, "-x", "100", "-y", "30",
        "-e", "TERM=xterm-256color", "sh", "-c", command,
    )  # fmt: skip
    return term, status


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    term, status = _start(tmp_path, TRAIN)
    try:
        yield term, status
    finally:
        term.tmux("kill-server", check=False)


def test_damaged_checkpoint_is_said_in_a_real_terminal(tmp_path: Path) -> None:
    """A latest checkpoint whose index is no sstable: the header and the Variables pane say so
    in TensorFlow's words, and offer the readable ones."""
    directory = tmp_path / "train"
    shutil.copytree(TRAIN, directory)
    index = directory / "model.ckpt-50.index"
    index.write_bytes(index.read_bytes()[:-8] + b"\0" * 8)
    term, _status = _start(tmp_path, directory)
    try:
        screen = term.wait_for("checkpoint unreadable")
        assert "model.ckpt-50" in screen
        term.keys("3")
        term.wait_for("30 variables")
        screen = " ".join(term.stable().split())  # the message wraps at word boundaries
        assert "not an sstable (bad magic number)" in screen, screen
        assert "readable: model.ckpt-40, model.ckpt-30" in screen, screen
        assert "unreadable" in screen and "graph-only" not in screen
        term.keys("q")
    finally:
        term.tmux("kill-server", check=False)


def test_app_in_a_real_terminal(terminal: tuple[Terminal, Path]) -> None:
    term, status = terminal
    screen = term.wait_for("1 Graph")
    assert "551 nodes" in screen and "ckpt model.ckpt-50" in screen
    term.wait_for("model/  166 nodes, 139 params (+417 slots)")
    # a round trip through other panes draws the graph pane as it was, colours included: the
    # screen is not repainted whole on a focus change (each widget repaints what it changes)
    before = term.screen(escapes=True)
    for key in "3152":
        term.keys(key)
        term.stable()
    term.keys("1")
    term.stable()
    assert term.screen(escapes=True) == before
    term.keys("3")
    screen = term.wait_for("30 variables")
    assert "model/layer_1/dense/kernel" in screen and "local" in screen, screen
    term.keys("1")  # in the Variables pane / filters its rows; the node search is tab 1's
    term.wait_gone("30 variables")
    term.stable()
    term.keys("/")
    term.keys("-l", "kernel/read")
    term.keys("Enter")
    screen = term.wait_for("1/3")
    assert "op Identity" in screen
    term.keys("?")
    term.wait_for("graphtui keys")
    term.keys("Escape")  # alone: ESC and the next key at once would read as alt+key
    term.wait_gone("graphtui keys")
    term.keys("4")
    term.wait_for("No value open")
    term.keys("q")
    deadline = time.monotonic() + 20
    while term.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not term.alive()
    assert status.read_text().strip() == "0"


def test_what_is_drawn_equals_a_full_redraw(terminal: tuple[Terminal, Path]) -> None:
    """The terminal shows what a full redraw shows after moving in a table, scrolling it, after
    tab switches and Tab, and moving in the graph tree (its details follow) (the app drops the repaints of widgets not shown and of widgets
    a layout drew whole since, and draws an unchanged scrollbar once): a SIGWINCH (Textual
    draws the whole screen again) changes nothing, colours included. (A version that drops
    the table's own repaints fails here at the first key.)"""
    term, _ = terminal
    term.wait_for("model/  166 nodes, 139 params (+417 slots)")
    shell = term.tmux("list-panes", "-t", term.session, "-F", "#{pane_pid}").stdout.split()[0]
    found = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True, check=False)
    app = int(found.stdout.split()[0])  # the app, started by the pane's shell
    term.keys("3")
    top = term.wait_for("30 variables")
    steps = (["Down"], ["End"], ["1", "3"], ["PageUp"], ["5", "2", "3"], ["Tab"], ["1"])
    for keys in (*steps, ["End"], ["Up"], ["Home"], ["Enter"], ["Down", "Down"]):
        for key in keys:
            term.keys(key)
            term.stable()
        shown = term.screen(escapes=True)
        os.kill(app, signal.SIGWINCH)
        time.sleep(0.3)
        term.stable()
        assert term.screen(escapes=True) == shown, keys
    term.keys("3")
    assert term.stable() != top  # the table moved: rows and scrollbar
    term.keys("q")
