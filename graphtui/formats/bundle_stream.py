"""Verify a V2 bundle whose data shards are remote: stream every tensor's bytes once, in a few
long ranges with several in flight, and check each tensor's crc32c as its bytes pass by.

Reading tensor by tensor would cost one round trip per tensor (2,000 tensors at 20 ms is 40 s).
Instead the tensors of each shard are grouped into pieces of whole tensors (a piece ends where
a tensor ends, so pieces are checked independently, each on its own thread, the checksum work
running beside the transfer); each piece is one streamed range request where the store allows
(:meth:`~graphtui.formats.remote.RemoteSource.stream_range`), so a 2 GiB checkpoint costs a few
dozen requests and memory stays at a few MiB per piece in flight.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphtui.errors import ChecksumError, FormatError, TransferCancelled
from graphtui.formats import progress
from graphtui.formats.crc import crc32c, mask

if TYPE_CHECKING:
    from graphtui.formats.bundle import BundleEntry, BundleReader
    from graphtui.formats.byte_source import ByteSource

PIECE_MIN = 4 << 20  # pieces are this long at least (fewer requests for small checkpoints)
PIECE_MAX = 256 << 20  # the longest range one piece asks for (unless one tensor is longer)


class _Running:
    """One tensor being checked: a running crc, or its bytes (strings and variants are
    checksummed element by element, so they are gathered first)."""

    def __init__(self, entry: BundleEntry) -> None:
        self.entry = entry
        self.crc = 0
        self.parts: list[bytes] | None = None if entry.dtype.is_fixed_size else []

    def feed(self, data: memoryview) -> None:
        if self.parts is None:
            self.crc = crc32c(data, self.crc)
        else:
            self.parts.append(bytes(data))


@dataclass
class _Piece:
    """Whole tensors of one shard, next to each other: one range ``start..end``."""

    path: str
    src: ByteSource
    entries: list[BundleEntry]
    start: int
    end: int


def plan_pieces(
    path: str, src: ByteSource, entries: list[BundleEntry], target: int
) -> list[_Piece]:
    """``entries`` (inside the shard, sorted by offset) in pieces of about ``target`` bytes.

    A piece ends only where no tensor so far reaches past the next one's start, so a tensor
    is never split, and overlapping tensors (a hostile index) share one piece instead of
    fetching the same bytes again."""
    pieces: list[_Piece] = []
    for entry in entries:
        end = entry.offset + entry.size
        last = pieces[-1] if pieces else None
        if last is not None and (entry.offset < last.end or end - last.start <= target):
            last.entries.append(entry)
            last.end = max(last.end, end)
        else:
            pieces.append(_Piece(path, src, [entry], entry.offset, end))
    return pieces


def verify_streamed(reader: BundleReader, entries: list[BundleEntry]) -> list[FormatError]:
    """The checksum problems of ``entries`` (stored, non-sliced), every tensor read once."""
    from graphtui.formats.bundle import data_path
    from graphtui.formats.remote import STREAM_IN_FLIGHT

    problems: list[FormatError] = []
    by_shard: dict[int, list[BundleEntry]] = defaultdict(list)
    for entry in entries:
        by_shard[entry.shard_id].append(entry)
    shards: list[tuple[str, ByteSource, list[BundleEntry]]] = []
    for shard, group in sorted(by_shard.items()):
        path = data_path(reader.prefix, shard, reader.num_shards)
        try:
            src = reader.shard_source(shard)
        except FormatError:
            continue  # reported once by the caller
        inside = []
        for entry in group:
            end = entry.offset + entry.size
            if end > src.size:
                problems.append(
                    FormatError(
                        path,
                        f"tensor {entry.name!r} needs bytes {entry.offset}..{end} but the file "
                        f"has {src.size}: truncated",
                    )
                )
            else:
                inside.append(entry)
        inside.sort(key=lambda e: (e.offset, e.size))
        shards.append((path, src, inside))
    total = sum(e.size for _, _, inside in shards for e in inside)
    target = min(PIECE_MAX, max(PIECE_MIN, -(-total // STREAM_IN_FLIGHT)))
    pieces = [p for path, src, inside in shards for p in plan_pieces(path, src, inside, target)]
    problems.extend(_check_pieces(reader, pieces, total))
    return problems


class _Done:
    """Bytes checked so far by the piece threads (the main thread tells the progress meter,
    which lives in its context)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.stop = False

    def add(self, n: int) -> None:
        with self._lock:
            self.bytes += n


def _check_pieces(reader: BundleReader, pieces: list[_Piece], total: int) -> list[FormatError]:
    from graphtui.formats.remote import STATS, STREAM_IN_FLIGHT

    if not pieces:
        return []
    done = _Done()
    told = 0
    progress.expect(total)
    pool = ThreadPoolExecutor(min(STREAM_IN_FLIGHT, len(pieces)), "graphtui-verify")
    futures: list[Future[list[FormatError]]] = []
    try:
        futures = [pool.submit(_check_piece, reader, piece, done) for piece in pieces]
        waiting: set[Future[list[FormatError]]] = set(futures)
        while waiting:
            _, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
            now = min(done.bytes, total)  # the bytes between tensors count too: not past 100%
            progress.advance(now - told)
            told = now
    except BaseException:
        done.stop = True  # running pieces stop at their next chunk
        STATS.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    seen: set[str] = set()  # a failing shard or server is said once, not once per piece
    out = []
    for future in futures:
        for problem in future.result():
            if str(problem) not in seen:
                seen.add(str(problem))
                out.append(problem)
    return out


def _chunks(piece: _Piece) -> Iterator[bytes | memoryview]:
    from graphtui.formats.remote import RemoteSource

    if isinstance(piece.src, RemoteSource):
        yield from piece.src.stream_range(piece.start, piece.end)
    else:
        yield piece.src.read(piece.start, piece.end - piece.start)


def _check_piece(reader: BundleReader, piece: _Piece, done: _Done) -> list[FormatError]:
    """Stream one piece and check its tensors' checksums (runs on a pool thread)."""
    problems: list[FormatError] = []

    def finish(run: _Running) -> None:
        entry = run.entry
        try:
            if run.parts is not None:
                reader.check_checksum(entry, memoryview(b"".join(run.parts)))
            elif mask(run.crc) != entry.crc32c:
                raise ChecksumError(
                    piece.path,
                    f"checksum mismatch in tensor {entry.name!r} (data corrupt)",
                    offset=entry.offset,
                )
        except FormatError as exc:
            problems.append(exc)

    inside = piece.entries
    active: list[_Running] = []
    i = 0
    off = piece.start
    chunks = _chunks(piece)
    try:
        for data in chunks:
            if done.stop:
                return problems  # the verify was abandoned: nobody reads this
            view = memoryview(data)
            chunk_end = off + len(view)
            while i < len(inside) and inside[i].offset < chunk_end:
                active.append(_Running(inside[i]))
                i += 1
            still = []
            for run in active:
                a = max(run.entry.offset, off)
                b = min(run.entry.offset + run.entry.size, chunk_end)
                if a < b:
                    run.feed(view[a - off : b - off])
                if run.entry.offset + run.entry.size <= chunk_end:
                    finish(run)
                else:
                    still.append(run)
            active = still
            done.add(len(view))
            off = chunk_end
    except TransferCancelled:
        raise  # a cancelled verify found nothing wrong: it stops
    except FormatError as exc:
        return [*problems, exc]
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    for run in [*active, *(_Running(e) for e in inside[i:])]:  # zero-size tensors at the end
        finish(run)
    return problems
