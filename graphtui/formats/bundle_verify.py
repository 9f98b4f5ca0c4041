"""Every tensor's checksum of a V2 bundle, checked in bulk (what ``graphtui verify`` does).

A checkpoint of a million scalars spends its time on Python, not on bytes: decoding each
entry, a ``stat`` and an ``madvise`` per tensor, one crc32c call per four bytes. Here the
entries come from the reader's bulk decoder (:meth:`BundleReader.bulk_entries`, the one
:meth:`~BundleReader.listing` uses) and the stored tensors are checked a step at a time: each
tiny tensor's crc32c side by side with numpy (:func:`masked_crc32c_rows`), the others up to
``_CRC_CHUNK`` bytes with one C call each, the shard's size checked once per step and its
pages released once per step. Whatever does not pass (a mismatch, a truncated or missing
shard, a string or variant tensor, a big tensor, an entry decoded one by one) goes through
:meth:`BundleReader.raw_bytes` alone, whose errors are the reference: the problems, and their
order, are those of checking every tensor one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphtui.errors import FormatError
from graphtui.formats import progress
from graphtui.formats.bundle import _CRC_CHUNK, _RELEASE_BEHIND, DType, data_path
from graphtui.formats.byte_source import LocalSource
from graphtui.formats.crc import crc32c, mask, masked_crc32c_rows

if TYPE_CHECKING:
    import numpy as np

    from graphtui.formats.bundle import BundleEntry, BundleReader

_SMALL = 64  # bytes: a tensor this small is checksummed side by side with others (numpy)
_ROWS_PER_BYTE = 8  # when there are this many such tensors of its size per byte of it
_STEP_ROWS = 1 << 16  # tensors checked per step, at most
_STEP_BYTES = 8 << 20  # and bytes (a step's pages stay mapped until it ends)


@dataclass(frozen=True)
class StoredExtents:
    """The stored tensors (a partitioned tensor's slices in its place), in name order, column
    by column: ``row[p]`` is the name's row for an entry decoded in bulk, -1 for one decoded
    alone (``alone[p]``); ``code[p]`` indexes ``kinds`` (-1: alone)."""

    reader: BundleReader
    row: np.ndarray
    alone: dict[int, BundleEntry]
    kinds: list[DType]
    code: np.ndarray
    shard: np.ndarray
    offset: np.ndarray
    size: np.ndarray
    crc: np.ndarray

    def __len__(self) -> int:
        return len(self.row)

    def entry(self, p: int) -> BundleEntry:
        got = self.alone.get(p)
        if got is not None:
            return got
        return self.reader.entry(self.reader.names()[int(self.row[p])])

    def entries(self) -> Iterator[BundleEntry]:
        names = self.reader.names()
        for p, r in enumerate(self.row.tolist()):
            got = self.alone.get(p)
            yield got if got is not None else self.reader.entry(names[r])


def stored_extents(reader: BundleReader, problems: list[FormatError]) -> StoredExtents:
    """Every name's stored tensors; an entry that does not decode (or whose slices do not tile
    its shape) is appended to ``problems``, in name order."""
    import numpy as np

    names = reader.names()
    bulk = reader.bulk_entries()
    count = bulk.ok.astype(np.int64)
    alone_rows: dict[int, list[BundleEntry]] = {}
    for i in np.flatnonzero(~bulk.ok).tolist():
        try:
            entry = reader.entry(names[i])
            subs = (
                [sub for _, sub in reader.slice_entries(entry, gaps=True)]
                if entry.is_sliced
                else [entry]
            )
        except FormatError as exc:
            problems.append(exc)
            subs = []
        alone_rows[i] = subs
        count[i] = len(subs)
    first = np.cumsum(count) - count  # each name's first place
    total = int(count.sum())
    at = first[bulk.ok]
    row = np.full(total, -1, dtype=np.int64)
    row[at] = np.flatnonzero(bulk.ok)
    code = np.full(total, -1, dtype=np.int64)
    code[at] = bulk.codes[bulk.ok]
    columns = []
    for column in (bulk.shard, bulk.offset, bulk.size, bulk.crc):
        out = np.zeros(total, dtype=np.int64)
        out[at] = column[bulk.ok]
        columns.append(out)
    shard, offset, size, crc = columns
    alone: dict[int, BundleEntry] = {}
    for i, subs in alone_rows.items():
        for k, sub in enumerate(subs):
            p = int(first[i]) + k
            alone[p] = sub
            shard[p], offset[p], size[p], crc[p] = sub.shard_id, sub.offset, sub.size, sub.crc32c
    return StoredExtents(reader, row, alone, bulk.kinds, code, shard, offset, size, crc)


def check_one_by_one(reader: BundleReader, problems: list[FormatError]) -> list[FormatError]:
    """Every stored tensor's checksum, one tensor at a time through
    :meth:`BundleReader.raw_bytes` (the reference the bulk check agrees with), without numpy:
    for a checkpoint whose index was read without it (``sstable.numpy_unneeded``: a few
    thousand tensors at most), where importing numpy would cost more than the bulk check
    saves. An entry that does not decode is appended to ``problems`` (in name order, as by
    :func:`stored_extents`); the checksum problems are returned, in order."""
    stored: list[BundleEntry] = []
    for name in reader.names():
        try:
            entry = reader.entry(name)
            stored += (
                [sub for _, sub in reader.slice_entries(entry, gaps=True)]
                if entry.is_sliced
                else [entry]
            )
        except FormatError as exc:
            problems.append(exc)
    progress.expect(sum(sub.size for sub in stored))
    found: list[FormatError] = []
    for sub in stored:
        try:
            reader.raw_bytes(sub, verify=True)
        except FormatError as exc:
            found.append(exc)
        progress.advance(sub.size)
    return found


def outside_shards(stored: StoredExtents) -> list[FormatError]:
    """The tensors that run past the end of their (open) shard, no byte of data read."""
    import numpy as np

    reader = stored.reader
    limit = _shard_sizes(reader, local_only=False)
    bad = stored.offset > limit[stored.shard] - stored.size  # an open shard is >= 0 bytes
    problems: list[FormatError] = []
    for p in np.flatnonzero(bad & (limit[stored.shard] >= 0)).tolist():
        sub = stored.entry(p)
        problems.append(
            FormatError(
                data_path(reader.prefix, sub.shard_id, reader.num_shards),
                f"tensor {sub.name!r} needs bytes {sub.offset}..{sub.offset + sub.size}"
                f" but the file has {limit[sub.shard_id]}: truncated",
            )
        )
    return problems


def check_local(stored: StoredExtents) -> list[FormatError]:
    """Every stored tensor's checksum, from memory-mapped shards; the problems in order."""
    import numpy as np

    reader = stored.reader
    n = len(stored)
    size = stored.size
    total = int(size.sum()) if n and int(size.max()) < (1 << 62) // n else sum(size.tolist())
    progress.expect(total)
    limit = _shard_sizes(reader, local_only=True)
    fixed = np.array([dt.name not in ("string", "variant") for dt in stored.kinds] + [False])
    fits = stored.offset <= limit[stored.shard] - size  # False where the shard is not open
    quick = (stored.row >= 0) & fixed[stored.code] & fits & (size <= _CRC_CHUNK)
    # steps of at most _STEP_ROWS tensors and _STEP_BYTES bytes (a bigger tensor alone)
    cum = np.cumsum(np.minimum(size, _STEP_BYTES))
    problems: list[FormatError] = []
    u8: dict[int, np.ndarray] = {}
    a = 0
    while a < n:
        done = int(cum[a - 1]) if a else 0
        b = int(np.searchsorted(cum, done + _STEP_BYTES, "right"))
        b = min(max(b, a + 1), a + _STEP_ROWS, n)
        good = _checked(stored, a, b, quick[a:b], u8)
        progress.advance(int(size[a:b][good].sum()))
        for p in (a + np.flatnonzero(~good)).tolist():
            sub = stored.entry(p)
            try:
                reader.raw_bytes(sub, verify=True)
            except FormatError as exc:
                problems.append(exc)
            progress.advance(sub.size)
        a = b
    return problems


def _checked(
    stored: StoredExtents, a: int, b: int, quick: np.ndarray, u8: dict[int, np.ndarray]
) -> np.ndarray:
    """Which of the stored tensors ``a:b`` were checked here and match their crc32c."""
    import numpy as np

    reader = stored.reader
    good = np.zeros(b - a, dtype=bool)
    shard, offset, size, crc = (
        column[a:b] for column in (stored.shard, stored.offset, stored.size, stored.crc)
    )
    # (np.bincount, not np.unique: that imports numpy.ma, 30 ms of a small verify)
    for s in np.flatnonzero(np.bincount(shard[quick])).tolist():
        src = reader.shard_source(s)
        assert isinstance(src, LocalSource)
        mine = quick & (shard == s)
        now = src.shrunk_to()  # touching pages past a shrunk file's end kills the process
        if now is not None:
            mine &= offset <= now - size
        rows = np.flatnonzero(mine)
        if not rows.size:
            continue
        data = u8.get(s)
        if data is None:
            # a view of the whole shard (numpy gathers the tiny tensors from it)
            data = u8[s] = np.frombuffer(src.read(0, src.size), np.uint8)
        tiny = size[rows] <= _SMALL
        small, rest = rows[tiny], rows[~tiny]
        counts = np.bincount(size[small], minlength=_SMALL + 1)
        for length in np.flatnonzero(counts).tolist():
            count = int(counts[length])
            same = small[size[small] == length]
            if count < _ROWS_PER_BYTE * length:  # a few numpy calls per byte cost more
                rest = np.concatenate([rest, same])
                continue
            good[same] = masked_crc32c_rows(data, offset[same], length) == crc[same]
        view = src.view
        for r, o, z, c in zip(
            *(x.tolist() for x in (rest, offset[rest], size[rest], crc[rest])), strict=True
        ):
            good[r] = mask(crc32c(view[o : o + z])) == c
        low = int(offset[rows].min())
        src.release(low, int((offset[rows] + size[rows]).max()) - low, _RELEASE_BEHIND)
    return good


def _shard_sizes(reader: BundleReader, *, local_only: bool) -> np.ndarray:
    """Each open shard's size (memory-mapped ones only with ``local_only``); -1 elsewhere."""
    import numpy as np

    limit = np.full(reader.num_shards, -1, dtype=np.int64)
    for s, src in reader._sources.items():
        if not local_only or isinstance(src, LocalSource):
            limit[s] = src.size
    return limit
