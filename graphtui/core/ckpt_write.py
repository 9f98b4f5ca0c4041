"""Writing checkpoints from checkpoints: copy tensors (renamed, filtered) into a new V2 bundle
as raw bytes, without decoding them; V1 sources are decoded once and written as V2.

Also the TF2 object graph (``_CHECKPOINTABLE_OBJECT_GRAPH``) is kept consistent: its
attributes' checkpoint keys follow a rename and lose entries that were dropped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.write_check import Expected
from graphtui.errors import ConflictError, FormatError
from graphtui.formats import progress
from graphtui.formats.bundle import data_path
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.byte_source import is_url
from graphtui.formats.sstable import open_regular

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"

KeyMap = Callable[[str], str | None]  # old key -> new key, or None to drop it


def plan_keys(names: list[str], key_map: KeyMap) -> dict[str, str]:
    """``old -> new`` for every kept key; ConflictError when two keys would collide."""
    plan: dict[str, str] = {}
    seen: dict[str, str] = {}
    conflicts = []
    for name in names:
        if name == OBJECT_GRAPH_KEY:
            plan[name] = name
            continue
        new = key_map(name)
        if new is None:
            continue
        if new in seen:
            conflicts.append(
                f"checkpoint keys {seen[new]!r} and {name!r} would both become {new!r}"
            )
        seen[new] = name
        plan[name] = new
    if conflicts:
        raise ConflictError("refused: checkpoint keys would collide", conflicts)
    return plan


def rewrite_object_graph(raw: bytes, plan: dict[str, str]) -> bytes:
    """Re-point the object graph's attributes at renamed keys; forget dropped ones."""
    from graphtui._proto import pb

    graph = pb.TrackableObjectGraph()
    graph.ParseFromString(raw)
    for node in graph.nodes:
        kept = []
        for attr in node.attributes:
            new = plan.get(attr.checkpoint_key)
            if new is None:
                continue
            attr.checkpoint_key = new
            kept.append(attr)
        if len(kept) != len(node.attributes):
            copies = [type(a)() for a in kept]
            for c, a in zip(copies, kept, strict=True):
                c.CopyFrom(a)
            del node.attributes[:]
            node.attributes.extend(copies)
    return bytes(graph.SerializeToString(deterministic=True))


def copy_tensors(
    reader: CheckpointReader, writer: BundleWriter, plan: dict[str, str]
) -> dict[str, Expected]:
    """Write every tensor of ``plan`` (old -> new name) from ``reader`` into ``writer``; return
    what each written tensor must be (for :func:`~graphtui.core.write_check.verify_output`)."""
    bundle = reader.bundle
    if bundle is None:
        return _copy_v1(reader, writer, plan)
    expected: dict[str, Expected] = {}
    fds: dict[int, int] = {}
    progress.expect(_copied_bytes(bundle, plan))
    try:
        for old, new in plan.items():
            entry = bundle.entry(old)
            if old == OBJECT_GRAPH_KEY:
                value = reader.read(old)
                rewritten = np.array(rewrite_object_graph(bytes(value[()]), plan), dtype=object)
                writer.add(new, rewritten, entry.dtype)
                expected[new] = Expected(entry.dtype.name, (), functools.partial(_same, rewritten))
                continue
            # raw copies keep the source's checksum: the read-back checks the values against it
            expected[new] = Expected(entry.dtype.name, tuple(entry.shape))
            if entry.is_sliced:
                parts = []
                for extents, sub in bundle.slice_entries(entry):
                    parts.append(
                        (extents, (bytes(bundle.raw_bytes(sub, verify=False)), sub.crc32c))
                    )
                writer.add_sliced(new, entry.dtype, entry.shape, parts)
                progress.advance(sum(len(raw) for _, (raw, _) in parts))
                continue
            if is_url(bundle.prefix):  # a remote source: the tensor's bytes by one range read
                raw = bundle.raw_bytes(entry, verify=False)
                writer.add_raw(new, entry.dtype, entry.shape, raw, entry.crc32c)
                progress.advance(len(raw))
                continue
            fd = fds.get(entry.shard_id)
            path = data_path(bundle.prefix, entry.shard_id, bundle.num_shards)
            if fd is None:
                try:
                    with open_regular(path) as fh:
                        fd = os.dup(fh.fileno())
                except OSError as exc:
                    raise FormatError(path, f"cannot read data shard: {exc.strerror}") from None
                fds[entry.shard_id] = fd
            if entry.offset + entry.size > os.fstat(fd).st_size:
                raise FormatError(path, f"tensor {old!r} runs past the end of the file: truncated")
            writer.add_copy(
                new, entry.dtype, entry.shape, fd, entry.offset, entry.size, entry.crc32c
            )
    finally:
        for fd in fds.values():
            os.close(fd)
    return expected


def _copied_bytes(bundle: Any, plan: dict[str, str]) -> int:
    """The stored bytes :func:`copy_tensors` copies (for a progress bar's total)."""
    total = 0
    for old in plan:
        if old == OBJECT_GRAPH_KEY:
            continue
        entry = bundle.entry(old)
        subs = [sub for _, sub in bundle.slice_entries(entry)] if entry.is_sliced else [entry]
        total += sum(sub.size for sub in subs)
    return total


def _copy_v1(
    reader: CheckpointReader, writer: BundleWriter, plan: dict[str, str]
) -> dict[str, Expected]:
    """V1 tensors are decoded and encoded again: each is compared by value after writing."""
    v1 = reader._v1  # noqa: SLF001 - the V1 reader's slice structure is needed here
    assert v1 is not None
    expected: dict[str, Expected] = {}
    progress.expect(sum(_v1_nbytes(v1.tensors[old]) for old in plan))
    for old, new in plan.items():
        t = v1.tensors[old]
        partial = len(t.slices) > 1 or any(length != -1 for ext, _ in t.slices for _, length in ext)
        if partial:
            value = v1.read(old)
            from graphtui.formats.bundle import slice_index

            parts = [(ext, value[slice_index(t.shape, ext)]) for ext, _ in t.slices]
            writer.add_sliced(new, t.dtype, t.shape, parts)
        else:
            writer.add(new, v1.read(old), t.dtype)
        expected[new] = Expected(t.dtype.name, tuple(t.shape), functools.partial(v1.read, old))
        progress.advance(_v1_nbytes(t))
    return expected


def _v1_nbytes(t: Any) -> int:
    return t.num_elements * np.dtype(t.dtype.numpy).itemsize if t.dtype.numpy else 0


def _same(value: np.ndarray) -> np.ndarray:
    return value
