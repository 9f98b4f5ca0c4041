"""Progress on long command-line work (issue 17.4): a bar on stderr when it is a terminal (a
pty here), none when it is a pipe or with --quiet, and Ctrl+C (a real SIGINT to the child
mid-write) stops with exit 130, one line, and no file of the write left behind."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from graphtui.formats import progress
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction
from tests.counting_meter import CountingMeter

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100", "TERM": "xterm"}


def _checkpoint(tmp_path: Path, tensors: int = 8, size: int = 1 << 20) -> Path:
    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        rng = np.random.default_rng(0)
        for i in range(tensors):
            writer.add(f"scope/v{i}", rng.random(size // 4, dtype=np.float32))
        writer.finish()
    return prefix


def _run_on_pty(argv: list[str]) -> tuple[int, bytes, bytes]:
    """Run graphtui with stderr on a pseudo-terminal (stdout a pipe): (rc, stdout, tty bytes)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "graphtui", *argv],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=ENV,
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read() if proc.stdout else b""
    return proc.wait(), stdout, seen


def test_meter_counts_only_when_watched(tmp_path: Path) -> None:
    prefix = _checkpoint(tmp_path, tensors=3, size=4096)
    from graphtui.core.checkpoint import CheckpointReader

    meter = CountingMeter()
    with CheckpointReader(str(prefix)) as reader:
        reader.verify()  # nobody watching: nothing to count, nothing fails
        with progress.metered(meter):
            assert reader.verify() == []
    assert meter.total == meter.done == 3 * 4096


def test_verify_and_rename_show_a_bar_on_a_terminal(tmp_path: Path) -> None:
    prefix = _checkpoint(tmp_path)
    rc, stdout, tty = _run_on_pty(["verify", str(prefix)])
    assert rc == 0, tty
    assert b"all checksums ok" in stdout
    assert b"verify" in tty and b"MiB" in tty  # bytes done / total in binary units
    rc, stdout, tty = _run_on_pty(
        ["rename", str(prefix), "--map", "scope=new", "--out", str(tmp_path / "o" / "m")]
    )
    assert rc == 0, tty
    assert b"verified" in stdout
    assert b"rename" in tty and b"MiB" in tty


def test_no_bar_when_quiet_or_piped(tmp_path: Path) -> None:
    prefix = _checkpoint(tmp_path)
    rc, _, tty = _run_on_pty(["verify", "--quiet", str(prefix)])
    assert rc == 0
    assert tty == b""
    npy = tmp_path / "v.npy"
    proc = subprocess.run(
        [sys.executable, "-m", "graphtui", "cat", str(prefix), "scope/v0", "--npy", str(npy)],
        capture_output=True,
        env=ENV,
        check=False,
    )
    assert proc.returncode == 0 and proc.stderr == b""
    assert np.load(npy).shape == (1 << 18,)
    rc, _, tty = _run_on_pty(["cat", str(prefix), "scope/v0", "--npy", str(tmp_path / "w.npy")])
    assert rc == 0 and b"cat" in tty


@pytest.mark.parametrize("command", ["rename", "strip"])
def test_ctrl_c_mid_write_leaves_nothing(tmp_path: Path, command: str) -> None:
    """The child stalls after copying the tensors' bytes, before the index and the commit, and
    says so; the parent sends a real SIGINT then."""
    prefix = _checkpoint(tmp_path)
    marker = tmp_path / "writing"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    child = textwrap.dedent(
        f"""
        import signal, sys, time
        # Python's own Ctrl+C handler, as on a terminal: a child of a shell's background job
        # (CI started with `&`, no job control) inherits SIGINT ignored, and Python keeps it so
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from graphtui.formats.bundle_writer import BundleWriter
        real = BundleWriter._append_from_file
        def slow(self, *a):
            offset = real(self, *a)
            open({str(marker)!r}, "w").close()
            time.sleep(60)
            return offset
        BundleWriter._append_from_file = slow
        from graphtui.cli import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    args = (
        ["rename", str(prefix), "--map", "scope=new"]
        if command == "rename"
        else ["strip", str(prefix), "--drop", "scope/v7"]
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, *args, "--out", str(out_dir / "m")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert any(p.name.endswith(".tmp") for p in out_dir.iterdir())  # mid-write indeed
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.decode().splitlines() == ["graphtui: interrupted"]
    assert stdout == b""
    assert list(out_dir.iterdir()) == []  # temp files removed, no target made
