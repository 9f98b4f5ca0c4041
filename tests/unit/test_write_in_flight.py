"""Writes check each copied tensor's checksum on the bytes in flight (issue 17.2), not by a
second read of the output: a corrupt source tensor still fails the write (nothing is left),
runs of tensors are copied whole (an unchanged shard comes out byte for byte the source's), and
the post-write check reads no tensor data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.names import ScopeMap
from graphtui.core.rename import rename
from graphtui.core.strip import strip
from graphtui.errors import FormatError
from graphtui.formats.bundle import BundleReader
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction


def _checkpoint(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    prefix = tmp_path / "src" / "model.ckpt"
    prefix.parent.mkdir()
    rng = np.random.default_rng(1)
    values: dict[str, np.ndarray] = {
        f"a/v{i}": rng.random((i + 1, 3)).astype(np.float32) for i in range(6)
    }
    values["a/s"] = np.array([b"x", b"yz"], dtype=object)
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name, value in values.items():
            writer.add(name, value)
        writer.finish()
    return prefix, values


def test_rename_copies_the_shard_whole_and_keeps_values(tmp_path: Path) -> None:
    prefix, values = _checkpoint(tmp_path)
    out = tmp_path / "out" / "m"
    rename(str(prefix), str(out), ScopeMap([("a", "b")]), mode="checkpoint")
    src = Path(str(prefix) + ".data-00000-of-00001").read_bytes()
    assert Path(str(out) + ".data-00000-of-00001").read_bytes() == src
    with CheckpointReader(str(out)) as reader:
        assert reader.verify() == []
        for name, value in values.items():
            got = reader.read("b" + name[1:])
            assert got.tolist() == value.tolist()


def test_a_corrupt_source_tensor_fails_the_write_and_leaves_nothing(tmp_path: Path) -> None:
    prefix, _ = _checkpoint(tmp_path)
    with BundleReader(str(prefix)) as bundle:
        entry = bundle.entry("a/v4")
    data = Path(str(prefix) + ".data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 5] ^= 0x40
    data.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="checksum mismatch in tensor 'a/v4'"):
        strip(str(prefix), str(tmp_path / "out" / "m"), ["a/v0"])
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_post_write_check_reads_no_tensor_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix, _ = _checkpoint(tmp_path)
    out = tmp_path / "out" / "m"
    reads: list[str] = []
    real = BundleReader.raw_bytes

    def counting(self: BundleReader, entry: object, **kw: object) -> object:
        if str(self.prefix).startswith(str(out)):
            reads.append(str(getattr(entry, "name", "")))
        return real(self, entry, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(BundleReader, "raw_bytes", counting)
    rename(str(prefix), str(out), ScopeMap([("a", "b")]), mode="checkpoint")
    assert reads == []
