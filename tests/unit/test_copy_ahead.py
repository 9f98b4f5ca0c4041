"""A restore's data copy begun while it is planned (core/copy_ahead.py, issue 17.2: restore at
copy speed): the files written are the bytes the write makes without it, whether the plan agrees
with the guess (the begun file is kept) or not (it is removed and the write starts again), and
an early copy that is given up leaves nothing behind."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main as cli_main
from graphtui.core import copy_ahead
from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.ckpt_write import copy_tensors
from graphtui.core.copy_ahead import CopyAhead
from graphtui.core.metagraph import read_meta_graph_bytes
from graphtui.core.restore import plan_restore, restore, write_restored
from graphtui.errors import ConflictError
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.state_file import read_state
from graphtui.formats.transaction import FileTransaction
from tests.fixtures.shared import DATA

FACTS = json.loads((DATA.parent / "facts.json").read_text())["restore"]
SOURCE = str(DATA / FACTS["source_prefix"])
FILES = (".index", ".meta", ".data-00000-of-00001")


def _files(prefix: Path) -> dict[str, bytes]:
    return {s: Path(f"{prefix}{s}").read_bytes() for s in FILES if Path(f"{prefix}{s}").exists()}


def _leftovers(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*")) if root.exists() else []


@pytest.fixture
def takes(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each early copy was taken (its file kept) or given up."""
    seen: list[bool] = []
    real = CopyAhead.take

    def take(self: CopyAhead, *args: Any) -> Any:
        got = real(self, *args)
        seen.append(got is not None)
        return got

    monkeypatch.setattr(CopyAhead, "take", take)
    return seen


def _without_ahead(meta: str, amap: Any, out: Path, **kw: Any) -> None:
    """The write as it was before the early copy: plan, then write."""
    graph, raw = read_meta_graph_bytes(meta)
    with CheckpointReader(SOURCE) as reader:
        plan = plan_restore(graph, reader, amap, meta_bytes=raw, **kw)
        sources = [meta, reader.prefix]
    write_restored(plan, str(out), sources)


@pytest.mark.parametrize("case", sorted(FACTS["cases"]))
def test_the_same_files_with_and_without_the_early_copy(
    tmp_path: Path, case: str, takes: list[bool], sink_mode: str
) -> None:
    spec = FACTS["cases"][case]
    meta = str(DATA / spec["target_meta"])
    amap = spec["assignment_map"]
    plain, early = tmp_path / "plain" / "model.ckpt", tmp_path / "early" / "model.ckpt"
    _without_ahead(meta, amap, plain, allow_missing=True)
    assert takes == []
    restore(meta, SOURCE, amap, str(early), allow_missing=True)
    assert _files(early) == _files(plain)
    assert read_state(str(early.parent / "checkpoint")).model_checkpoint_path == "model.ckpt"
    # a, b, c take whole tensors (the begun file is kept, partitions written after it); d and
    # e only cut partitions from a tensor: nothing to guess, no early copy
    assert takes == ([True] if case[0] in "abc" else [])
    assert [t.name for t in threading.enumerate() if t.name == "graphtui-copy-ahead"] == []


def test_the_command_line_takes_the_early_copy(tmp_path: Path, takes: list[bool]) -> None:
    spec = FACTS["cases"]["c_root"]
    meta = str(DATA / spec["target_meta"])
    plain, early = tmp_path / "plain" / "model.ckpt", tmp_path / "early" / "model.ckpt"
    _without_ahead(meta, spec["assignment_map"], plain, allow_missing=True)
    argv = ["restore", meta, "--from", SOURCE, "--map", "/=new_scope/", "--allow-missing"]
    assert cli_main([*argv, "--out", str(early)]) == 0
    assert takes == [True]
    assert _files(early) == _files(plain)


def test_a_plan_that_takes_less_starts_the_write_again(
    tmp_path: Path, takes: list[bool], sink_mode: str
) -> None:
    """A scope map reaches every tensor under it, the graph takes one: the early copy of the
    others is given up, its file removed, and the write is the plain one."""
    meta = str(DATA / FACTS["cases"]["b_single"]["target_meta"])
    plain, early = tmp_path / "plain" / "model.ckpt", tmp_path / "early" / "model.ckpt"
    _without_ahead(meta, {"old_scope/": "new_scope/"}, plain, allow_missing=True)
    restore(meta, SOURCE, {"old_scope/": "new_scope/"}, str(early), allow_missing=True)
    assert takes == [False]
    assert _files(early) == _files(plain)
    assert not [p for p in _leftovers(early.parent) if p.name.endswith(".tmp")]


def test_a_refused_plan_leaves_nothing(tmp_path: Path, takes: list[bool], sink_mode: str) -> None:
    """The early copy begins (directories made, data staged), the plan refuses: nothing is left,
    not even the directories made for the output, and the copying thread is gone."""
    meta = str(DATA / FACTS["cases"]["a_scope"]["target_meta"])
    out = tmp_path / "new" / "dir" / "model.ckpt"
    with pytest.raises(ConflictError):  # new_scope/extra has no value
        restore(meta, SOURCE, {"old_scope/": "new_scope/"}, str(out))
    assert takes == []  # refused by the plan, before the write
    assert _leftovers(tmp_path / "new") == []
    assert [t.name for t in threading.enumerate() if t.name == "graphtui-copy-ahead"] == []


# -- the early copy itself, against copy_tensors ------------------------------------------------


def _awkward(tmp_path: Path) -> Path:
    """Tensors of awkward sizes and kinds: empty ones sharing an offset with the next, strings
    (whose stored checksum is not their bytes'), several chunks long ones."""
    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    rng = np.random.default_rng(3)
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add("m/a_empty", np.zeros((0, 3), np.float32))
        writer.add("m/b", rng.random((70, 300)).astype(np.float32))
        writer.add("m/c_str", np.array([b"x" * 5000, b"", b"yz"], dtype=object))
        writer.add("m/d_empty", np.zeros((0,), np.int64))
        writer.add("m/e", rng.integers(0, 9, (5, 7)).astype(np.int32))
        writer.add("m/f", rng.random(40_001).astype(np.float64))
        writer.add("other/g", np.arange(3, dtype=np.int8))
        writer.finish()
    return prefix


def _plain_copy(src: Path, out: Path, copies: dict[str, str], shapes: dict[str, list[int]]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with CheckpointReader(str(src)) as reader, FileTransaction() as txn:
        writer = BundleWriter(out, txn)
        copy_tensors(reader, writer, [(old, new) for new, old in copies.items()], shapes)
        writer.finish()


def _early_copy(src: Path, out: Path, copies: dict[str, str], shapes: dict[str, list[int]]) -> bool:
    ahead = CopyAhead.start(str(src), {"m/": "x/"}, str(out), [])
    assert ahead is not None
    with CheckpointReader(str(src)) as reader:
        prefix = reader.prefix
    begun = ahead.take(copies, prefix)
    if begun is None:
        _plain_copy(src, out, copies, shapes)
        return False
    ahead.finish(copies, shapes)
    begun.writer.finish()
    begun.txn.commit()
    return True


def _shapes(src: Path, copies: dict[str, str]) -> dict[str, list[int]]:
    with CheckpointReader(str(src)) as reader:
        return {new: list(reader.tensor_info(old).shape) for new, old in copies.items()}


@pytest.mark.parametrize(
    ("label", "rename", "taken"),
    [
        ("every reachable tensor, renamed", lambda n: "x/" + n[2:], True),
        ("every reachable tensor, same names", lambda n: n, True),
        ("names swapped between two tensors", {"m/b": "m/e", "m/e": "m/b"}.get, True),
    ],
)
def test_an_early_copy_equals_the_copy_it_stands_for(
    tmp_path: Path, sink_mode: str, label: str, rename: Any, taken: bool
) -> None:
    src = _awkward(tmp_path)
    with CheckpointReader(str(src)) as reader:
        olds = [n for n in reader.names() if n.startswith("m/")]
    copies = {rename(old) or old: old for old in olds}
    shapes = _shapes(src, copies)
    plain, early = tmp_path / "plain" / "m", tmp_path / "early" / "m"
    _plain_copy(src, plain, copies, shapes)
    assert _early_copy(src, early, copies, shapes) is taken, label
    assert _files(early) == _files(plain), label


def test_reshaped_entries_are_the_entries_written_for_that_shape(
    tmp_path: Path, sink_mode: str
) -> None:
    src = _awkward(tmp_path)
    with CheckpointReader(str(src)) as reader:
        copies = {n: n for n in reader.names() if n.startswith("m/")}
    shapes = _shapes(src, copies) | {"m/b": [300, 70], "m/e": [35], "m/a_empty": [3, 0]}
    plain, early = tmp_path / "plain" / "m", tmp_path / "early" / "m"
    _plain_copy(src, plain, copies, shapes)
    assert _early_copy(src, early, copies, shapes)
    assert _files(early) == _files(plain)
    with CheckpointReader(str(early)) as got:
        assert list(got.tensor_info("m/b").shape) == [300, 70]


@pytest.mark.parametrize(
    ("label", "pick"),
    [
        ("one tensor left out", lambda olds: {o: o for o in olds if o != "m/e"}),
        ("one tensor taken twice", lambda olds: {o: o for o in olds} | {"x/again": "m/f"}),
        ("a tensor the guess left out", lambda olds: {o: o for o in olds} | {"x/g": "other/g"}),
        # an empty tensor at the offset of the next: the order of the two is the plan's
        ("empty tensors listed last", lambda olds: {o: o for o in sorted(olds, key=len)}),
    ],
)
def test_a_plan_that_differs_gives_the_copy_up(
    tmp_path: Path, sink_mode: str, label: str, pick: Any
) -> None:
    src = _awkward(tmp_path)
    with CheckpointReader(str(src)) as reader:
        olds = [n for n in reader.names() if n.startswith("m/")]
    copies = pick(olds)
    shapes = _shapes(src, copies)
    plain, early = tmp_path / "plain" / "m", tmp_path / "early" / "m"
    _plain_copy(src, plain, copies, shapes)
    taken = _early_copy(src, early, copies, shapes)
    assert _files(early) == _files(plain), label
    assert not taken, label
    assert not [p for p in _leftovers(early.parent) if p.name.endswith(".tmp")]


def test_an_early_copy_given_up_mid_copy_stops_and_leaves_nothing(
    tmp_path: Path, sink_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _awkward(tmp_path)
    out = tmp_path / "new" / "m"
    gate, entered = threading.Event(), threading.Event()
    real = copy_ahead.CopyAhead._copy

    def slow_copy(self: CopyAhead) -> None:
        entered.set()
        gate.wait(5)
        real(self)

    monkeypatch.setattr(copy_ahead.CopyAhead, "_copy", slow_copy)
    ahead = CopyAhead.start(str(src), {"/": "x/"}, str(out), [])
    assert ahead is not None and entered.wait(5)
    gate.set()
    ahead.abort()
    ahead.abort()  # twice: nothing more
    assert _leftovers(tmp_path / "new") == []
    assert [t.name for t in threading.enumerate() if t.name == "graphtui-copy-ahead"] == []


def test_no_early_copy_where_the_write_would_refuse(tmp_path: Path) -> None:
    src = _awkward(tmp_path)
    assert CopyAhead.start(str(src), {"/": "x/"}, str(src), []) is None  # over the source
    assert CopyAhead.start(str(src), {"/": "x/"}, str(tmp_path), []) is None  # a directory
    assert CopyAhead.start(str(src), {"nothing/": "x/"}, str(tmp_path / "o" / "m"), []) is None
    assert not (tmp_path / "o").exists()
