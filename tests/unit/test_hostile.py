"""Hostile and unlucky input, round two (issue 11): crafted files that pass every checksum.

Each test here failed on the code before its fix: slices that do not tile their tensor, names
with terminal escapes, deep object graphs, absurd shard counts, full disks, outputs that shadow a
checkpoint, and the misleading messages.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.cli import main
from graphtui.core.checkpoint import load_checkpoint
from graphtui.core.workspace import TensorValue
from graphtui.errors import FormatError, GraphtuiError
from graphtui.formats import dtypes
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter
from graphtui.formats.transaction import FileTransaction
from tests.fixtures.shared import DATA

F32 = dtypes.from_name("float32")


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run the CLI in-process; never a traceback or an internal error, at most one stderr line."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("\n") <= 1, err
    return rc, out, err


def _items(path: Path) -> dict[bytes, bytes]:
    with Table(path) as table:
        return {key: bytes(value) for key, value in table.items()}


def _write_table(path: Path, items: dict[bytes, bytes]) -> None:
    buf = io.BytesIO()
    writer = TableWriter(buf)
    for key in sorted(items):
        writer.add(key, items[key])
    writer.finish()
    path.write_bytes(buf.getvalue())


# -- 3: slices must tile the tensor exactly once -------------------------------------------------


def _sliced_checkpoint(tmp_path: Path, listed: list[tuple[tuple[int, int], ...]]) -> Path:
    """A V2 checkpoint whose tensor ``p`` [4] is stored as [0:2] and [2:4] (0s then 1s), with
    the entry rewritten (checksums valid) to list ``listed`` as its slices; every listed slice
    has its stored data (under its own key)."""
    prefix = tmp_path / "m"
    stored = {ext for ext in listed} | {((0, 2),), ((2, 2),)}
    parts = [(ext, np.full(ext[0][1], float(ext[0][0]), np.float32)) for ext in sorted(stored)]
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add("other", np.arange(3, dtype=np.float32))
        writer.add_sliced("p", F32, [4], parts)
        writer.finish()
    index = Path(f"{prefix}.index")
    items = _items(index)
    entry = pb.BundleEntryProto()
    entry.ParseFromString(items[b"p"])
    del entry.slices[:]
    for ext in listed:
        sp = entry.slices.add()
        for start, length in ext:
            e = sp.extent.add()
            e.start = start
            e.length = length
    items[b"p"] = entry.SerializeToString()
    _write_table(index, items)
    return prefix


CASES = {
    # listed twice, a gap left: the element count matches, TF returns uninitialised memory
    "twice": [((0, 2),), ((0, 2),)],
    "overlap-and-gap": [((0, 2),), ((1, 2),)],
    "out-of-range": [((0, 2),), ((3, 2),)],
    "negative-start": [((-1, 2),), ((1, 3),)],
    "gap": [((0, 2),)],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_slices_that_do_not_tile_the_tensor_are_refused(
    tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _sliced_checkpoint(tmp_path, CASES[case])
    with load_checkpoint(prefix) as reader:
        with pytest.raises(FormatError) as info:
            reader.get_tensor("p")
        message = str(info.value)
        assert str(prefix) in message and "'p'" in message and "\n" not in message
        assert reader.get_tensor("other").tolist() == [0, 1, 2]  # the rest still reads
        problems = reader.verify()
        if case == "gap":  # a Saver given some partitions writes it: TF restores each of them
            assert problems == []
        else:
            assert any("'p'" in str(p) for p in problems), problems
        with pytest.raises(GraphtuiError):
            TensorValue(reader, "p")  # what the app's value pane reads
        assert reader.tensor_info("p").shape == (4,)  # listed, not readable
    rc, out, err = _cli(capsys, "ls", prefix)
    assert rc == 0 and "p" in out
    rc, out, err = _cli(capsys, "cat", prefix, "p")
    assert rc == 1 and out == "" and err.startswith("graphtui: error: ") and "'p'" in err
    rc, out, err = _cli(capsys, "verify", prefix)
    assert rc == (0 if case == "gap" else 1)
    assert case == "gap" or "'p'" in out + err


def test_slices_that_tile_read_in_any_listed_order(tmp_path: Path) -> None:
    prefix = _sliced_checkpoint(tmp_path, [((2, 2),), ((0, 2),)])
    with load_checkpoint(prefix) as reader:
        assert reader.get_tensor("p").tolist() == [0, 0, 2, 2]
        assert reader.verify() == []


def test_v1_slices_listed_twice_with_a_gap_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """V1 `v1/emb` [6, 2] in three row slices; the metadata lists rows 0:2 twice, not 2:4:
    TF's reader refuses the whole file ("Overlapping slices: existing slice = 0,2:0,2, new
    slice = 0,2:0,2"), graphtui when it opens it, and the CLI says so in one line."""
    directory = tmp_path / "v1"
    shutil.copytree(DATA / "v1", directory)
    path = directory / "model.ckpt-2"
    items = _items(path)
    meta = pb.SavedTensorSlices()
    meta.ParseFromString(items[b""])
    for tensor in meta.meta.tensor:
        if tensor.name == "v1/emb":
            tensor.slice[1].CopyFrom(tensor.slice[0])
    items[b""] = meta.SerializeToString()
    _write_table(path, items)
    with pytest.raises(FormatError, match="v1/emb.*overlap"):
        load_checkpoint(path)
    rc, _, err = _cli(capsys, "cat", path, "v1/emb")
    assert rc == 1 and "v1/emb" in err and len(err.strip().splitlines()) == 1


def test_v1_region_of_a_claimed_huge_tensor_is_refused_before_any_allocation(
    tmp_path: Path,
) -> None:
    """V1 `v1/emb` claimed [2**40, 2], its last row slice stretched to the end: a window over
    it is refused from the stored bytes (the stretched slice's record is not there) before the
    8 TiB region is allocated; it raised MemoryError from numpy."""
    directory = tmp_path / "v1"
    shutil.copytree(DATA / "v1", directory)
    path = directory / "model.ckpt-2"
    items = _items(path)
    meta = pb.SavedTensorSlices()
    meta.ParseFromString(items[b""])
    rows = 1 << 40
    for tensor in meta.meta.tensor:
        if tensor.name == "v1/emb":
            tensor.shape.dim[0].size = rows
            last = max(tensor.slice, key=lambda s: s.extent[0].start)
            last.extent[0].length = rows - last.extent[0].start
    items[b""] = meta.SerializeToString()
    _write_table(path, items)
    with load_checkpoint(path) as reader:
        assert reader.partitioned("v1/emb")
        with pytest.raises(FormatError, match="v1/emb") as info:
            reader.read_slice("v1/emb", ((0, rows), (0, 2)))
        assert "\n" not in str(info.value)


# -- 4: names with terminal escapes are shown escaped in every text output ----------------------


def _no_raw_controls(text: str) -> None:
    assert not any(c in text for c in ("\x1b", "\x07", "\x9b", "\u202e")), repr(text[:500])


@pytest.fixture
def hostile_files(tmp_path: Path) -> dict[str, Path]:
    from tests.fixtures import hostile

    return {
        "run": hostile.tf1_run(tmp_path),
        "tf2": hostile.tf2_checkpoint(tmp_path),
        "sm": hostile.saved_model(tmp_path),
    }


def test_cli_text_output_escapes_control_characters(
    hostile_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fixtures import hostile

    run, tf2, sm = hostile_files["run"], hostile_files["tf2"], hostile_files["sm"]
    prefix = run / hostile.PREFIX
    commands: list[tuple[object, ...]] = [
        ("ls", run),
        ("ls", prefix),
        ("history", run),
        ("verify", run),
        ("cat", prefix, hostile.WEIGHTS),
        ("cat", prefix, "strings"),
        ("ls", tf2, "--objects"),
        ("show", sm),
        ("cat", prefix, f"no such {hostile.OSC}"),  # the error line names it
        ("ls", run / f"missing{hostile.CSI}"),
    ]
    for argv in commands:
        rc, out, err = _cli(capsys, *argv)
        _no_raw_controls(out + err)
        assert "\\x1b" in out + err, (argv, out, err)
    # a name's newline stays inside its row
    rc, out, _ = _cli(capsys, "ls", prefix)
    assert rc == 0 and "two\\nlines/b" in out and "bidi\\u202e/c" in out
    rc, out, _ = _cli(capsys, "cat", prefix, hostile.NEWLINE_NAME)
    assert rc == 0 and out.splitlines()[0].startswith("two\\nlines/b  float32")
    # --json is JSON's own escaping, unchanged: it round-trips the names
    import json

    rc, out, _ = _cli(capsys, "ls", prefix, "--json")
    names = {t["name"] for t in json.loads(out)["tensors"]}
    assert hostile.WEIGHTS in names and hostile.NEWLINE_NAME in names


def test_visible_escapes_every_unprintable_character() -> None:
    from graphtui.formats.visible import visible

    assert visible("model/dense/kernel:0 é 中") == "model/dense/kernel:0 é 中"
    assert visible("a\x1b]0;t\x07b") == "a\\x1b]0;t\\x07b"
    assert visible("x\ny\tz\r") == "x\\ny\\tz\\r"
    assert visible("\x9b2J\x7f") == "\\x9b2J\\x7f"
    assert visible("\u202eevil\u200b") == "\\u202eevil\\u200b"
    assert visible(b"caf\xe9".decode("utf-8", "surrogateescape")) == "caf\\xe9"
    for code in range(0x110000):
        shown = visible(chr(code))
        assert shown.isprintable(), hex(code)


# -- 7: a deep object graph costs memory and output linear in its size --------------------------


def _deep_object_graph(tmp_path: Path, depth: int) -> tuple[Path, int]:
    graph = pb.TrackableObjectGraph()
    for i in range(depth):
        node = graph.nodes.add()
        if i + 1 < depth:
            child = node.children.add()
            child.node_id = i + 1
            child.local_name = f"layer{i % 10}"
        if i > 1:  # a shared reference back up the chain
            back = node.children.add()
            back.node_id = i - 1
            back.local_name = "parent"
    key = "v/.ATTRIBUTES/VARIABLE_VALUE"
    graph.nodes[depth - 1].attributes.add(name="VARIABLE_VALUE", full_name="v", checkpoint_key=key)
    raw = graph.SerializeToString()
    prefix = tmp_path / "deep"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add("_CHECKPOINTABLE_OBJECT_GRAPH", np.array(raw, dtype=object))
        writer.add(key, np.zeros(2, np.float32))
        writer.finish()
    return prefix, len(raw)


def test_deep_object_graph_is_linear_in_memory_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """5,000 deep: every path kept (and printed) costs depth**2 (tens of MB here; 1.25 GB and
    400 MB of output at 20,000 in the issue)."""
    import tracemalloc

    from graphtui.core.objects import load_object_graph

    depth = 5000
    prefix, size = _deep_object_graph(tmp_path, depth)
    tracemalloc.start()
    try:
        with load_checkpoint(prefix) as reader:
            graph = load_object_graph(reader)
            deepest = graph.find("/".join(f"layer{i % 10}" for i in range(depth - 1)))
            assert deepest.node_id == depth - 1
            assert deepest.path is not None and deepest.path.count("/") == depth - 2
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, peak
    rc, out, err = _cli(capsys, "ls", prefix, "--objects")
    assert rc == 0 and err == ""
    assert len(out) < 40 * size, (len(out), size)
    assert out.count("\n") == 2 * depth - 2 + 1  # each object once, each back reference once


def test_deep_saved_object_graph_is_linear_in_memory(tmp_path: Path) -> None:
    """A SavedModel whose object graph is a 20,000-deep chain (a 0.7 MB saved_model.pb)."""
    import tracemalloc

    from graphtui.core.savedmodel import open_saved_model

    depth = 20000
    sm = pb.SavedModel(saved_model_schema_version=1)
    mg = sm.meta_graphs.add()
    mg.meta_info_def.tags.append("serve")
    for i in range(depth):
        node = mg.object_graph_def.nodes.add()
        node.user_object.identifier = "_generic_user_object"
        if i + 1 < depth:
            child = node.children.add()
            child.node_id = i + 1
            child.local_name = f"l{i % 10}"
    directory = tmp_path / "sm"
    directory.mkdir()
    (directory / "saved_model.pb").write_bytes(sm.SerializeToString())
    tracemalloc.start()
    try:
        with open_saved_model(directory) as model:
            objects = model.meta_graphs[0].saved_objects()
            assert len(objects) == depth and objects[3].path == "l0/l1/l2"
            summary = model.meta_graphs[0].object_graph_summary()
            assert summary is not None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak


# -- 8: a header's shard count is checked against the files present -----------------------------


def test_header_claiming_a_million_shards_in_a_tiny_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """2**20 shards claimed by a ~100-byte index: verify ran > 10 s at 1 GB, one error per
    missing shard. Now one listing, a few named shards and one summary line."""
    import tracemalloc

    prefix = tmp_path / "m"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add("x", np.arange(3, dtype=np.float32))
        writer.finish()
    index = Path(f"{prefix}.index")
    items = _items(index)
    header = pb.BundleHeaderProto()
    header.ParseFromString(items[b""])
    header.num_shards = 1 << 20
    items[b""] = header.SerializeToString()
    _write_table(index, items)
    Path(f"{prefix}.data-00000-of-{1 << 20:05d}").write_bytes(
        Path(f"{prefix}.data-00000-of-00001").read_bytes()
    )
    tracemalloc.start()
    try:
        with load_checkpoint(prefix) as reader:
            assert reader.get_tensor("x").tolist() == [0, 1, 2]
            problems = reader.verify()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20, peak
    assert 2 <= len(problems) <= 10, len(problems)
    assert "1048575 of 1048576 data shards are missing" in str(problems[-1])
    rc, out, err = _cli(capsys, "verify", prefix)
    assert rc == 1 and out.count("\n") <= 12


# -- 10: an output prefix naming an existing checkpoint of any format is refused -----------------


def _tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("target", ["model.ckpt-2", "model.ckpt-1", "dir"])
def test_export_refuses_a_prefix_that_names_a_v1_checkpoint_or_a_directory(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = tmp_path / "v1"
    shutil.copytree(DATA / "v1", v1)
    (v1 / "dir").mkdir()
    before = _tree(v1)
    rc, out, err = _cli(capsys, "export", DATA / "partitioned" / "model.ckpt", "--out", v1 / target)
    assert rc == 1 and out == ""
    assert "refused" in err and str(v1 / target) in err
    if target == "dir":
        assert "directory" in err and "failed verification" not in err
    assert _tree(v1) == before


# -- 9: a full file system fails before the commit, names the path, leaves nothing -------------


def _listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def test_state_file_that_cannot_be_written_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The state file used to be written after the commit: ENOSPC there left a complete
    checkpoint that a retry refused, and the message named no file."""
    import errno

    from graphtui.core.export import export
    from graphtui.errors import WriteError

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "keep.txt").write_text("x")
    before = _listing(out_dir)

    def full(step: str) -> None:
        if step == "write checkpoint":
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError) as info:
        export(str(DATA / "partitioned" / "model.ckpt"), str(out_dir / "m"), on_step=full)
    assert str(out_dir / "checkpoint") in str(info.value)
    assert "No space left on device" in str(info.value)
    assert _listing(out_dir) == before
    # the retry succeeds
    export(str(DATA / "partitioned" / "model.ckpt"), str(out_dir / "m"))


def test_free_space_checked_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    src = tmp_path / "src"
    with FileTransaction() as txn:
        writer = BundleWriter(src, txn)
        writer.add("big", np.zeros(1 << 18, np.float32))  # 1 MiB
        writer.finish()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real = os.statvfs

    class Tiny:
        def __init__(self, st: Any) -> None:
            self.f_frsize = st.f_frsize
            self.f_bavail = (512 << 10) // st.f_frsize

    monkeypatch.setattr(os, "statvfs", lambda p: Tiny(real(p)))
    rc, out, err = _cli(capsys, "export", src, "--out", out_dir / "m")
    assert rc == 1 and "not enough free space" in err and str(out_dir / "m") in err
    assert _listing(out_dir) == []


def test_a_really_full_file_system(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 384 KiB tmpfs (skipped where mounting is not allowed): small tensors (no free-space
    check) fill it up; the error names the file, and nothing is left on it."""
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=384k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        src = tmp_path / "src"
        with FileTransaction() as txn:
            writer = BundleWriter(src, txn)
            for i in range(40):
                writer.add(f"t{i:02d}", np.full(8000, i, np.float32))  # 32 KB each, 1.25 MB
            writer.finish()
        rc, out, err = _cli(capsys, "export", src, "--out", mount / "m")
        assert rc == 1 and str(mount / "m") in err, err
        assert "No space left on device" in err or "not enough free space" in err
        assert _listing(mount) == []
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_out_beside_the_source_leaves_its_state_file_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = tmp_path / "train"
    shutil.copytree(DATA / "train", train)
    state = (train / "checkpoint").read_bytes()
    rc, out, err = _cli(capsys, "export", train / "model.ckpt-50", "--out", train / "copy")
    assert rc == 0, err
    assert (train / "checkpoint").read_bytes() == state
    assert (train / "copy.index").exists()


def test_stale_temporaries_of_ours_are_removed_on_the_next_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import time

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    stale = out_dir / ".m0.index.0123abcd.tmp"
    fresh = out_dir / ".m1.index.89abcdef.tmp"
    other = out_dir / ".not-ours.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"partial")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    rc, out, err = _cli(
        capsys, "export", DATA / "partitioned" / "model.ckpt", "--out", out_dir / "m"
    )
    assert rc == 0
    assert not stale.exists() and fresh.exists() and other.exists()
    assert str(stale) in err


# -- low: sizes checked against sane limits, messages that say what is wrong -------------------


def test_a_sparse_terabyte_meta_or_saved_model_is_refused_by_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1 TB of holes: reading it whole was a MemoryError ('out of memory')."""
    import os

    from graphtui.core.metagraph import read_meta_graph

    meta = tmp_path / "huge.meta"
    with open(meta, "wb") as fh:
        fh.truncate(1 << 40)
    sm = tmp_path / "sm"
    sm.mkdir()
    with open(sm / "saved_model.pb", "wb") as fh:
        fh.truncate(1 << 40)
    assert os.path.getsize(meta) == 1 << 40
    with pytest.raises(FormatError, match="larger than 2 GiB"):
        read_meta_graph(meta)
    rc, out, err = _cli(capsys, "show", sm)
    assert rc == 1 and "larger than 2 GiB" in err and str(sm / "saved_model.pb") in err


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_an_index_that_is_not_a_file_is_named_as_such(
    tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Was: 'no checkpoint here (neither PREFIX.index nor ...)' though the .index is there."""
    import os

    index = tmp_path / "m.index"
    if kind == "fifo":
        os.mkfifo(index)
    else:
        index.mkdir()
    rc, _, err = _cli(capsys, "ls", tmp_path / "m")
    assert rc == 1 and str(index) in err and "not a checkpoint index" in err
    assert ("directory" in err) == (kind == "directory")


def test_an_empty_path_is_called_that(capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = _cli(capsys, "ls", "")
    assert rc == 1 and "<bytes>" not in err and "empty path" in err
