"""Writing checkpoints from checkpoints: copy tensors (renamed, filtered) into a new V2 bundle
as raw bytes, without decoding them; V1 sources are decoded once and written as V2.

Also the TF2 object graph (``_CHECKPOINTABLE_OBJECT_GRAPH``) is kept consistent: its
attributes' checkpoint keys follow a rename and lose entries that were dropped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.write_check import Expected
from graphtui.errors import ConflictError, FormatError
from graphtui.formats import progress
from graphtui.formats.bundle import data_path
from graphtui.formats.byte_source import is_url
from graphtui.formats.sstable import open_regular

if TYPE_CHECKING:  # numpy only for tensors that are decoded (V1 sources, the object graph)
    import numpy as np

    from graphtui.formats.bundle_writer import BundleWriter

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
    reader: CheckpointReader,
    writer: BundleWriter,
    plan: Mapping[str, str] | Sequence[tuple[str, str]],
    shapes: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, Expected]:
    """Write every tensor of ``plan`` (old -> new name; as pairs, one old tensor may become
    several) from ``reader`` into ``writer``; return what each written tensor must be (for
    :func:`~graphtui.core.write_check.verify_output`). ``shapes``: a new name's shape where it
    differs from the old one's (the same elements, reshaped).

    Every tensor's checksum is checked on the bytes as they are copied, not by a second read of
    the output after commit: a run of tensors that follow each other in the source is summed
    on the source's mapped pages and written from those same pages
    (:class:`~graphtui.formats.data_sink.DataSink`; a whole unchanged shard is one run, cloned
    where the file system shares extents)."""
    pairs = list(plan.items()) if isinstance(plan, Mapping) else list(plan)
    shapes = shapes or {}
    bundle = reader.bundle
    if bundle is None:
        return _copy_v1(reader, writer, pairs, shapes)
    if not bundle.little_endian:  # stored bytes in the other order: decoded, written anew
        return _copy_decoded(reader, writer, pairs, shapes)
    expected: dict[str, Expected] = {}
    fds: dict[int, int] = {}
    batch: list[tuple[str, Any, Sequence[int]]] = []  # (new, entry, shape) of one local shard
    entries = {old: bundle.entry(old) for old, _ in pairs}
    progress.expect(_copied_bytes(bundle, [entries[old] for old, _ in pairs]))
    order = copy_order(pairs, entries)
    try:
        for old, new in order:
            entry = entries[old]
            shape = tuple(shapes.get(new, entry.shape))
            if old == OBJECT_GRAPH_KEY:
                import numpy as np

                _flush(bundle, writer, batch, fds)
                value = reader.read(old)
                rewritten = np.array(
                    rewrite_object_graph(bytes(value[()]), dict(pairs)), dtype=object
                )
                writer.add(new, rewritten, entry.dtype)
                expected[new] = Expected(entry.dtype.name, (), functools.partial(_same, rewritten))
                continue
            # raw copies keep the source's checksum, checked on the bytes copied
            expected[new] = Expected(entry.dtype.name, shape)
            if entry.is_sliced:
                _flush(bundle, writer, batch, fds)
                parts = []
                for extents, sub in bundle.slice_entries(entry):
                    parts.append((extents, (bytes(bundle.raw_bytes(sub, verify=True)), sub.crc32c)))
                writer.add_sliced(new, entry.dtype, shape, parts)
                progress.advance(sum(len(raw) for _, (raw, _) in parts))
                continue
            if is_url(bundle.prefix):  # a remote source: the tensor's bytes by one range read
                raw = bundle.raw_bytes(entry, verify=True)
                writer.add_raw(new, entry.dtype, shape, raw, entry.crc32c)
                progress.advance(len(raw))
                continue
            if entry.shard_id not in fds:
                path = data_path(bundle.prefix, entry.shard_id, bundle.num_shards)
                try:
                    with open_regular(path) as fh:
                        fds[entry.shard_id] = os.dup(fh.fileno())
                except OSError as exc:
                    raise FormatError(path, f"cannot read data shard: {exc.strerror}") from None
            if batch and batch[-1][1].shard_id != entry.shard_id:
                _flush(bundle, writer, batch, fds)
            batch.append((new, entry, shape))
        _flush(bundle, writer, batch, fds)
    finally:
        for fd in fds.values():
            os.close(fd)
    return expected


def copy_order(
    pairs: Sequence[tuple[str, str]], entries: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """The order :func:`copy_tensors` copies ``pairs`` (old, new) in, ``entries`` giving each
    old name's index entry: the source's own order, so tensors that follow each other there are
    copied as one run; the object graph (rewritten, not copied) last, so it does not break a
    run. The data file written depends on this order of old names alone."""
    return sorted(
        pairs,
        key=lambda p: (p[0] == OBJECT_GRAPH_KEY, entries[p[0]].shard_id, entries[p[0]].offset),
    )


def _flush(
    bundle: Any,
    writer: BundleWriter,
    batch: list[tuple[str, Any, Sequence[int]]],
    fds: dict[int, int],
) -> None:
    """Copy ``batch`` (whole tensors of one local shard); the writer checks each tensor's
    checksum on the bytes it copies (a bad one fails the write: nothing is committed). String
    and variant tensors, whose stored checksum covers more than their bytes, are checked here
    first."""
    if not batch:
        return
    entries = [entry for _, entry, _ in batch]
    fd = fds[entries[0].shard_id]
    size = os.fstat(fd).st_size
    path = data_path(bundle.prefix, entries[0].shard_id, bundle.num_shards)
    for entry in entries:
        if entry.offset + entry.size > size:
            raise FormatError(
                path, f"tensor {entry.name!r} runs past the end of the file: truncated"
            )
        if entry.dtype.name in ("string", "variant"):
            bundle.raw_bytes(entry, verify=True)
    writer.add_copies(
        fd,
        [
            (new, entry.dtype, shape, entry.offset, entry.size, entry.crc32c)
            for new, entry, shape in batch
        ],
        path,
        [entry.name for entry in entries],
    )
    batch.clear()


def _copied_bytes(bundle: Any, entries: list[Any]) -> int:
    """The stored bytes :func:`copy_tensors` copies (for a progress bar's total)."""
    total = 0
    for entry in entries:
        if entry.name == OBJECT_GRAPH_KEY:
            continue
        subs = [sub for _, sub in bundle.slice_entries(entry)] if entry.is_sliced else [entry]
        total += sum(sub.size for sub in subs)
    return total


def _copy_decoded(
    reader: CheckpointReader,
    writer: BundleWriter,
    pairs: list[tuple[str, str]],
    shapes: Mapping[str, Sequence[int]],
) -> dict[str, Expected]:
    """A big-endian bundle's tensors, decoded (byte-swapped) and encoded again little-endian,
    partitioned ones in their slices: each compared by value after writing."""
    from graphtui.formats.bundle import slice_index

    bundle = reader.bundle
    assert bundle is not None
    expected: dict[str, Expected] = {}
    for old, new in pairs:
        entry = bundle.entry(old)
        shape = tuple(shapes.get(new, entry.shape))
        value = reader.read(old)
        if entry.is_sliced:
            parts = [(ext, value[slice_index(entry.shape, ext)]) for ext in entry.slices]
            writer.add_sliced(new, entry.dtype, entry.shape, parts)
        else:
            writer.add(new, value.reshape(shape), entry.dtype)
        expected[new] = Expected(
            entry.dtype.name,
            shape,
            functools.partial(_reshaped, functools.partial(reader.read, old), shape),
        )
    return expected


def _copy_v1(
    reader: CheckpointReader,
    writer: BundleWriter,
    pairs: list[tuple[str, str]],
    shapes: Mapping[str, Sequence[int]],
) -> dict[str, Expected]:
    """V1 tensors are decoded and encoded again: each is compared by value after writing."""
    v1 = reader._v1  # noqa: SLF001 - the V1 reader's slice structure is needed here
    assert v1 is not None
    expected: dict[str, Expected] = {}
    progress.expect(sum(_v1_nbytes(v1.tensors[old]) for old, _ in pairs))
    for old, new in pairs:
        t = v1.tensors[old]
        shape = tuple(shapes.get(new, t.shape))
        partial = len(t.slices) > 1 or any(length != -1 for ext, _ in t.slices for _, length in ext)
        if partial:
            value = v1.read(old)
            from graphtui.formats.bundle import slice_index

            parts = [(ext, value[slice_index(t.shape, ext)]) for ext, _ in t.slices]
            writer.add_sliced(new, t.dtype, t.shape, parts)
        else:
            writer.add(new, v1.read(old).reshape(shape), t.dtype)
        expected[new] = Expected(
            t.dtype.name,
            shape,
            functools.partial(_reshaped, functools.partial(v1.read, old), shape),
        )
        progress.advance(_v1_nbytes(t))
    return expected


def _v1_nbytes(t: Any) -> int:
    import numpy as np

    return t.num_elements * np.dtype(t.dtype.numpy).itemsize if t.dtype.numpy else 0


def _same(value: np.ndarray) -> np.ndarray:
    return value


def _reshaped(read: Callable[[], np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    return read().reshape(shape)
