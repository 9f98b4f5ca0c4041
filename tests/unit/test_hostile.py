"""Hostile and unlucky input, round two (issue 11): crafted files that pass every checksum.

Each test here failed on the code before its fix: slices that do not tile their tensor, names
with terminal escapes, deep object graphs, absurd shard counts, full disks, outputs that shadow a
checkpoint, and the misleading messages.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

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
        assert any("'p'" in str(p) for p in problems), problems
        with pytest.raises(GraphtuiError):
            TensorValue(reader, "p")  # what the app's value pane reads
        assert reader.tensor_info("p").shape == (4,)  # listed, not readable
    rc, out, err = _cli(capsys, "ls", prefix)
    assert rc == 0 and "p" in out
    rc, out, err = _cli(capsys, "cat", prefix, "p")
    assert rc == 1 and out == "" and err.startswith("graphtui: error: ") and "'p'" in err
    rc, out, err = _cli(capsys, "verify", prefix)
    assert rc == 1 and "'p'" in out + err


def test_slices_that_tile_read_in_any_listed_order(tmp_path: Path) -> None:
    prefix = _sliced_checkpoint(tmp_path, [((2, 2),), ((0, 2),)])
    with load_checkpoint(prefix) as reader:
        assert reader.get_tensor("p").tolist() == [0, 0, 2, 2]
        assert reader.verify() == []


def test_v1_slices_listed_twice_with_a_gap_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """V1 `v1/emb` [6, 2] in three row slices; the metadata lists rows 0:2 twice, not 2:4."""
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
    with load_checkpoint(path) as reader:
        with pytest.raises(FormatError, match="v1/emb"):
            reader.get_tensor("v1/emb")
        assert any("v1/emb" in str(p) for p in reader.verify())
    rc, _, err = _cli(capsys, "cat", path, "v1/emb")
    assert rc == 1 and "v1/emb" in err
