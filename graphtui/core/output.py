"""Writing a result checkpoint: ``DST.meta`` + ``DST.index`` + data + the directory's
``checkpoint`` state file, as one transaction, never over the source or an existing target,
read back and verified before success is reported."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphtui.errors import ConflictError, FormatError, GraphtuiError, WriteError
from graphtui.formats import storage
from graphtui.formats.byte_source import is_url
from graphtui.formats.state_file import DEFAULT_NAME, format_state, make_state, read_state
from graphtui.formats.transaction import FileTransaction, OnStep

if TYPE_CHECKING:  # imported where used: a checkpoint-only write never loads the graph code
    from graphtui.core.graph import GraphIndex
    from graphtui.core.write_check import Expected, SaverSide
    from graphtui.formats.bundle_writer import BundleWriter


@dataclass
class WriteResult:
    prefix: str
    files: list[str] = field(default_factory=list)
    tensors: int = 0
    bytes: int = 0
    meta: str | None = None
    state_file: str | None = None
    notes: list[str] = field(default_factory=list)  # graph changes made so TF can use it
    cleaned: list[str] = field(default_factory=list)  # stale temporary files found (see below)
    report: Any = field(default=None, repr=False, compare=False)  # the operation's own report

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "files": self.files,
            "tensors": self.tensors,
            "bytes": self.bytes,
            "meta": self.meta,
            "state_file": self.state_file,
            "notes": self.notes,
            "verified": True,
        }


@dataclass
class Begun:
    """A write whose data file was begun before :func:`write_checkpoint` was called (a restore
    copies its data while it is planned: :mod:`graphtui.core.copy_ahead`): its transaction,
    with the data file staged first, the writer appending to it, and the directories made."""

    txn: FileTransaction
    writer: BundleWriter
    created: list[str]


def existing_files(prefix: str) -> list[str]:
    """Files a checkpoint written at ``prefix`` would collide with or shadow: its V2 files and
    ``.meta``, and a V1 checkpoint of that name (the file ``prefix`` itself, or its shards)."""
    esc = glob.escape(prefix)
    return sorted(
        p
        for p in [
            prefix,
            prefix + ".index",
            prefix + ".meta",
            *glob.glob(esc + ".data-*-of-*"),
            *glob.glob(esc + "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"),
        ]
        if os.path.lexists(p)
    )


def check_target(out_prefix: str, sources: Iterable[str]) -> str:
    """Absolute target prefix; refuse the source itself, a directory, or any existing
    checkpoint files of that name (V2 or V1)."""
    out = os.path.abspath(out_prefix)
    for src in sources:
        if os.path.abspath(src) == out:
            raise ConflictError("refused: the output would overwrite the source", [out])
    if os.path.isdir(out):
        raise ConflictError(
            "refused: the output prefix is a directory; give a prefix inside it "
            f"(e.g. {os.path.join(out_prefix, 'model.ckpt')})",
            [out],
        )
    clash = existing_files(out)
    if clash:
        raise ConflictError(
            "refused: the output prefix already has files (choose a new --out)", clash
        )
    return out


def missing_dirs(directory: str) -> list[str]:
    """``directory`` and its parents that do not exist yet, outermost first."""
    out: list[str] = []
    path = os.path.abspath(directory)
    while path and not os.path.isdir(path):
        out.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return out[::-1]


def make_directory(directory: str) -> list[str]:
    """Create ``directory`` and missing parents; the ones created, outermost first."""
    missing = missing_dirs(directory)
    created: list[str] = []
    for path in missing:
        try:
            os.mkdir(path)
        except OSError as exc:
            if isinstance(exc, FileExistsError) and os.path.isdir(path):
                continue  # made meanwhile by someone else: not ours to remove
            remove_directories(created)
            raise FormatError(path, f"cannot create output directory: {exc.strerror}") from None
        created.append(path)
    return created


def remove_directories(created: list[str]) -> None:
    """Undo :func:`make_directory` (only directories that are still empty)."""
    for path in reversed(created):
        with contextlib.suppress(OSError):
            os.rmdir(path)


def state_after_adding(directory: str, prefix: str) -> str:
    """The state file text once ``prefix`` is the directory's latest checkpoint, keeping the
    existing history (TensorFlow's rule: the latest is also the last of all paths)."""
    path = storage.join(directory, DEFAULT_NAME)
    rel = storage.basename(prefix) if storage.dirname(prefix) == directory else prefix
    paths: list[str] = []
    stamps: list[float] = []
    last_preserved = None
    if storage.isfile(path):
        try:
            old = read_state(path)
        except FormatError:
            old = None  # a malformed state file is replaced by a valid one
        if old is not None:
            old_paths = list(old.all_model_checkpoint_paths)
            old_stamps = list(old.all_model_checkpoint_timestamps)
            usable = len(old_stamps) == len(old_paths)
            for i, p in enumerate(old_paths):
                full = p if storage.isabs(p) else storage.join(directory, p)
                if storage.normpath(full) == prefix:
                    continue
                paths.append(p)
                if usable:
                    stamps.append(old_stamps[i])
            if not usable:
                stamps = []
            if old.last_preserved_timestamp:
                last_preserved = float(old.last_preserved_timestamp)
    paths.append(rel)
    if stamps or not paths[:-1]:
        stamps.append(time.time())
    state = make_state(rel, paths, stamps if len(stamps) == len(paths) else None, last_preserved)
    return format_state(state)


def write_checkpoint(
    out_prefix: str,
    *,
    sources: Iterable[str] = (),
    fill: Callable[[BundleWriter], Mapping[str, Expected] | None] | None = None,
    meta_graph: Any = None,
    as_text: bool = False,
    update_state: bool = True,
    on_step: OnStep | None = None,
    graph_index: GraphIndex | None = None,
    meta_bytes: bytes | None = None,
    begun: Begun | None = None,
) -> WriteResult:
    """Write the target as one transaction (meta, data, index, state file), then verify it.

    ``fill`` adds the tensors and returns what each must be (see
    :func:`~graphtui.core.write_check.verify_output`; None: only checksums are checked). A
    graph written beside a checkpoint gets a V2 saver (the checkpoint is V2). A URL target
    is written by :func:`~graphtui.core.remote_write.write_remote`. ``graph_index``: an index
    of ``meta_graph`` (reused); ``meta_bytes``: the binary file ``meta_graph`` was decoded from,
    written as it is when the graph is written unchanged (no second serialization); ``begun``:
    the data file already being written (``fill`` appends to ``begun.writer``)."""
    if is_url(out_prefix):
        from graphtui.core.remote_write import write_remote

        return write_remote(
            out_prefix,
            sources=sources,
            fill=fill,
            meta_graph=meta_graph,
            as_text=as_text,
            update_state=update_state,
            on_step=on_step,
        )
    out = check_target(out_prefix, sources)
    directory = os.path.dirname(out)
    result = WriteResult(prefix=out)
    if graph_index is not None and graph_index.meta_graph is not meta_graph:
        graph_index = None  # not an index of this graph
    given = meta_graph
    if meta_graph is not None and fill is not None:
        from graphtui.core.saver_upgrade import with_v2_saver

        meta_graph, result.notes = with_v2_saver(meta_graph, graph_index)
    if graph_index is not None and graph_index.meta_graph is not meta_graph:
        graph_index = None  # the graph was changed: its index no longer describes it
    if meta_graph is not given or as_text:
        meta_bytes = None  # not the bytes to write
    expected: Mapping[str, Expected] | None = None
    side: SaverSide | None = None
    created = make_directory(directory) if begun is None else begun.created
    result.cleaned = remove_stale_temporaries(directory)
    txn = FileTransaction(on_step) if begun is None else begun.txn
    # the state file is staged before the commit (a full disk fails here, before anything is
    # renamed into place) and renamed only once the checkpoint is verified
    state_txn = FileTransaction(on_step)
    try:
        if meta_graph is not None:
            from graphtui.formats.metagraph_io import serialize_meta_graph

            result.meta = out + ".meta"
            if meta_bytes is None:
                meta_bytes = serialize_meta_graph(meta_graph, as_text=as_text)
            txn.write_bytes(result.meta, meta_bytes)
        if fill is not None:
            from graphtui.formats.bundle_writer import BundleWriter

            writer = BundleWriter(out, txn) if begun is None else begun.writer
            if meta_graph is not None:  # while a begun copy is writing the data
                side = _saver_side(meta_graph, graph_index)
            made = fill(writer)
            expected = made if isinstance(made, Mapping) else None
            writer.finish()
        if fill is not None and update_state and not _is_source_directory(directory, sources):
            result.state_file = os.path.join(directory, DEFAULT_NAME)
            state_txn.write_bytes(result.state_file, state_after_adding(directory, out).encode())
        txn.commit()
    except BaseException as exc:
        where = state_txn.current or txn.current or out  # the file being written
        txn.abort()
        state_txn.abort()
        remove_directories(created)
        if isinstance(exc, OSError) and not isinstance(exc, GraphtuiError):
            where = exc.filename or where
            raise WriteError.of(where, exc) from None
        raise
    result.files = list(txn.committed)
    try:
        _verify(result, meta_graph, expected, graph_index, None if as_text else meta_bytes, side)
    except GraphtuiError as exc:
        state_txn.abort()
        _remove_written(result.files, created)
        why = exc.detail if isinstance(exc, FormatError) and exc.path == out else str(exc)
        raise FormatError(
            out, f"written output failed verification and was removed: {why}"
        ) from None
    if result.state_file is not None:
        # Only a verified checkpoint becomes the directory's latest.
        try:
            state_txn.commit()
        except OSError as exc:
            _remove_written(result.files, created)
            raise WriteError.of(
                result.state_file, exc, "the checkpoint written was removed again"
            ) from None
        result.files.append(result.state_file)
    return result


def _is_source_directory(directory: str, sources: Iterable[str]) -> bool:
    """True when the output goes beside a source: its state file is the source's, left alone."""
    for src in sources:
        src = os.path.abspath(src)
        if os.path.normpath(
            src if os.path.isdir(src) else os.path.dirname(src)
        ) == os.path.normpath(directory):
            return True
    return False


def _remove_written(files: list[str], created: list[str]) -> None:
    for path in files:
        with contextlib.suppress(OSError):
            os.unlink(path)
    remove_directories(created)


STALE_SECONDS = 3600.0  # a temporary file of ours older than this is a killed write's leftover
_TEMPORARY = re.compile(r"^\.(.+)\.[0-9a-f]{8}\.tmp$")


def remove_stale_temporaries(directory: str, now: float | None = None) -> list[str]:
    """Remove the hidden ``.NAME.XXXXXXXX.tmp`` files an interrupted write of ours left in
    ``directory`` (older than an hour: a running write's are fresh); a note per file."""
    now = time.time() if now is None else now
    notes = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if not _TEMPORARY.match(entry.name):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            if now - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                continue
            os.unlink(entry.path)
        except OSError:
            notes.append(f"stale temporary file left by an interrupted write: {entry.path}")
            continue
        notes.append(f"removed a stale temporary file left by an interrupted write: {entry.path}")
    return notes


def _saver_side(meta_graph: Any, index: GraphIndex | None) -> SaverSide | None:
    """The graph's half of the saver check (see write_check.check_saver), worked out before
    the checkpoint is written; None where it fails: worked out again after writing, failing
    there as it always did."""
    from graphtui.core.write_check import saver_side

    try:
        return saver_side(meta_graph, index)
    except Exception:  # noqa: BLE001 - said by the check after writing
        return None


def _verify(
    result: WriteResult,
    meta_graph: Any,
    expected: Mapping[str, Expected] | None,
    index: GraphIndex | None = None,
    written: bytes | None = None,
    side: SaverSide | None = None,
) -> None:
    """``written``: the binary ``.meta`` bytes written; a file that reads back as exactly those
    bytes (which the readers take for binary) parses to ``meta_graph`` itself, so it is not
    parsed and serialized again (seconds for a big graph). ``side``: the saver check's graph
    half, worked out from ``meta_graph`` (the file read back must equal it, or fail here)."""
    from graphtui.core.write_check import verify_output

    back = None
    if result.meta is not None:
        from graphtui.formats.metagraph_io import looks_like_text, parse_meta_graph

        with open(result.meta, "rb") as fh:
            data = fh.read()
        if written is not None and data == written and not looks_like_text(data):
            back = meta_graph
        else:
            back = parse_meta_graph(data, result.meta)
            if back.SerializeToString(deterministic=True) != meta_graph.SerializeToString(
                deterministic=True
            ):
                raise FormatError(result.meta, "meta graph read back differs from what was written")
    prefix = result.prefix if os.path.isfile(result.prefix + ".index") else None
    # ``back`` serializes to ``meta_graph``'s bytes (checked above): an index of either is one
    result.tensors, result.bytes = verify_output(prefix, back, expected, index, side)
