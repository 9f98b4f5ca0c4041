"""The data file writer of every checkpoint write (issue 17.2, writes at copy speed): copied
runs go to the disk straight from the source's mapped pages (O_DIRECT) when they line up with
the output, through an aligned staging buffer when they do not, and through the page cache
where O_DIRECT is refused; in every mode each copied tensor's checksum is checked on the bytes
copied, a bad one or a failed disk write leaves nothing, and the bytes come out exactly."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.names import ScopeMap
from graphtui.core.rename import rename
from graphtui.core.strip import strip
from graphtui.errors import FormatError, WriteError
from graphtui.formats import data_sink
from graphtui.formats.bundle import BundleReader
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction

DATA = ".data-00000-of-00001"


def _source(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """Tensors of awkward sizes (a few bytes to several chunks), in a known order."""
    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    rng = np.random.default_rng(7)
    sizes = [3, 5000, 1, 40_000, 777, 0, 20_000, 9, 70_001]
    values = {f"a/v{i}": rng.random(n).astype(np.float32) for i, n in enumerate(sizes)}
    values["a/s"] = np.array([b"x", b"yz" * 3000], dtype=object)
    values["a/w"] = rng.integers(0, 1 << 40, size=(33, 41)).astype(np.int64)
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, value in values.items():
            writer.add(name, value)
        writer.finish()
    return prefix, values


def _check_values(out: Path, values: dict[str, np.ndarray], rename_to: str = "a") -> None:
    with CheckpointReader(str(out)) as reader:
        assert reader.verify() == []
        assert sorted(reader.names()) == sorted(rename_to + n[1:] for n in values)
        for name, value in values.items():
            got = reader.read(rename_to + name[1:])
            assert got.dtype == value.dtype and got.tolist() == value.tolist()


def test_an_unchanged_shard_comes_out_byte_for_byte(tmp_path: Path, sink_mode: str) -> None:
    prefix, values = _source(tmp_path)
    out = tmp_path / "out" / "m"
    rename(str(prefix), str(out), ScopeMap([("a", "b")]), mode="checkpoint")
    assert Path(str(out) + DATA).read_bytes() == Path(str(prefix) + DATA).read_bytes()
    _check_values(out, values, "b")


@pytest.mark.parametrize("drop", [["a/v0"], ["a/v1", "a/v4"], ["a/v3", "a/v8", "a/w"]])
def test_runs_that_do_not_line_up_come_out_exactly(
    tmp_path: Path, sink_mode: str, drop: list[str]
) -> None:
    """Dropping tensors shifts every later run against its place in the source."""
    prefix, values = _source(tmp_path)
    out = tmp_path / "out" / "m"
    strip(str(prefix), str(out), drop)
    src = Path(str(prefix) + DATA).read_bytes()
    with BundleReader(str(prefix)) as bundle:
        kept = sorted((bundle.entry(n) for n in values if n not in drop), key=lambda e: e.offset)
        want = b"".join(src[e.offset : e.offset + e.size] for e in kept)
    assert Path(str(out) + DATA).read_bytes() == want
    _check_values(out, {k: v for k, v in values.items() if k not in drop})


@pytest.mark.parametrize("victim", ["a/v0", "a/v3", "a/v8", "a/s"])
def test_a_corrupt_tensor_anywhere_fails_the_write(
    tmp_path: Path, sink_mode: str, victim: str
) -> None:
    prefix, _ = _source(tmp_path)
    with BundleReader(str(prefix)) as bundle:
        entry = bundle.entry(victim)
    data = Path(str(prefix) + DATA)
    raw = bytearray(data.read_bytes())
    raw[entry.offset + entry.size - 1] ^= 0x10  # the last byte: found only at the tensor's end
    data.write_bytes(bytes(raw))
    out_dir = tmp_path / "out"
    for drop in (None, ["a/v1"]):  # lined up, and shifted
        with pytest.raises(FormatError, match=f"checksum mismatch in tensor '{victim}'"):
            if drop is None:
                rename(str(prefix), str(out_dir / "m"), ScopeMap([("a", "b")]), mode="checkpoint")
            else:
                strip(str(prefix), str(out_dir / "m"), drop)
        assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_a_failed_disk_write_leaves_nothing(
    tmp_path: Path, sink_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up from the third write call on (in the writer thread, or in the
    kernel's copy and its fallback)."""
    prefix, _ = _source(tmp_path)
    calls = {"n": 0}

    def failing(real: object) -> object:
        def call(*args: object) -> object:
            calls["n"] += 1
            if calls["n"] >= 3:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(*args)  # type: ignore[operator]

        return call

    for name in ("pwrite", "write", "copy_file_range"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, failing(getattr(os, name)))
    out_dir = tmp_path / "out"
    with pytest.raises(WriteError, match="No space left"):
        rename(str(prefix), str(out_dir / "m"), ScopeMap([("a", "b")]), mode="checkpoint")
    assert calls["n"] >= 3
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_encoded_arrays_between_copies(tmp_path: Path, sink_mode: str) -> None:
    """Arrays written from memory and runs copied from a file, interleaved, land where their
    entries say."""
    prefix, values = _source(tmp_path)
    out = tmp_path / "out" / "m"
    out.parent.mkdir()
    with BundleReader(str(prefix)) as bundle, open(str(prefix) + DATA, "rb") as fh:
        entries = {n: bundle.entry(n) for n in values}
        with FileTransaction() as txn:
            writer = BundleWriter(out, txn)
            for i, (name, value) in enumerate(values.items()):
                e = entries[name]
                if i % 2:
                    writer.add(name, value)
                else:
                    writer.add_copy(name, e.dtype, e.shape, fh.fileno(), e.offset, e.size, e.crc32c)
            writer.finish()
    _check_values(out, values)


def test_restore_copies_whole_tensors_without_decoding_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A variable that takes a checkpoint tensor whole gets its stored bytes (checksum checked
    in flight): never decoded, neither at plan time nor read back after writing; partitions
    taking parts of a partitioned tensor are read slice by slice, as TF's RestoreV2 reads a
    slice spec (and each written slice is read back and compared by value). The result equals
    the committed expectation (TF's own init_from_checkpoint + save, tests/fixtures)."""
    import json

    from graphtui.core.metagraph import read_meta_graph
    from graphtui.core.restore import plan_restore, write_restored

    data = Path(__file__).resolve().parents[1] / "fixtures" / "data"
    facts = json.loads((data.parent / "facts.json").read_text())["restore"]
    case = facts["cases"]["a_scope"]
    src = str(data / facts["source_prefix"])
    read: list[str] = []
    real = CheckpointReader.read

    def spy(self: CheckpointReader, name: str) -> np.ndarray:
        read.append(name)
        return real(self, name)

    monkeypatch.setattr(CheckpointReader, "read", spy)
    real_slice = BundleReader.read_slice

    def spy_slice(self: BundleReader, name: str, extents: Any) -> np.ndarray:
        read.append(f"{name} {list(extents)}")
        return real_slice(self, name, extents)

    monkeypatch.setattr(BundleReader, "read_slice", spy_slice)
    graph = read_meta_graph(str(data / case["target_meta"]))
    with CheckpointReader(src) as reader:
        planned = plan_restore(graph, reader, case["assignment_map"], allow_missing=True)
    assert sorted(planned.copies) == ["new_scope/inner/var3", "new_scope/var1", "new_scope/var2"]
    parts = [f"[({i}, 2), (0, 2)]" for i in range(0, 10, 2)]
    assert read == [f"old_scope/part {p}" for p in parts]  # its partitions, nothing else
    out = tmp_path / "out" / "model.ckpt"
    write_restored(planned, str(out), [src])
    # read back: only the tensor written from decoded values, compared by value
    assert read == [f"{name} {p}" for name in ("old_scope/part", "new_scope/part") for p in parts]
    monkeypatch.setattr(CheckpointReader, "read", real)
    with CheckpointReader(src) as source, BundleReader(str(out)) as written:
        for new in planned.copies:
            old = "old_scope" + new[len("new_scope") :]
            a, b = source.bundle.entry(old), written.entry(new)  # type: ignore[union-attr]
            assert (a.dtype, a.shape, a.crc32c) == (b.dtype, b.shape, b.crc32c)
            assert bytes(written.raw_bytes(b)) == bytes(source.bundle.raw_bytes(a))  # type: ignore[union-attr]
    with (
        CheckpointReader(str(out)) as got,
        CheckpointReader(str(data / case["expected_prefix"])) as want,
    ):
        assert set(got.names()) <= set(want.names())  # extra/bias: no value, left out
        assert len(got.names()) == len(want.names()) - 1
        for name in got.names():
            assert got.read(name).tobytes() == want.read(name).tobytes(), name


def test_a_source_cut_short_while_copying_fails_cleanly(
    tmp_path: Path, sink_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process truncates the data shard mid-copy: one clear error naming it, nothing
    left (touching the mapped pages past the new end would kill the process: SIGBUS)."""
    prefix, _ = _source(tmp_path)
    data = str(prefix) + DATA
    real = data_sink._RunCheck.guard
    calls = {"n": 0}

    def truncating(self: data_sink._RunCheck) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            os.truncate(data, 4096)
        real(self)

    monkeypatch.setattr(data_sink._RunCheck, "guard", truncating)
    out_dir = tmp_path / "out"
    with pytest.raises(FormatError, match="shrank to 4096 bytes while being copied"):
        rename(str(prefix), str(out_dir / "m"), ScopeMap([("a", "b")]), mode="checkpoint")
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_a_run_without_stored_checksums_is_summed_in_flight(tmp_path: Path, sink_mode: str) -> None:
    """``crc=SUM`` (a source that stores no checksum): nothing to check, and copy returns each
    tensor's masked crc32c of the bytes as copied, beside checked ones (None: not summed)."""
    from graphtui.formats.crc import crc32c, mask

    src = tmp_path / "src.bin"
    payload = np.random.default_rng(3).integers(0, 256, 100_003, dtype=np.uint8).tobytes()
    src.write_bytes(b"h" * 13 + payload)
    cuts = [(13, 40_000), (40_013, 0), (40_013, 30_001), (70_014, 30_002)]
    fd = os.open(src, os.O_RDONLY)
    try:
        with FileTransaction() as txn:
            out = tmp_path / "out.bin"
            fh = txn.open(out)
            sink = data_sink.DataSink(fh, txn.temp_path(out))
            sink.write(b"xyz")
            parts = [src.read_bytes()[off : off + n] for off, n in cuts]
            tensors = [
                data_sink.CopiedTensor("a", *cuts[0], data_sink.SUM),
                data_sink.CopiedTensor("b", *cuts[1], data_sink.SUM),
                data_sink.CopiedTensor("c", *cuts[2], mask(crc32c(parts[2]))),
                data_sink.CopiedTensor("d", *cuts[3], None),
            ]
            sums = sink.copy(fd, str(src), 13, tensors)
            sink.close()
            fh.flush()
    finally:
        os.close(fd)
    assert sums == [mask(crc32c(parts[0])), mask(crc32c(b"")), mask(crc32c(parts[2])), None]
    assert out.read_bytes() == b"xyz" + payload
