"""Damaged checkpoints: every fault is found, named (file and tensor) in one line, and never
costs an allocation sized by a corrupt number."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graphtui._proto import pb
from graphtui.cli import main
from graphtui.core.checkpoint import load_checkpoint
from graphtui.errors import ChecksumError, FormatError, MissingFileError
from graphtui.formats.ordered_code import encode_slice_key
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter
from tests.fixtures.shared import DATA


def _copy(tmp_path: Path, fixture: str) -> Path:
    """Copy fixture directory ``fixture`` into tmp_path; return the copy."""
    dest = tmp_path / fixture.replace("/", "_")
    shutil.copytree(DATA / fixture, dest)
    return dest


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.write_bytes(bytes(data))


def _entry_location(prefix: Path, name: str) -> tuple[Path, int, int]:
    """(data file, offset, size) of a whole tensor, read with graphtui's own reader."""
    with load_checkpoint(prefix) as reader:
        bundle = reader.bundle
        assert bundle is not None
        entry = bundle.entry(name)
        return Path(bundle.data_files()[entry.shard_id]), entry.offset, entry.size


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


# -- a flipped byte in tensor data ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "prefix", "victim", "bystander"),
    [
        ("sharded", "model.ckpt", "tower_1/weights", "tower_0/weights"),
        ("dtypes", "model.ckpt", "t_string_2d", "t_string"),
        ("dtypes", "model.ckpt", "t_complex128", "t_float32"),
        ("train", "model.ckpt-50", "global_step", "global_step"),
    ],
)
def test_flipped_data_byte_names_the_tensor(
    tmp_path: Path, fixture: str, prefix: str, victim: str, bystander: str
) -> None:
    prefix_path = _copy(tmp_path, fixture) / prefix
    data_file, offset, size = _entry_location(prefix_path, victim)
    assert size > 0
    _flip(data_file, offset + size - 1)  # the last byte: string contents, not the lengths
    with load_checkpoint(prefix_path) as reader:
        with pytest.raises(ChecksumError) as exc_info:
            reader.get_tensor(victim)
        text = _one_line(exc_info.value)
        assert repr(victim) in text and data_file.name in text
        if bystander != victim:
            reader.get_tensor(bystander)  # the rest of the checkpoint still reads
        problems = reader.verify()
    assert len(problems) == 1
    assert isinstance(problems[0], ChecksumError) and repr(victim) in str(problems[0])


def test_flipped_string_length_is_caught(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "dtypes") / "model.ckpt"
    data_file, offset, _ = _entry_location(prefix, "t_string")
    _flip(data_file, offset)  # the first varint length
    with load_checkpoint(prefix) as reader, pytest.raises(FormatError) as exc_info:
        reader.get_tensor("t_string")
    assert "'t_string'" in _one_line(exc_info.value)


def test_flipped_byte_in_a_slice_names_the_partitioned_tensor(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "partitioned") / "model.ckpt"
    with load_checkpoint(prefix) as reader:
        bundle = reader.bundle
        assert bundle is not None
        full = bundle.entry("embeddings/wide")
        sub = bundle.slice_entry("embeddings/wide", full.slices[2])
    _flip(Path(str(prefix) + ".data-00000-of-00001"), sub.offset + 1)
    with load_checkpoint(prefix) as reader:
        with pytest.raises(ChecksumError, match="embeddings/wide"):
            reader.get_tensor("embeddings/wide")
        reader.get_tensor("embeddings/table")
        problems = reader.verify()
    assert [("embeddings/wide" in str(p)) for p in problems] == [True]


def test_verify_cli_reports_the_corrupt_tensor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _copy(tmp_path, "sharded") / "model.ckpt"
    data_file, offset, _ = _entry_location(prefix, "tower_0/bias")
    assert main(["verify", str(prefix)]) == 0
    assert "all checksums ok" in capsys.readouterr().out
    _flip(data_file, offset)
    assert main(["verify", str(prefix)]) == 1
    out = capsys.readouterr().out.splitlines()
    bad = [line for line in out if line.startswith("BAD")]
    assert len(bad) == 1 and "'tower_0/bias'" in bad[0] and data_file.name in bad[0]
    assert out[-1].endswith("6 tensors, 1 problems")
    assert main(["verify", str(prefix), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["tensors"] == 6
    assert len(report["problems"]) == 1 and "'tower_0/bias'" in report["problems"][0]


# -- a flipped byte in the index -----------------------------------------------------------------


@pytest.mark.parametrize("where", ["first", "middle", "index block"])
def test_flipped_index_byte_is_a_checksum_error_naming_the_index(
    tmp_path: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _copy(tmp_path, "train") / "model.ckpt-50"
    index = Path(str(prefix) + ".index")
    table = Table(index)
    offset = {
        "first": 3,
        "middle": table._index_handles[0].size // 2,
        "index block": table.index_handle.offset + 2,
    }[where]
    table.close()
    _flip(index, offset)
    with pytest.raises(ChecksumError) as exc_info:
        load_checkpoint(prefix)
    assert _one_line(exc_info.value).startswith(str(index))
    assert "checksum" in str(exc_info.value)
    assert main(["verify", str(prefix)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and str(index) in captured.err
    assert "Traceback" not in captured.err


# -- missing data shards -------------------------------------------------------------------------


def test_read_with_the_other_shard_missing(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "sharded") / "model.ckpt"
    names: dict[int, list[str]] = {0: [], 1: []}
    with load_checkpoint(prefix) as reader:
        bundle = reader.bundle
        assert bundle is not None
        for name in reader.names():
            names[bundle.entry(name).shard_id].append(name)
        expected = {name: reader.get_tensor(name).tobytes() for name in reader.names()}
    for gone in (0, 1):
        victim = Path(f"{prefix}.data-{gone:05d}-of-00002")
        saved = victim.read_bytes()
        victim.unlink()
        with load_checkpoint(prefix) as reader:
            for name in names[1 - gone]:
                assert reader.get_tensor(name).tobytes() == expected[name]
            for name in names[gone]:
                with pytest.raises(MissingFileError) as exc_info:
                    reader.get_tensor(name)
                assert _one_line(exc_info.value).startswith(str(victim))
            problems = reader.verify()
            assert any(isinstance(p, MissingFileError) for p in problems)
            assert all(str(victim) in str(p) for p in problems)
        victim.write_bytes(saved)


# -- truncated, empty and garbage index files ----------------------------------------------------


def _index_of(tmp_path: Path) -> tuple[Path, bytes]:
    prefix = _copy(tmp_path, "train") / "model.ckpt-50"
    index = Path(str(prefix) + ".index")
    return prefix, index.read_bytes()


@pytest.mark.parametrize("keep", [0, 1, 20, 0.5, -48, -47, -1])
def test_truncated_index(tmp_path: Path, keep: float, capsys: pytest.CaptureFixture[str]) -> None:
    prefix, data = _index_of(tmp_path)
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data) if keep else 0
    index = Path(str(prefix) + ".index")
    index.write_bytes(data[:cut])
    with pytest.raises(FormatError) as exc_info:
        load_checkpoint(prefix)
    text = _one_line(exc_info.value)
    assert text.startswith(str(index))
    assert main(["ls", str(prefix)]) == 1
    err = capsys.readouterr().err
    assert err == f"graphtui: error: {text}\n"


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x00" * 48,
        b"\x00" * 4096,
        bytes(range(256)) * 3,
        b"model_checkpoint_path: 'not an index'\n" * 3,
    ],
)
def test_garbage_index(tmp_path: Path, garbage: bytes) -> None:
    prefix, data = _index_of(tmp_path)
    index = Path(str(prefix) + ".index")
    index.write_bytes(garbage)
    with pytest.raises(FormatError) as exc_info:
        load_checkpoint(prefix)
    assert _one_line(exc_info.value).startswith(str(index))


def test_garbage_with_a_valid_footer(tmp_path: Path) -> None:
    """Random block contents behind a real footer: the block checksum refuses them."""
    prefix, data = _index_of(tmp_path)
    index = Path(str(prefix) + ".index")
    index.write_bytes(bytes(len(data) - 48) + data[-48:])
    with pytest.raises(ChecksumError) as exc_info:
        load_checkpoint(prefix)
    assert _one_line(exc_info.value).startswith(str(index))


def test_index_without_header_or_with_a_bad_header(tmp_path: Path) -> None:
    prefix, _ = _index_of(tmp_path)
    index = Path(str(prefix) + ".index")
    _rewrite_index(index, lambda key, value: None if key == b"" else value)
    with pytest.raises(FormatError, match="no bundle header"):
        load_checkpoint(prefix)
    _rewrite_index(index, lambda key, value: value, extra={b"": b"\xff\xff\xff"})
    with pytest.raises(FormatError, match="corrupt bundle header"):
        load_checkpoint(prefix)


# -- entries whose sizes lie ---------------------------------------------------------------------


def _rewrite_index(
    index: Path,
    edit: Callable[[bytes, bytes], bytes | None],
    extra: dict[bytes, bytes] | None = None,
) -> None:
    """Rewrite a table file with ``edit(key, value) -> value or None`` applied to each entry."""
    with Table(index) as table:
        items = [(key, bytes(value)) for key, value in table.items()]
    out: dict[bytes, bytes] = {}
    for key, value in items:
        new = edit(key, value)
        if new is not None:
            out[key] = new
    out.update(extra or {})
    with open(index, "wb") as fh:
        writer = TableWriter(fh)
        for key in sorted(out):
            writer.add(key, out[key])
        writer.finish()


def _edit_entry(index: Path, key: bytes, **fields: Any) -> None:
    def edit(k: bytes, value: bytes) -> bytes:
        if k != key:
            return value
        entry = pb.BundleEntryProto()
        entry.ParseFromString(value)
        shape = fields.pop("shape", None)
        if shape is not None:
            del entry.shape.dim[:]
            for d in shape:
                entry.shape.dim.add().size = d
        for name, v in fields.items():
            setattr(entry, name, v)
        return bytes(entry.SerializeToString())

    _rewrite_index(index, edit)


def _assert_small(fn: Callable[[], object], limit: int = 32 << 20) -> BaseException:
    """Run ``fn`` expecting a FormatError; the peak traced allocation stays under ``limit``."""
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as exc_info:
            fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak allocation {peak} bytes"
    _one_line(exc_info.value)
    return exc_info.value


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"size": 1 << 40}, "needs 128 bytes but the entry says"),  # disagrees with the shape
        ({"shape": [1 << 38], "size": 1 << 40}, "truncated"),  # agrees with the shape only
        ({"offset": 1 << 40}, "truncated"),
        ({"offset": (1 << 63) - 1}, "truncated"),
        ({"offset": -8}, "negative"),  # int64 in the proto: must not index from the end
        ({"offset": -1 << 63}, "negative"),
    ],
)
def test_entry_larger_than_the_data_file(
    tmp_path: Path, fields: dict[str, object], says: str
) -> None:
    prefix = _copy(tmp_path, "train") / "model.ckpt-50"
    index = Path(str(prefix) + ".index")
    name = "model/layer_1/dense/kernel"  # float32 [4, 8]: 128 bytes
    _edit_entry(index, name.encode(), **fields)
    with load_checkpoint(prefix) as reader:
        err = _assert_small(lambda: reader.get_tensor(name))
        assert repr(name) in str(err) and says in str(err)
        reader.get_tensor("global_step")
        problems = reader.verify()
    assert len(problems) == 1 and name in str(problems[0])


def test_string_entry_claiming_huge_shape(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "dtypes") / "model.ckpt"
    _edit_entry(Path(str(prefix) + ".index"), b"t_string", shape=[1 << 40])
    with load_checkpoint(prefix) as reader:
        err = _assert_small(lambda: reader.get_tensor("t_string"))
    assert "'t_string'" in str(err)


@pytest.mark.parametrize("kind", ["int64", "string"])
def test_slice_claiming_huge_shape(tmp_path: Path, kind: str) -> None:
    """A partitioned tensor whose full and slice entries agree on a huge shape: refused before
    the output array is allocated."""
    prefix = _copy(tmp_path, "partitioned") / "model.ckpt"
    index = Path(str(prefix) + ".index")
    huge = 1 << 36
    name = "embeddings/ids"  # [7] int64 in 3 slices along axis 0
    with Table(index) as table:
        items = {key: bytes(value) for key, value in table.items()}
    full = pb.BundleEntryProto()
    full.ParseFromString(items[name.encode()])
    old_keys = [
        encode_slice_key(name, [(e.start, e.length) for e in s.extent]) for s in full.slices
    ]
    last = full.slices[-1].extent[0]
    full.shape.dim[0].size = last.start + huge
    last.length = huge
    new_last_key = encode_slice_key(name, [(last.start, huge)])
    sub = pb.BundleEntryProto()
    sub.ParseFromString(items.pop(old_keys[-1]))
    sub.shape.dim[0].size = huge
    if kind == "int64":
        sub.size = huge * 8  # consistent with the shape, far beyond the data file
    items[new_last_key] = bytes(sub.SerializeToString())
    if kind == "string":  # a string tensor's size is not tied to its shape
        full.dtype = 7
        for key in [*old_keys[:-1], new_last_key]:
            part = pb.BundleEntryProto()
            part.ParseFromString(items[key])
            part.dtype = 7
            items[key] = bytes(part.SerializeToString())
    items[name.encode()] = bytes(full.SerializeToString())
    with open(index, "wb") as fh:
        writer = TableWriter(fh)
        for key in sorted(items):
            writer.add(key, items[key])
        writer.finish()
    with load_checkpoint(prefix) as reader:
        assert reader.tensor_info(name).shape == (last.start + huge,)
        err = _assert_small(lambda: reader.get_tensor(name))
        assert name in str(err)


def test_v1_slice_claiming_huge_shape(tmp_path: Path) -> None:
    v1 = _copy(tmp_path, "v1") / "model.ckpt-2"

    def edit(key: bytes, value: bytes) -> bytes:
        if key != b"":
            return value
        msg = pb.SavedTensorSlices()
        msg.ParseFromString(value)
        for tensor in msg.meta.tensor:
            if tensor.name == "v1/weights":
                tensor.shape.dim[0].size = 1 << 40
        return bytes(msg.SerializeToString())

    _rewrite_index(v1, edit)
    with load_checkpoint(v1) as reader:
        err = _assert_small(lambda: reader.get_tensor("v1/weights"))
        assert "'v1/weights'" in str(err)
        assert reader.get_tensor("v1/counts").tolist() == [2, 3, 4, 5]


def test_data_file_truncated(tmp_path: Path) -> None:
    prefix = _copy(tmp_path, "train") / "model.ckpt-50"
    data_file = Path(str(prefix) + ".data-00000-of-00001")
    data_file.write_bytes(data_file.read_bytes()[:100])
    with load_checkpoint(prefix) as reader:
        problems = reader.verify()
        assert problems and all("truncated" in str(p) for p in problems)
        assert all(str(data_file) in str(p) for p in problems)
