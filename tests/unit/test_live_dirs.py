"""Training directories that change while graphtui reads them.

A writer thread saves checkpoints (graphtui's own atomic writer, or a plain copy of fixture
files piece by piece, index last, like rsync) and deletes old ones as ``Saver(max_to_keep=3)``
does, while ``scan_history`` and ``load_checkpoint(...).get_tensor`` run in a loop: history never
fails, half-written checkpoints are incomplete, a checkpoint deleted under a reader gives a
one-line GraphtuiError or its old bytes, never a crash. Files cut short while mapped would
SIGBUS a careless reader: that runs in a child process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.history import scan_history
from graphtui.core.output import write_checkpoint
from graphtui.errors import FormatError, GraphtuiError, MissingFileError
from graphtui.formats.atomic import atomic_write
from graphtui.formats.state_file import format_state, make_state
from tests.fixtures.shared import DATA

ROOT = Path(__file__).resolve().parents[2]
TRAIN = DATA / "train"
KEEP = 3


def _values(step: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(step)
    return {
        "global_step": np.array(step, dtype=np.int64),
        "dense/kernel": rng.standard_normal((64, 32)).astype(np.float32),
        "dense/bias": np.full(32, step, dtype=np.float32),
        "names": np.array([b"a" * step, b"b"], dtype=object),
    }


def _save(directory: Path, step: int) -> None:
    """What Saver.save(max_to_keep=3) does: write, list the last three, delete the older ones."""
    values = _values(step)

    def fill(writer: Any) -> None:
        for name, value in values.items():
            writer.add(name, value)

    write_checkpoint(str(directory / f"model.ckpt-{step}"), fill=fill, update_state=False)
    kept = [f"model.ckpt-{s}" for s in range(max(1, step - KEEP + 1), step + 1)]
    atomic_write(directory / "checkpoint", format_state(make_state(kept[-1], kept)).encode())
    for path in directory.glob(f"model.ckpt-{step - KEEP}.*"):
        path.unlink()


def _copy_piecewise(
    src_prefix: Path, dst_prefix: Path, pause: Callable[[str], None] = lambda where: None
) -> None:
    """Copy a checkpoint without atomic renames: data in pieces, then the index in pieces."""
    shards = sorted(src_prefix.parent.glob(src_prefix.name + ".data-*"))
    for shard in shards:
        _copy_in_pieces(shard, Path(str(dst_prefix) + shard.name[len(src_prefix.name) :]), pause)
    pause("data written, no index")
    _copy_in_pieces(Path(str(src_prefix) + ".index"), Path(str(dst_prefix) + ".index"), pause=pause)
    pause("done")


def _copy_in_pieces(src: Path, dst: Path, pause: Callable[[str], None] = lambda w: None) -> None:
    data = src.read_bytes()
    with open(dst, "wb") as fh:
        for start in range(0, len(data), 97):
            fh.write(data[start : start + 97])
            fh.flush()
            if start <= len(data) // 2 < start + 97:
                pause(f"half of {dst.name}")


def _exercise(directory: Path, stats: dict[str, Any], steps_match: bool) -> None:
    """One reader pass: history, then every complete checkpoint read fully."""
    hist = scan_history(directory)
    stats["scans"] += 1
    for rec in hist.records:
        if not rec.complete:
            stats["incomplete"] += 1
            continue
        try:
            with load_checkpoint(rec.prefix) as reader:
                for name in reader.names():
                    value = reader.get_tensor(name)
                    if name == "global_step" and steps_match:
                        assert int(value) == rec.step
                stats["reads"] += 1
        except GraphtuiError as exc:  # deleted or replaced while we looked
            text = str(exc)
            assert "\n" not in text and rec.name in text, text
            stats["errors"] += 1


def _run_with_writer(
    directory: Path, write: Callable[[threading.Event], None], seconds: float, steps_match: bool
) -> dict[str, Any]:
    stop = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            write(stop)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            stop.set()

    stats: dict[str, Any] = {"scans": 0, "reads": 0, "errors": 0, "incomplete": 0}
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    while not stop.is_set() and time.monotonic() < deadline:
        _exercise(directory, stats, steps_match)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive(), "writer hung"
    assert not failures, failures
    return stats


def test_history_and_reads_while_saver_writes_and_deletes(tmp_path: Path) -> None:
    directory = tmp_path / "train"
    directory.mkdir()

    def write(stop: threading.Event) -> None:
        step = 1
        while not stop.is_set() and step <= 400:
            _save(directory, step)
            step += 1

    stats = _run_with_writer(directory, write, seconds=2.5, steps_match=True)
    assert stats["scans"] > 5 and stats["reads"] > 5, stats
    # at rest: only the last three, all complete, the state file naming them
    hist = scan_history(directory)
    assert len(hist.records) == KEEP and all(r.complete and r.in_state for r in hist.records)
    latest = hist.latest
    assert latest is not None
    with load_checkpoint(directory) as reader:
        assert reader.get_tensor("global_step") == latest.step
        assert reader.get_tensor("names")[0] == b"a" * latest.step


def test_history_and_reads_while_files_are_copied_piecewise(tmp_path: Path) -> None:
    directory = tmp_path / "copy"
    directory.mkdir()

    def write(stop: threading.Event) -> None:
        step = 1
        while not stop.is_set() and step <= 200:
            _copy_piecewise(TRAIN / "model.ckpt-50", directory / f"model.ckpt-{step}")
            for path in directory.glob(f"model.ckpt-{step - KEEP}.*"):
                path.unlink()
            step += 1

    stats = _run_with_writer(directory, write, seconds=2.5, steps_match=False)
    assert stats["scans"] > 5 and stats["reads"] > 0, stats


def test_half_written_checkpoint_is_incomplete_at_every_stage(tmp_path: Path) -> None:
    """The copier pauses at each stage; the main thread looks at the directory each time."""
    directory = tmp_path / "copy"
    directory.mkdir()
    prefix = directory / "model.ckpt-7"
    reached = threading.Event()
    resume = threading.Event()
    stage: list[str] = []

    def pause(where: str) -> None:
        stage.append(where)
        reached.set()
        assert resume.wait(30)
        resume.clear()

    thread = threading.Thread(
        target=_copy_piecewise, args=(TRAIN / "model.ckpt-50", prefix, pause), daemon=True
    )
    thread.start()
    seen = {}
    while thread.is_alive() or reached.is_set():
        if not reached.wait(0.05):
            continue
        reached.clear()
        where = stage[-1]
        hist = scan_history(directory)
        seen[where] = [(r.name, r.complete, r.problem) for r in hist.records]
        if where != "done":  # no index yet (MissingFileError), or half of one
            with pytest.raises(FormatError) as exc_info:
                load_checkpoint(prefix)
            named = str(prefix) + (".index" if where.endswith(".index") else "")
            assert str(exc_info.value).startswith((named + ":", named + " (at byte"))
        resume.set()
    thread.join(timeout=10)
    assert seen["data written, no index"] == []  # data alone is no checkpoint (no .index)
    assert seen["half of model.ckpt-7.data-00000-of-00001"] == []
    (name, complete, problem) = seen["half of model.ckpt-7.index"][0]
    assert name == "model.ckpt-7" and not complete and "truncated" in problem
    assert seen["done"] == [("model.ckpt-7", True, "")]


def test_checkpoint_deleted_while_a_reader_holds_it(tmp_path: Path) -> None:
    """Like Saver's max_to_keep deleting it: shards already mapped keep their bytes; a shard
    not yet opened is a MissingFileError naming it; history then says the files are gone."""
    directory = tmp_path / "sharded"
    shutil.copytree(DATA / "sharded", directory)
    prefix = directory / "model.ckpt"
    with load_checkpoint(prefix) as reader:
        before = reader.get_tensor("tower_0/weights").copy()  # maps shard 0 only
        for path in directory.glob("model.ckpt.*"):
            path.unlink()
        assert np.array_equal(reader.get_tensor("tower_0/weights"), before)
        assert reader.get_tensor("global_step") == reader.get_tensor("global_step")
        with pytest.raises(MissingFileError) as exc_info:
            reader.get_tensor("tower_1/weights")
        text = str(exc_info.value)
        assert "\n" not in text and "model.ckpt.data-00001-of-00002" in text
        problems = reader.verify()
        assert problems and all("data-00001-of-00002" in str(p) for p in problems)
    hist = scan_history(directory)
    assert [(r.name, r.complete, r.problem) for r in hist.records] == [
        ("model.ckpt", False, "files missing")
    ]
    with pytest.raises(GraphtuiError):
        load_checkpoint(directory)


def test_checkpoint_replaced_while_a_reader_holds_it(tmp_path: Path) -> None:
    """A new checkpoint written over the same prefix (atomic rename): the open reader keeps the
    old bytes, a new reader sees the new ones."""
    directory = tmp_path / "live"
    directory.mkdir()
    _save(directory, 5)
    prefix = directory / "model.ckpt-5"
    with load_checkpoint(prefix) as reader:
        reader.get_tensor("dense/kernel")
        for path in directory.glob("model.ckpt-5.*"):
            path.unlink()
        values = _values(9)
        write_checkpoint(
            str(prefix), fill=lambda w: [w.add(n, v) for n, v in values.items()], update_state=False
        )
        assert np.array_equal(reader.get_tensor("dense/kernel"), _values(5)["dense/kernel"])
    with load_checkpoint(prefix) as reader:
        assert np.array_equal(reader.get_tensor("dense/kernel"), values["dense/kernel"])


# -- files cut short while mapped (SIGBUS territory): in a child process ---------------------------

_CHILD = r"""
import json, os, sys
from graphtui.core.checkpoint import load_checkpoint
from graphtui.errors import GraphtuiError
prefix, what, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
results = {"errors": [], "values": 0}
reader = load_checkpoint(prefix)
names = reader.names()
reader.get_tensor(names[0])  # maps the data (and the index) before the cut
files = reader.files()
victim = files[0] if what == "index" else [f for f in files if ".data-" in f or what == "v1"][0]
os.truncate(victim, size)
for name in names[::-1]:
    try:
        reader.get_tensor(name)
        results["values"] += 1
    except GraphtuiError as exc:
        results["errors"].append(str(exc))
try:
    results["problems"] = [str(p) for p in reader.verify()]
except GraphtuiError as exc:
    results["problems"] = [str(exc)]
reader.close()
print(json.dumps(results))
"""


@pytest.mark.parametrize(
    ("fixture", "prefix", "what", "size"),
    [
        ("dtypes", "model.ckpt", "data", 0),
        ("dtypes", "model.ckpt", "data", 4096),
        ("dtypes", "model.ckpt", "data", 10000),
        ("train", "model.ckpt-50", "index", 0),
        ("v1", "model.ckpt-2", "v1", 0),
        ("v1", "model.ckpt-2", "v1", 100),
    ],
)
def test_file_cut_short_after_open_is_an_error_not_sigbus(
    tmp_path: Path, fixture: str, prefix: str, what: str, size: int
) -> None:
    directory = tmp_path / fixture
    shutil.copytree(DATA / fixture, directory)
    if fixture == "dtypes":  # large enough for pages past the cut
        assert (directory / "model.ckpt.data-00000-of-00001").stat().st_size > 5 * 4096
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(directory / prefix), what, str(size)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, f"child died with {proc.returncode}: {proc.stderr[-2000:]}"
    results = json.loads(proc.stdout)
    messages = results["errors"] + results["problems"]
    assert all("\n" not in m for m in messages)
    if what == "index":  # the index was read whole when opened: every value still reads
        assert results["errors"] == [] and results["values"] > 0
    else:
        assert results["errors"], results
        assert any("shrank" in m or "truncated" in m for m in results["errors"]), results
