"""Bad input of every kind, made from the real-TF fixtures: the API raises a GraphtuiError whose
message is one line naming the file and the fault; the CLI (ls, cat, verify, history, export)
prints one line on stderr and exits non-zero; nothing allocates more than the file allows and
nothing hangs (the absurd-size cases run in a child process under RLIMIT_AS and a timeout).

tests/unit/test_checkpoint_corruption.py covers single flips, a few truncations and lying entry
sizes through the API; this file sweeps offsets and byte classes and drives the CLI too.
"""

from __future__ import annotations

import ast
import io
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui._proto import pb
from graphtui.cli import main
from graphtui.core.checkpoint import get_checkpoint_state, load_checkpoint
from graphtui.core.graph import GraphIndex
from graphtui.core.history import scan_history
from graphtui.core.metagraph import read_meta_graph
from graphtui.errors import ChecksumError, FormatError, GraphtuiError
from graphtui.formats import dtypes
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.crc import crc32c, mask
from graphtui.formats.sstable import FOOTER_SIZE, Table, encode_handle
from graphtui.formats.sstable_writer import TableWriter
from graphtui.formats.state_file import read_state
from graphtui.formats.transaction import FileTransaction
from graphtui.formats.varint import decode_varint, encode_varint
from tests.fixtures.shared import DATA

ROOT = Path(__file__).resolve().parents[2]

# -- helpers -------------------------------------------------------------------------------------


def _copy(tmp_path: Path, fixture: str) -> Path:
    dest = tmp_path / fixture.replace("/", "_")
    shutil.copytree(DATA / fixture, dest)
    return dest


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "\r" not in text, text
    return text


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    """Run the CLI in-process; never a traceback or an internal error, at most one stderr line."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.count("\n") <= 1, err
    return rc, out, err


def _cli_fails(capsys: pytest.CaptureFixture[str], *argv: object, names: tuple[object, ...]) -> str:
    rc, out, err = _cli(capsys, *argv)
    assert rc == 1, (argv, out, err)
    assert err.startswith("graphtui: error: ") and err.endswith("\n") and err.count("\n") == 1
    for name in names:
        assert str(name) in err, (name, err)
    return err


def _no_output(out_prefix: Path) -> None:
    """A refused export leaves no target file and no temporary file behind."""
    directory = out_prefix.parent
    left = sorted(p.name for p in directory.iterdir()) if directory.exists() else []
    assert left == [], left


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def _value(reader: Any, name: str) -> object:
    """A comparable form of a tensor's value (or of the error reading it)."""
    try:
        arr = np.asarray(reader.get_tensor(name))
    except GraphtuiError as exc:
        return f"error: {exc}"
    return (arr.dtype.str, arr.shape, arr.tolist() if arr.dtype == object else arr.tobytes())


def _values(prefix: Path) -> dict[str, object]:
    with load_checkpoint(prefix) as reader:
        return {n: _value(reader, n) for n in reader.names()}


def _write_table(path: Path, items: dict[bytes, bytes]) -> None:
    buf = io.BytesIO()
    writer = TableWriter(buf)
    for key in sorted(items):
        writer.add(key, items[key])
    writer.finish()
    path.write_bytes(buf.getvalue())


def _items(index: Path) -> dict[bytes, bytes]:
    with Table(index) as table:
        return {key: bytes(value) for key, value in table.items()}


def _entry(value: bytes) -> Any:
    entry = pb.BundleEntryProto()
    entry.ParseFromString(value)
    return entry


def _block(contents: bytes, ctype: int = 0) -> bytes:
    """A table block with its trailer (type byte + masked crc)."""
    crc = mask(crc32c(bytes([ctype]), crc32c(contents)))
    return contents + bytes([ctype]) + crc.to_bytes(4, "little")


def _peak(fn: Callable[[], object]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        try:
            fn()
            error: BaseException | None = None
        except GraphtuiError as exc:
            error = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return error, peak


# -- truncated .index at many offsets -------------------------------------------------------------

SHARDED_INDEX = (DATA / "sharded" / "model.ckpt.index").read_bytes()


@pytest.mark.parametrize("cut", range(0, len(SHARDED_INDEX), 7))
def test_truncated_index_every_7th_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int
) -> None:
    directory = _copy(tmp_path, "sharded")
    prefix = directory / "model.ckpt"
    index = directory / "model.ckpt.index"
    index.write_bytes(SHARDED_INDEX[:cut])
    before = _snapshot(directory)
    with pytest.raises(FormatError) as exc_info:
        load_checkpoint(prefix)
    assert _one_line(exc_info.value).startswith(f"{index}")
    out = tmp_path / "out" / "x"
    for argv in (
        ["ls", prefix],
        ["ls", directory, "--json"],
        ["cat", prefix, "tower_0/bias"],
        ["verify", prefix],
        ["export", prefix, "--out", out],
    ):
        _cli_fails(capsys, *argv, names=(index,))
    _no_output(out)
    # history reads no tensors: it lists the checkpoint as incomplete (no table footer)
    rc, stdout, _ = _cli(capsys, "history", directory, "--json")
    assert rc == 0
    (record,) = json.loads(stdout)["checkpoints"]
    assert record["complete"] is False and "truncated" in record["problem"]
    assert _snapshot(directory) == before


# -- a flipped byte in each region of the .index ---------------------------------------------------


def _index_regions() -> dict[str, list[int]]:
    """Byte positions of the sharded index by what they hold."""
    table = Table("sharded.index", SHARDED_INDEX)
    size = len(SHARDED_INDEX)
    footer = size - FOOTER_SIZE
    regions: dict[str, list[int]] = {}
    regions["entries"] = [
        p for h in table._index_handles for p in range(h.offset, h.offset + h.size)
    ]
    regions["data block trailer"] = [
        p for h in table._index_handles for p in range(h.offset + h.size, h.offset + h.size + 5)
    ]
    meta, idx = table.metaindex_handle, table.index_handle
    regions["meta-index block"] = list(range(meta.offset, meta.offset + meta.size + 5))
    regions["index block"] = list(range(idx.offset, idx.offset + idx.size))
    regions["index block trailer"] = list(range(idx.offset + idx.size, idx.offset + idx.size + 5))
    handles = len(encode_handle(meta) + encode_handle(idx))
    regions["footer handles"] = list(range(footer, footer + handles))
    regions["footer padding"] = list(range(footer + handles, size - 8))
    regions["footer magic"] = list(range(size - 8, size))
    table.close()
    return regions


REGIONS = _index_regions()


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_flipped_index_byte_in_each_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], region: str
) -> None:
    directory = _copy(tmp_path, "sharded")
    prefix = directory / "model.ckpt"
    index = directory / "model.ckpt.index"
    good = _values(prefix)
    positions = REGIONS[region]
    assert positions
    for pos in positions if len(positions) < 40 else positions[::3]:
        for bit in (0x01, 0x80):
            data = bytearray(SHARDED_INDEX)
            data[pos] ^= bit
            index.write_bytes(bytes(data))
            try:
                reader = load_checkpoint(prefix)
            except FormatError as exc:
                assert _one_line(exc).startswith(str(index))
                assert region not in ("footer padding", "meta-index block"), (pos, exc)
                if region not in ("footer handles", "footer magic"):
                    assert isinstance(exc, ChecksumError), (pos, exc)
                continue
            with reader:
                problems = reader.verify()
                values = {n: _value(reader, n) for n in reader.names()}
            if not problems:  # padding (ignored by TF too), or a handle with the same value
                assert region in ("footer padding", "footer handles"), pos
                assert values == good
            else:  # only a block that nothing reads until verify can hide a fault
                assert region in ("meta-index block", "footer handles"), pos
                assert all(str(index) in _one_line(p) for p in problems)
    # the CLI on the first, middle and last position of the region
    for pos in {positions[0], positions[len(positions) // 2], positions[-1]}:
        data = bytearray(SHARDED_INDEX)
        data[pos] ^= 0x01
        index.write_bytes(bytes(data))
        rc, out, err = _cli(capsys, "verify", prefix)
        if region == "footer padding":
            assert rc == 0 and err == ""
        elif rc == 1 and not err:  # opened, the problem is a BAD line
            assert any(line.startswith("BAD") and str(index) in line for line in out.splitlines())
        else:
            assert rc == 1 and str(index) in err
        rc, out, err = _cli(capsys, "cat", prefix, "tower_1/weights")
        assert (rc == 0) == (err == "")
        if rc:
            assert str(index) in err
        else:
            assert region in ("footer padding", "meta-index block", "footer handles")


# -- tensor data -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "prefix"),
    [
        ("dtypes", "model.ckpt"),
        ("dtypes", "variant.ckpt"),
        ("sharded", "model.ckpt"),
        ("train", "model.ckpt-50"),
    ],
)
def test_flipped_data_byte_in_every_tensor(tmp_path: Path, fixture: str, prefix: str) -> None:
    """A byte flipped in the middle of each tensor: that tensor fails naming itself and its
    data file, every other tensor still reads the same."""
    pfx = _copy(tmp_path, fixture) / prefix
    good = _values(pfx)
    with load_checkpoint(pfx) as reader:
        bundle = reader.bundle
        assert bundle is not None
        located = {n: bundle.entry(n) for n in reader.names()}
        files = bundle.data_files()
    tried = 0
    for name, entry in located.items():
        if entry.size == 0 or entry.is_sliced:
            continue
        data_file = Path(files[entry.shard_id])
        original = data_file.read_bytes()
        damaged = bytearray(original)
        damaged[entry.offset + entry.size // 2] ^= 0x10
        data_file.write_bytes(bytes(damaged))
        with load_checkpoint(pfx) as reader:
            with pytest.raises(FormatError) as exc_info:
                reader.get_tensor(name)
            text = _one_line(exc_info.value)
            assert repr(name) in text and str(data_file) in text
            others = {n: _value(reader, n) for n in located if n != name}
            problems = reader.verify()
        assert others == {n: v for n, v in good.items() if n != name}
        assert [repr(name) in str(p) for p in problems] == [True]
        data_file.write_bytes(original)
        tried += 1
    assert tried >= len(located) - 5


@pytest.mark.parametrize("cut", range(0, 72, 7))
def test_short_data_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int) -> None:
    directory = _copy(tmp_path, "sharded")
    prefix = directory / "model.ckpt"
    shard = directory / "model.ckpt.data-00000-of-00002"
    good = _values(prefix)
    with load_checkpoint(prefix) as reader:
        bundle = reader.bundle
        assert bundle is not None
        ends = {
            n: (bundle.entry(n).shard_id, bundle.entry(n).offset + bundle.entry(n).size)
            for n in reader.names()
        }
    shard.write_bytes(shard.read_bytes()[:cut])
    victims = sorted(n for n, (s, end) in ends.items() if s == 0 and end > cut)
    assert victims
    with load_checkpoint(prefix) as reader:
        for name in ends:
            if name in victims:
                err, peak = _peak(lambda name=name: reader.get_tensor(name))
                assert isinstance(err, FormatError) and peak < 1 << 20
                text = _one_line(err)
                assert repr(name) in text and str(shard) in text and "truncated" in text
            else:
                assert _value(reader, name) == good[name]
    _cli_fails(capsys, "cat", prefix, victims[0], names=(shard, victims[0]))
    rc, out, err = _cli(capsys, "verify", prefix)
    bad = [line for line in out.splitlines() if line.startswith("BAD")]
    assert rc == 1 and err == "" and len(bad) == len(victims)
    assert all(str(shard) in line for line in bad)
    out_prefix = tmp_path / "out" / "x"
    _cli_fails(capsys, "export", prefix, "--out", out_prefix, names=(shard,))
    _no_output(out_prefix)


def test_missing_data_shard_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _copy(tmp_path, "sharded")
    prefix = directory / "model.ckpt"
    shard = directory / "model.ckpt.data-00001-of-00002"
    shard.unlink()
    rc, out, _ = _cli(capsys, "ls", prefix)  # ls reads no data
    assert rc == 0 and "tower_1/weights" in out
    _cli(capsys, "cat", prefix, "tower_0/bias")
    _cli_fails(capsys, "cat", prefix, "tower_1/weights", names=(shard, "data shard is missing"))
    rc, out, err = _cli(capsys, "verify", prefix)
    assert rc == 1 and err == "" and str(shard) in out
    out_prefix = tmp_path / "out" / "x"
    _cli_fails(capsys, "export", prefix, "--out", out_prefix, names=(shard,))
    _no_output(out_prefix)
    rc, out, _ = _cli(capsys, "history", directory, "--json")
    (record,) = json.loads(out)["checkpoints"]
    assert (
        rc == 0
        and record["complete"] is False
        and "1 of 2 data shards missing" in record["problem"]
    )


# -- empty and garbage .index --------------------------------------------------------------------

GARBAGE: dict[str, Callable[[Path], None]] = {
    "empty": lambda p: p.write_bytes(b""),
    "zeros": lambda p: p.write_bytes(bytes(48)),
    "random": lambda p: p.write_bytes(random.Random(7).randbytes(4096)),
    "text": lambda p: p.write_bytes(b'model_checkpoint_path: "model.ckpt"\n'),
    "a V1 table": lambda p: p.write_bytes((DATA / "v1" / "model.ckpt-2").read_bytes()),
    "only a footer": lambda p: p.write_bytes(SHARDED_INDEX[-48:]),
    "a directory": lambda p: p.mkdir(),
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_garbage_index_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    directory = _copy(tmp_path, "sharded")
    prefix = directory / "model.ckpt"
    index = directory / "model.ckpt.index"
    index.unlink()
    GARBAGE[kind](index)
    with pytest.raises(GraphtuiError) as exc_info:
        load_checkpoint(prefix)
    assert str(prefix) in _one_line(exc_info.value)
    out = tmp_path / "out" / "x"
    for argv in (
        ["ls", prefix],
        ["ls", index],
        ["cat", prefix, "global_step"],
        ["verify", directory],
        ["export", prefix, "--out", out],
    ):
        _cli_fails(capsys, *argv, names=(prefix,))
    _no_output(out)
    rc, _, _ = _cli(capsys, "history", directory)
    assert rc == 0


def test_history_and_ls_of_missing_or_file_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli_fails(capsys, "history", tmp_path / "nowhere", names=("nowhere",))
    _cli_fails(capsys, "ls", tmp_path / "nowhere", names=("nowhere",))
    _cli_fails(capsys, "verify", tmp_path, names=(tmp_path,))  # a directory without checkpoints


def test_error_lines_stay_one_line_for_odd_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newline or control character in a path is escaped, never a second stderr line."""
    directory = tmp_path / "bad\ndir\r\x1b[31m"
    shutil.copytree(DATA / "sharded", directory)
    (directory / "model.ckpt.index").write_bytes(SHARDED_INDEX[:100])
    with pytest.raises(FormatError) as exc_info:
        load_checkpoint(directory / "model.ckpt")
    assert "\\n" in _one_line(exc_info.value) and "\x1b" not in str(exc_info.value)
    for argv in (["ls", directory / "model.ckpt"], ["verify", directory]):
        _cli_fails(capsys, *argv, names=("bad\\ndir",))


# -- absurd sizes, crafted with graphtui's own table writer ----------------------------------------


def _craft_entry(directory: Path, prefix: str, name: str, **fields: Any) -> None:
    index = directory / f"{prefix}.index"
    items = _items(index)
    entry = _entry(items[name.encode()])
    shape = fields.pop("shape", None)
    if shape is not None:
        del entry.shape.dim[:]
        for d in shape:
            entry.shape.dim.add().size = d
    slices = fields.pop("slices", None)
    if slices is not None:
        for extents in slices:
            sp = entry.slices.add()
            for start, length in extents:
                ext = sp.extent.add()
                ext.start = start
                if length != -1:
                    ext.length = length
    for key, value in fields.items():
        setattr(entry, key, value)
    items[name.encode()] = bytes(entry.SerializeToString())
    _write_table(index, items)


def _craft_header(directory: Path, **fields: Any) -> None:
    index = directory / "model.ckpt.index"
    items = _items(index)
    header = pb.BundleHeaderProto()
    header.ParseFromString(items[b""])
    for key, value in fields.items():
        setattr(header, key, value)
    items[b""] = bytes(header.SerializeToString())
    _write_table(index, items)


def _craft_raw_index(directory: Path, blocks: list[bytes], index_block: bytes) -> None:
    """An index file from literal data blocks (each given with its trailer) and an index block
    whose handles are computed here."""
    out = bytearray()
    for block in blocks:
        out += block
    meta_offset = len(out)
    out += _block(b"\x00\x00\x00\x00\x01\x00\x00\x00")
    index_offset = len(out)
    out += index_block
    footer = bytearray(
        encode_handle(_handle(meta_offset, 8))
        + encode_handle(_handle(index_offset, len(index_block) - 5))
    )
    footer += bytes(40 - len(footer)) + (0xDB4775248B80FB57).to_bytes(8, "little")
    (directory / "model.ckpt.index").write_bytes(bytes(out + footer))


def _handle(offset: int, size: int) -> Any:
    from graphtui.formats.sstable import BlockHandle

    return BlockHandle(offset, size)


def _index_block_for(first_block_size: int) -> bytes:
    """An index block with one entry pointing at a data block of that size at offset 0."""
    value = encode_varint(0) + encode_varint(first_block_size)
    key = b"\xff"
    body = encode_varint(0) + encode_varint(len(key)) + encode_varint(len(value)) + key + value
    body += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    return _block(body)


def _raw_bundle(directory: Path, name: str, dtype: str, shape: list[int], raw: bytes) -> None:
    """A one-tensor checkpoint holding ``raw`` as stored bytes (with a correct data crc)."""
    with FileTransaction() as txn:
        writer = BundleWriter(directory / "model.ckpt", txn)
        writer.add_raw(name, dtypes.from_name(dtype), shape, raw, mask(crc32c(raw)))
        writer.finish()


def _case_entry(**fields: Any) -> Callable[[Path], None]:
    def make(directory: Path) -> None:
        _craft_entry(directory, "model.ckpt", fields.pop("name", "tower_0/weights"), **fields)

    return make


ABSURD: dict[str, tuple[str, Callable[[Path], None], str, bool]] = {
    # case: (tensor read, how to make it, file the error names ("index" / "data"), opens)
    "shape [2**40, 2**40]": (
        "tower_0/weights",
        _case_entry(shape=[1 << 40, 1 << 40]),
        "index",
        True,
    ),
    "shape [2**28, 2**28] with a matching size": (
        "tower_0/weights",
        _case_entry(shape=[1 << 28, 1 << 28], size=(1 << 58)),
        "data",
        True,
    ),
    "empty, shape [0, 2**40, 2**40]": (
        "tower_0/weights",
        _case_entry(shape=[0, 1 << 40, 1 << 40], size=0),
        "index",
        True,
    ),
    "offset near 2**63": ("tower_0/weights", _case_entry(offset=(1 << 63) - 16), "data", True),
    "size 2**63 - 1": ("tower_0/weights", _case_entry(size=(1 << 63) - 1), "index", True),
    "shard_id 10**9": ("tower_0/weights", _case_entry(shard_id=10**9), "index", True),
    "dtype 10**6": ("tower_0/weights", _case_entry(dtype=10**6), "index", True),
    "unknown rank": ("tower_0/weights", _case_entry(shape=[-1]), "index", True),
    "sliced, [2**40, 2**40], one full slice": (
        "tower_0/weights",
        _case_entry(shape=[1 << 40, 1 << 40], slices=[[(0, -1), (0, -1)]]),
        "index",
        True,
    ),
    "sliced, rank 10,000": (
        "tower_0/weights",
        _case_entry(slices=[[(0, 1)] * 10_000]),
        "index",
        True,
    ),
    "num_shards 10**9": (
        "tower_0/weights",
        lambda d: _craft_header(d, num_shards=10**9),
        "index",
        False,
    ),
    "num_shards -1": ("tower_0/weights", lambda d: _craft_header(d, num_shards=-1), "index", False),
    "endianness 7": ("tower_0/weights", lambda d: _craft_header(d, endianness=7), "index", False),
    "block handle of 2**40 bytes": (
        "tower_0/weights",
        lambda d: _craft_raw_index(d, [], _index_block_for(1 << 40)),
        "index",
        False,
    ),
    "restart count 2**32-1": (
        "tower_0/weights",
        lambda d: _craft_raw_index(
            d, [_block(b"\x00" * 8 + b"\xff\xff\xff\xff")], _index_block_for(12)
        ),
        "index",
        False,
    ),
    "entry value of 2**62 bytes": (
        "tower_0/weights",
        lambda d: _craft_raw_index(
            d,
            [_block(b"\x00\x01" + encode_varint(1 << 62) + b"k" + bytes(4) + b"\x01\x00\x00\x00")],
            _index_block_for(len(encode_varint(1 << 62)) + 11),
        ),
        "index",
        False,
    ),
    "snappy block claiming 2**32 bytes": (
        "tower_0/weights",
        lambda d: _craft_raw_index(
            d, [_block(encode_varint(1 << 32) + b"\x00a", ctype=1)], _index_block_for(7)
        ),
        "index",
        False,
    ),
    "string lengths claiming 2**60 bytes": (
        "s",
        lambda d: _raw_bundle(d, "s", "string", [2], encode_varint(1 << 60) * 2 + bytes(4) + b"x"),
        "data",
        True,
    ),
    "string shape [2**28, 2**28]": (
        "s",
        lambda d: _raw_bundle(d, "s", "string", [1 << 28, 1 << 28], b"\x01" + bytes(4) + b"x"),
        "data",
        True,
    ),
    "string shape [2**40, 2**40]": (
        "s",
        lambda d: _raw_bundle(d, "s", "string", [1 << 40, 1 << 40], b"\x01" + bytes(4) + b"x"),
        "index",
        True,
    ),
    "variant element of 2**60 bytes": (
        "v",
        lambda d: _raw_bundle(d, "v", "variant", [], encode_varint(1 << 60) + b"xxxx"),
        "data",
        True,
    ),
}

_CHILD = r"""
import contextlib, io, json, resource, sys, tracemalloc
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from graphtui.cli import main
from graphtui.core.checkpoint import load_checkpoint
from graphtui.errors import GraphtuiError
results = {}
for case in json.loads(sys.argv[1]):
    res = {}
    def api():
        with load_checkpoint(case["prefix"]) as reader:
            res["opened"] = True
            for name in reader.names():
                try:
                    reader.tensor_info(name)
                except GraphtuiError:
                    pass
            res["problems"] = [str(p) for p in reader.verify()]
            reader.get_tensor(case["tensor"])
    tracemalloc.start()
    try:
        api()
        res["api"] = "ok"
    except GraphtuiError as exc:
        res["api"] = "error"
        res["error"] = str(exc)
        res["error_type"] = type(exc).__name__
    except BaseException as exc:
        res["api"] = "crash"
        res["error"] = f"{type(exc).__name__}: {exc}"
    res["peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    res["cli"] = {}
    for cmd, argv in (
        ("ls", ["ls", case["prefix"]]),
        ("cat", ["cat", case["prefix"], case["tensor"]]),
        ("verify", ["verify", case["prefix"]]),
        ("export", ["export", case["prefix"], "--out", case["out"]]),
    ):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except BaseException as exc:
                rc = f"raised {type(exc).__name__}: {exc}"
        lines = [line[:300] for line in out.getvalue().splitlines()[-20:]]
        res["cli"][cmd] = [rc, "\n".join(lines), err.getvalue()]
    results[case["name"]] = res
print(json.dumps(results))
"""

AS_LIMIT = 1536 << 20  # 1.5 GiB of address space: any allocation sized by a bad number fails


@pytest.fixture(scope="module")
def absurd_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("absurd")
    cases = []
    for i, (name, (tensor, make, _, _)) in enumerate(sorted(ABSURD.items())):
        directory = root / f"case{i}"
        if tensor in ("s", "v"):
            directory.mkdir()
        else:
            shutil.copytree(DATA / "sharded", directory)
        make(directory)
        cases.append(
            {
                "name": name,
                "prefix": str(directory / "model.ckpt"),
                "tensor": tensor,
                "out": str(root / f"out{i}" / "x"),
            }
        )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(cases), str(AS_LIMIT)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results: dict[str, Any] = json.loads(proc.stdout)
    for case in cases:
        results[case["name"]]["case"] = case
    return results


@pytest.mark.parametrize("name", sorted(ABSURD))
def test_absurd_sizes(absurd_results: dict[str, Any], name: str) -> None:
    res = absurd_results[name]
    case = res["case"]
    _, _, names_file, opens = ABSURD[name]
    assert res["api"] == "error", res
    assert "\n" not in res["error"]
    expected_file = case["prefix"] + (".index" if names_file == "index" else ".data-0000")
    assert res["error"].startswith(expected_file), res["error"]
    assert res["peak"] < 32 << 20, res["peak"]
    assert res.get("opened", False) == opens
    if opens:
        assert repr(case["tensor"]) in res["error"]
        assert res["problems"], "verify must report the bad tensor"
    assert len(res["error"]) < 600, res["error"][:600]  # one readable line
    for cmd, (rc, out, err) in res["cli"].items():
        assert "Traceback" not in err and "internal error" not in err, (cmd, err)
        assert len(err) < 700 and all(len(line) < 700 for line in out.splitlines()), cmd
        assert err.count("\n") <= 1, (cmd, err)
        if cmd == "ls" and opens:
            assert rc in (0, 1) and (rc == 0) == (err == "")
            continue
        assert rc == 1, (cmd, rc, out, err)
        if cmd == "verify" and opens and not err:
            assert "BAD" in out
        else:
            assert err.startswith("graphtui: error: "), (cmd, err)
    out_dir = Path(case["out"]).parent
    assert not out_dir.exists() or not any(out_dir.iterdir())


# -- state files ----------------------------------------------------------------------------------


def test_state_file_naming_missing_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _copy(tmp_path, "train")
    for step in (30, 50):
        for path in directory.glob(f"model.ckpt-{step}.*"):
            path.unlink()
    state = directory / "checkpoint"
    _cli_fails(capsys, "ls", directory, names=(directory,))
    _cli_fails(capsys, "cat", directory, "global_step", names=(directory,))
    _cli_fails(capsys, "verify", directory, names=(directory,))
    _cli_fails(capsys, "export", directory, "--out", tmp_path / "o" / "x", names=(directory,))
    rc, out, err = _cli(capsys, "history", directory, "--json")
    assert rc == 0 and err == ""
    records = {r["name"]: r for r in json.loads(out)["checkpoints"]}
    assert records["model.ckpt-50"]["missing"] and records["model.ckpt-50"]["latest"]
    assert records["model.ckpt-30"]["missing"] and not records["model.ckpt-40"]["missing"]
    assert records["model.ckpt-40"]["complete"]
    _cli_fails(capsys, "rollback", directory, "30", names=("model.ckpt-30", "files missing"))
    before = state.read_bytes()
    rc, _, _ = _cli(capsys, "rollback", directory, "40")
    assert rc == 0 and state.read_bytes() != before
    assert get_checkpoint_state(directory).model_checkpoint_path.endswith("model.ckpt-40")


STATE_GARBAGE = {
    "binary": random.Random(3).randbytes(300),
    "not utf-8": b'model_checkpoint_path: "\xff\xfe"\n',
    "syntax error": b'model_checkpoint_path: "model.ckpt-50\n',
    "unknown field": b'model_checkpoint_path: "model.ckpt-50"\nbogus: 1\n',
    "no latest": b'all_model_checkpoint_paths: "model.ckpt-50"\n',
}


@pytest.mark.parametrize("kind", sorted(STATE_GARBAGE))
def test_garbage_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    directory = _copy(tmp_path, "train")
    state = directory / "checkpoint"
    state.write_bytes(STATE_GARBAGE[kind])
    if kind == "no latest":  # TF raises ValueError ("Invalid checkpoint state") here too
        with pytest.raises(FormatError) as exc_info:
            get_checkpoint_state(directory)
    else:  # as TF's get_checkpoint_state (it logs a warning): no state; read_state says why
        assert get_checkpoint_state(directory) is None
        with pytest.raises(FormatError) as exc_info:
            read_state(state)
    assert _one_line(exc_info.value).startswith(str(state))
    refused = [["ls", directory], ["verify", directory]]
    if kind != "no latest":  # rollback rewrites a parseable state file into a valid one
        refused.append(["rollback", directory, "40"])
    for argv in refused:
        _cli_fails(capsys, *argv, names=(state,))
    rc, out, err = _cli(capsys, "history", directory)
    if kind == "no latest":  # parses: the listed checkpoint is shown, nothing is latest
        assert rc == 0 and err == ""
    else:  # one warning line; the checkpoints on disk are still listed
        assert rc == 0 and err.startswith("graphtui: warning: ") and str(state) in err
    assert out.count("model.ckpt-") == 3
    # the checkpoints themselves are fine
    rc, _, _ = _cli(capsys, "ls", directory / "model.ckpt-40")
    assert rc == 0


def test_huge_state_file_is_refused_without_reading_it_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = _copy(tmp_path, "train")
    state = directory / "checkpoint"
    with open(state, "r+b") as fh:
        fh.truncate(1 << 30)  # sparse: 1 GiB of zeros
    err, peak = _peak(lambda: read_state(state))
    assert isinstance(err, FormatError) and "16 MiB" in _one_line(err)
    assert get_checkpoint_state(directory) is None  # as TF's, for a state file it cannot read
    assert peak < 40 << 20
    _cli_fails(capsys, "ls", directory, names=(state,))


# -- meta graphs ----------------------------------------------------------------------------------

META = (DATA / "sharded" / "model.ckpt.meta").read_bytes()


def _top_level_ends(data: bytes) -> set[int]:
    ends = set()
    pos = 0
    while pos < len(data):
        tag, pos = decode_varint(data, pos)
        assert tag & 7 == 2
        length, pos = decode_varint(data, pos)
        pos += length
        ends.add(pos)
    return ends


@pytest.mark.parametrize(
    "cut", sorted({*range(1, len(META), 997), *_top_level_ends(META)} - {len(META)})
)
def test_truncated_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int) -> None:
    """A cut inside a field is an error naming the file; a cut between top-level fields is a
    valid, smaller MetaGraphDef (as for TensorFlow)."""
    directory = _copy(tmp_path, "sharded")
    meta = directory / "model.ckpt.meta"
    meta.write_bytes(META[:cut])
    out = tmp_path / "out" / "x"
    if cut in _top_level_ends(META):
        mg = read_meta_graph(meta)
        assert mg.ByteSize() == cut
        return
    with pytest.raises(FormatError) as exc_info:
        read_meta_graph(meta)
    assert _one_line(exc_info.value).startswith(str(meta))
    _cli_fails(capsys, "export", directory / "model.ckpt", "--out", out, names=(meta,))
    _cli_fails(capsys, "export", meta, "--out", out, names=(meta,))
    _no_output(out)


META_GARBAGE = {
    "zeros": bytes(1000),
    "0xff": b"\xff" * 1000,
    "random": random.Random(5).randbytes(5000),
    "png": b"\x89PNG\r\n\x1a\n" + bytes(100),
    "an index file": SHARDED_INDEX,
    "text syntax error": b"meta_info_def {\n  meta_graph_version: 'v1'\n  tags: [\n}\n",
    "text unknown field": b"graph_def {\n  node { name: 'a' op: 'NoOp' }\n}\nbogus_field: 3\n",
    "text unbalanced": b"graph_def {\n  node { name: 'a' op: 'NoOp' }\n",
    "text not utf-8": b"graph_def { node { name: '\xff' } }\n",
}


@pytest.mark.parametrize("kind", sorted(META_GARBAGE))
def test_garbage_meta(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    directory = _copy(tmp_path, "sharded")
    meta = directory / "model.ckpt.meta"
    meta.write_bytes(META_GARBAGE[kind])
    with pytest.raises(FormatError) as exc_info:
        read_meta_graph(meta)
    text = _one_line(exc_info.value)
    assert text.startswith(str(meta))
    if kind == "text syntax error":
        assert "line 4" in text
    out = tmp_path / "out" / "x"
    for argv in (
        ["export", directory / "model.ckpt", "--out", out],
        ["strip", directory / "model.ckpt", "--drop", "tower_1/*", "--out", out],
        ["rename", directory / "model.ckpt", "--map", "tower_1=t1", "--out", out],
    ):
        _cli_fails(capsys, *argv, names=(meta,))
    _no_output(out)
    rc, _, _ = _cli(capsys, "ls", directory / "model.ckpt.meta")  # ls reads the checkpoint only
    assert rc == 0


def _field(number: int, payload: bytes) -> bytes:
    return encode_varint(number << 3 | 2) + encode_varint(len(payload)) + payload


def _deep_attr_meta(levels: int) -> bytes:
    """MetaGraphDef > graph_def > node > attr["a"] > AttrValue.list.func[0].attr["a"] > ...
    ``levels`` AttrValues deep, built from the inside out without quadratic copying."""
    # Each level, outside in: AttrValue{list(1){func(9){name(1), attr(2){key(1), value(2): ...}}}}
    heads: list[bytes] = []
    inner = len(b"")  # the innermost AttrValue is empty
    for _ in range(levels):
        entry_len = (
            len(_field(1, b"a"))
            + len(encode_varint(2 << 3 | 2))
            + len(encode_varint(inner))
            + inner
        )
        func_len = (
            len(_field(1, b"f"))
            + len(encode_varint(2 << 3 | 2))
            + len(encode_varint(entry_len))
            + entry_len
        )
        list_len = len(encode_varint(9 << 3 | 2)) + len(encode_varint(func_len)) + func_len
        attr_len = len(encode_varint(1 << 3 | 2)) + len(encode_varint(list_len)) + list_len
        heads.append(
            encode_varint(1 << 3 | 2)
            + encode_varint(list_len)
            + encode_varint(9 << 3 | 2)
            + encode_varint(func_len)
            + _field(1, b"f")
            + encode_varint(2 << 3 | 2)
            + encode_varint(entry_len)
            + _field(1, b"a")
            + encode_varint(2 << 3 | 2)
            + encode_varint(inner)
        )
        inner = attr_len
    body = b"".join(reversed(heads))
    assert len(body) == inner
    node = _field(1, b"n") + _field(2, b"Const") + encode_varint(5 << 3 | 2)
    entry_head = _field(1, b"a") + encode_varint(2 << 3 | 2) + encode_varint(inner)
    node_len = len(node) + len(encode_varint(len(entry_head) + inner)) + len(entry_head) + inner
    graph_head = encode_varint(1 << 3 | 2) + encode_varint(node_len)
    graph_len = len(graph_head) + node_len
    return (
        encode_varint(2 << 3 | 2)
        + encode_varint(graph_len)
        + graph_head
        + node
        + encode_varint(len(entry_head) + inner)
        + entry_head
        + body
    )


def test_deep_attr_builder_is_valid_when_shallow() -> None:
    mg = pb.MetaGraphDef()
    mg.ParseFromString(_deep_attr_meta(3))
    value = mg.graph_def.node[0].attr["a"]
    for _ in range(2):
        value = value.list.func[0].attr["a"]
    assert value.list.func[0].name == "f" and not value.list.func[0].attr["a"].ListFields()


@pytest.mark.parametrize("as_text", [False, True])
def test_deeply_nested_meta(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], as_text: bool
) -> None:
    """AttrValue lists 10,000 deep (40,000 messages): refused by depth, no recursion crash."""
    directory = _copy(tmp_path, "sharded")
    meta = directory / "model.ckpt.meta"
    levels = 10_000
    if as_text:
        head = "list { func { name: 'f' attr { key: 'a' value { "
        text = (
            "graph_def { node { name: 'n' op: 'Const' attr { key: 'a' value { "
            + head * levels
            + "}" * (4 * levels + 4)
        )
        meta.write_text(text)
    else:
        meta.write_bytes(_deep_attr_meta(levels))
    err, _ = _peak(lambda: read_meta_graph(meta))
    assert isinstance(err, FormatError), err
    assert _one_line(err).startswith(str(meta)) and "deep" in str(err)
    out = tmp_path / "out" / "x"
    _cli_fails(capsys, "export", directory / "model.ckpt", "--out", out, names=(meta, "deep"))
    _no_output(out)


def test_recursive_function_library(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Functions that call themselves and each other load, list and export without recursing."""
    directory = _copy(tmp_path, "sharded")
    meta = directory / "model.ckpt.meta"
    mg = pb.MetaGraphDef()
    mg.ParseFromString(META)
    for name, callee in (("f", "f"), ("g", "h"), ("h", "g")):
        fdef = mg.graph_def.library.function.add()
        fdef.signature.name = name
        node = fdef.node_def.add(name="call", op=callee)
        node.attr["f"].func.name = callee
    caller = mg.graph_def.node.add(name="calls_f", op="PartitionedCall")
    caller.attr["f"].func.name = "f"
    meta.write_bytes(mg.SerializeToString())
    graph = GraphIndex(read_meta_graph(meta))
    assert [f.name for f in graph.functions()] == ["f", "g", "h"]
    assert [n.op for n in graph.function_nodes("g")] == ["h"]
    out = tmp_path / "out" / "x"
    rc, stdout, err = _cli(capsys, "export", directory / "model.ckpt", "--out", out)
    assert rc == 0 and err == "" and "verified" in stdout
    assert read_meta_graph(str(out) + ".meta") == mg


# -- safety: nothing in an input is executed or unpickled -------------------------------------------

_FORBIDDEN_MODULES = {
    "pickle",
    "cPickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "yaml",
    "joblib",
}
_FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "execfile"}


def test_no_code_path_unpickles_or_evaluates_input() -> None:
    """An AST scan of the package: no pickle/marshal/yaml import, no eval/exec/compile, no
    np.load (np.save / write_array with allow_pickle is writing and fine), importlib only with
    our names."""
    found = []
    for path in sorted((ROOT / "graphtui").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        rel = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                found += [
                    f"{rel}:{node.lineno} imports {m}"
                    for m in mods
                    if m.split(".")[0] in _FORBIDDEN_MODULES
                ]
            elif isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else ""
                )
                builtin = isinstance(func, ast.Name) or (
                    isinstance(func, ast.Attribute) and ast.unparse(func.value) == "builtins"
                )
                if builtin and name in _FORBIDDEN_CALLS:
                    found.append(f"{rel}:{node.lineno} calls {name}")
                if name in ("load", "loads") and isinstance(func, ast.Attribute):
                    owner = ast.unparse(func.value)
                    if owner in ("np", "numpy", "pickle", "marshal"):
                        found.append(f"{rel}:{node.lineno} calls {owner}.{name}")
                for kw in node.keywords:
                    if kw.arg == "allow_pickle" and name not in ("save", "write_array"):
                        found.append(f"{rel}:{node.lineno} passes allow_pickle to {name}")
                if name == "import_module" and rel.name not in ("cli.py", "__init__.py"):
                    found.append(f"{rel}:{node.lineno} imports a module by name")
    assert found == []


class _Trap:
    """Unpickling this creates a directory: proof that something unpickled input."""

    def __init__(self, sentinel: str) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.makedirs, (self.sentinel,))


def test_pickles_in_tensors_and_graphs_stay_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "UNPICKLED"
    payload = pickle.dumps(_Trap(str(sentinel)))
    directory = tmp_path / "ckpt"
    directory.mkdir()
    prefix = directory / "model.ckpt"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add("trap", np.array([payload, b"npy\x93NUMPY"], dtype=object))
        writer.add("obj", np.frombuffer(payload, dtype=np.uint8))
        writer.finish()
    mg = pb.MetaGraphDef()
    node = mg.graph_def.node.add(name="trap", op="Const")
    node.attr["value"].tensor.dtype = 7
    node.attr["value"].tensor.string_val.append(payload)
    node.attr["dtype"].type = 7
    (directory / "model.ckpt.meta").write_bytes(mg.SerializeToString())
    with load_checkpoint(prefix) as reader:
        assert reader.get_tensor("trap")[0] == payload
    for argv in (
        ["cat", prefix, "trap"],
        ["cat", prefix, "trap", "--json"],
        ["cat", prefix, "obj", "--full"],
        ["cat", prefix, "trap", "--npy", tmp_path / "trap.npy"],
        ["export", prefix, "--out", tmp_path / "out" / "x"],
        ["verify", prefix],
    ):
        rc, _, err = _cli(capsys, *argv)
        assert rc == 0 and err == ""
    graph = GraphIndex(read_meta_graph(directory / "model.ckpt.meta"))
    assert graph.node("trap") is not None
    from graphtui.core.workspace import open_workspace

    ws = open_workspace(str(prefix))
    try:
        assert ws.tensor("trap").whole()[0] == payload
        ws.export_npy("trap", tmp_path / "ws.npy")
        ws.variables()
    finally:
        ws.close()
    assert not sentinel.exists()


def test_state_paths_resolve_like_tensorflow_and_outside_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Relative state paths are joined to the state file's directory (TF's rule), absolute ones
    kept; history flags every one that leaves the directory."""
    directory = _copy(tmp_path, "train")
    elsewhere = _copy(tmp_path, "moved")
    (directory / "sub").mkdir()
    for path in directory.glob("model.ckpt-30.*"):
        path.rename(directory / "sub" / path.name)
    state = directory / "checkpoint"
    state.write_text(
        f'model_checkpoint_path: "../moved/model.ckpt-2"\n'
        f'all_model_checkpoint_paths: "sub/model.ckpt-30"\n'
        f'all_model_checkpoint_paths: "./model.ckpt-40"\n'
        f'all_model_checkpoint_paths: "{elsewhere}/model.ckpt-1"\n'
        f'all_model_checkpoint_paths: "../moved/model.ckpt-2"\n'
        f'all_model_checkpoint_paths: "{directory}/model.ckpt-50"\n'
    )
    resolved = get_checkpoint_state(directory)
    assert resolved.model_checkpoint_path == os.path.join(directory, "../moved/model.ckpt-2")
    assert list(resolved.all_model_checkpoint_paths)[:2] == [
        os.path.join(directory, "sub/model.ckpt-30"),
        os.path.join(directory, "./model.ckpt-40"),
    ]
    hist = scan_history(directory)
    outside = {os.path.basename(r.prefix): r.outside for r in hist.records}
    assert outside == {
        "model.ckpt-30": False,
        "model.ckpt-40": False,
        "model.ckpt-1": True,
        "model.ckpt-2": True,
        "model.ckpt-50": False,
    }
    assert all(r.complete for r in hist.records)
    rc, out, _ = _cli(capsys, "history", directory)
    flagged = [line for line in out.splitlines() if "outside directory" in line]
    assert rc == 0 and len(flagged) == 2
    rc, out, _ = _cli(capsys, "history", directory, "--json")
    assert sum(r["outside_directory"] for r in json.loads(out)["checkpoints"]) == 2
    # like TF, the latest is read where the state file points, and ls says which prefix
    rc, out, _ = _cli(capsys, "ls", directory)
    assert rc == 0 and os.path.normpath(
        os.path.join(directory, "../moved/model.ckpt-2")
    ) in os.path.normpath(out.splitlines()[-1].split(": ", 1)[1].rstrip(")"))


# -- names that are not UTF-8 ----------------------------------------------------------------------


def test_tensor_names_that_are_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Index keys are bytes; a name that is not UTF-8 reads (whole and sliced) and copies."""
    whole = b"caf\xe9/w".decode("utf-8", "surrogateescape")
    sliced = b"p\xff".decode("utf-8", "surrogateescape")
    prefix = tmp_path / "m"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add(whole, np.arange(3, dtype=np.float32))
        parts = [(((0, 2),), np.zeros(2, np.float32)), (((2, 2),), np.ones(2, np.float32))]
        writer.add_sliced(sliced, dtypes.from_name("float32"), [4], parts)
        writer.finish()
    assert _items(Path(f"{prefix}.index")).keys() >= {b"caf\xe9/w", b"p\xff"}
    with load_checkpoint(prefix) as reader:
        assert reader.names() == [whole, sliced]
        assert reader.get_tensor(sliced).tolist() == [0, 0, 1, 1]
        assert reader.verify() == []
    out = tmp_path / "out" / "x"
    rc, _, err = _cli(capsys, "export", prefix, "--out", out)
    assert rc == 0 and err == ""
    assert _values(out) == _values(prefix)


# -- empty tensors whose other dims are absurd: numpy refuses even the empty array --------------

HUGE_EMPTY = [0, 1 << 40, 1 << 40]


def test_v1_and_const_with_empty_but_absurd_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = _copy(tmp_path, "v1") / "model.ckpt-2"
    items = _items(v1)
    meta = pb.SavedTensorSlices()
    meta.ParseFromString(items[b""])
    for tensor in meta.meta.tensor:
        if tensor.name == "v1/weights":
            del tensor.shape.dim[:]
            for d in HUGE_EMPTY:
                tensor.shape.dim.add().size = d
    items[b""] = bytes(meta.SerializeToString())
    _write_table(v1, items)
    with pytest.raises(FormatError) as exc_info:
        load_checkpoint(v1)
    assert _one_line(exc_info.value).startswith(str(v1)) and "v1/weights" in str(exc_info.value)
    _cli_fails(capsys, "ls", v1, names=(v1,))
    mg = pb.MetaGraphDef()
    node = mg.graph_def.node.add(name="c", op="Const")
    node.attr["value"].tensor.dtype = 1
    for d in HUGE_EMPTY:
        node.attr["value"].tensor.tensor_shape.dim.add().size = d
    value = GraphIndex(mg).attrs("c")["value"]
    assert "too large" in value.reason


# -- pipes and devices where files belong: refused, never a blocking open -----------------------


def test_pipes_and_devices_never_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = _copy(tmp_path, "sharded")
    prefix = directory / "model.ckpt"
    shard = directory / "model.ckpt.data-00001-of-00002"
    shard.unlink()
    os.mkfifo(shard)
    with load_checkpoint(prefix) as reader:
        reader.get_tensor("tower_0/weights")  # the other shard is fine
        with pytest.raises(FormatError, match="not a regular file") as exc_info:
            reader.get_tensor("tower_1/weights")
        assert _one_line(exc_info.value).startswith(str(shard))
    _cli_fails(capsys, "cat", prefix, "tower_1/bias", names=(shard, "not a regular file"))
    rc, out, err = _cli(capsys, "verify", prefix)
    assert rc == 1 and err == "" and "not a regular file" in out
    out_prefix = tmp_path / "out" / "x"
    _cli_fails(capsys, "export", prefix, "--out", out_prefix, names=(shard,))
    _no_output(out_prefix)
    rc, out, _ = _cli(capsys, "history", directory, "--json")
    (record,) = json.loads(out)["checkpoints"]
    assert rc == 0 and not record["complete"] and "1 of 2 data shards missing" in record["problem"]
    # a device in place of a shard, a pipe in place of the index, the meta graph, the state
    shard.unlink()
    shard.symlink_to("/dev/zero")
    _cli_fails(capsys, "cat", prefix, "tower_1/bias", names=(shard, "not a regular file"))
    (directory / "model.ckpt.meta").unlink()
    os.mkfifo(directory / "model.ckpt.meta")
    with pytest.raises(FormatError, match="not a regular file"):
        read_meta_graph(directory / "model.ckpt.meta")
    (directory / "checkpoint").unlink()
    os.mkfifo(directory / "checkpoint")
    rc, _, _ = _cli(capsys, "history", directory)
    assert rc == 0
    index = directory / "model.ckpt.index"
    index.unlink()
    os.mkfifo(index)
    _cli_fails(capsys, "ls", prefix, names=(prefix,))
    with pytest.raises(FormatError, match="not a regular file"):
        Table(index)
