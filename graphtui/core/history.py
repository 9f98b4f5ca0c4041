"""Checkpoint history of a directory: the state file's list plus every checkpoint found on disk."""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from graphtui.errors import FormatError
from graphtui.formats import storage
from graphtui.formats.byte_source import is_url
from graphtui.formats.state_file import DEFAULT_NAME, read_state

_STEP_RE = re.compile(r"-(\d+)$")
_DATA_RE = re.compile(r"\.data-(\d{5})-of-(\d{5})$")


@dataclass
class CheckpointRecord:
    """One checkpoint of a directory's history."""

    prefix: str  # absolute, normalised
    name: str  # the prefix relative to the directory when inside it
    step: int | None
    format: str  # "V2", "V1" or "?" when no file is there
    files: list[tuple[str, int]] = field(default_factory=list)  # (path, size)
    timestamp: float | None = None  # state file timestamp, else the newest file's mtime
    in_state: bool = False  # listed by the state file
    latest: bool = False  # the state file's model_checkpoint_path
    complete: bool = False  # index + every data shard present and non-empty
    problem: str = ""  # why it is incomplete or missing
    outside: bool = False  # the state file points outside the directory

    @property
    def size(self) -> int:
        return sum(size for _, size in self.files)

    @property
    def missing(self) -> bool:
        return not self.files

    def age(self, now: float | None = None) -> float | None:
        if self.timestamp is None:
            return None
        return (time.time() if now is None else now) - self.timestamp

    def to_json(self) -> dict[str, Any]:
        return {
            "prefix": self.prefix,
            "name": self.name,
            "step": self.step,
            "format": self.format,
            "files": [{"path": p, "bytes": s} for p, s in self.files],
            "bytes": self.size,
            "timestamp": self.timestamp,
            "in_state": self.in_state,
            "latest": self.latest,
            "complete": self.complete,
            "missing": self.missing,
            "outside_directory": self.outside,
            "problem": self.problem,
        }


@dataclass
class History:
    directory: str
    records: list[CheckpointRecord]
    state_file: str | None  # path when present
    state_error: str = ""  # a malformed state file's error (history still lists disk files)
    last_preserved_timestamp: float | None = None

    @property
    def latest(self) -> CheckpointRecord | None:
        return next((r for r in self.records if r.latest), None)

    def find(self, step_or_prefix: str) -> CheckpointRecord | None:
        """A record by step number, by name, or by prefix path."""
        for rec in self.records:
            if step_or_prefix.isdigit() and rec.step == int(step_or_prefix):
                return rec
            if step_or_prefix in (rec.name, rec.prefix, os.path.basename(rec.prefix)):
                return rec
        return None


def step_of(prefix: str) -> int | None:
    match = _STEP_RE.search(os.path.basename(prefix))
    return int(match.group(1)) if match else None


def _size(path: str) -> int | None:
    """The size of ``path``, or None when it is gone (a training job may delete it any time)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _has_table_footer(path: str, size: int) -> bool:
    """True if ``path`` ends with a table footer's magic number: a file still being written
    or cut short has none (a cheap test that reads 8 bytes)."""
    from graphtui.formats.sstable import FOOTER_SIZE, TABLE_MAGIC

    if size < FOOTER_SIZE:
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(size - 8)
            return int.from_bytes(fh.read(8), "little") == TABLE_MAGIC
    except OSError:
        return False


class _Files:
    """Sizes and times of a directory's files: asked of the disk one by one, or for a URL
    directory read from one listing (objects appear whole: no footer check is needed)."""

    def __init__(self, listing: list[storage.Entry] | None = None) -> None:
        self.listing = None if listing is None else {e.path: e for e in listing}

    def _listed(self, path: str) -> bool:
        return self.listing is not None and is_url(path)

    def size(self, path: str) -> int | None:
        """The size of a regular file ``path``, None when it is not one (or gone)."""
        if self._listed(path):
            assert self.listing is not None
            entry = self.listing.get(path)
            return entry.size if entry is not None else None
        if is_url(path):  # a URL outside the listed directory, or on a web server
            return storage.getsize(path) if storage.isfile(path) else None
        return _size(path) if os.path.isfile(path) else None

    def glob(self, prefix: str, pattern: str) -> list[str]:
        """Files named ``prefix`` + ``pattern`` (a shell pattern)."""
        if self._listed(prefix):
            assert self.listing is not None
            return sorted(p for p in self.listing if fnmatch.fnmatchcase(p, prefix + pattern))
        if is_url(prefix):
            return storage.glob(prefix + pattern)
        return sorted(glob.glob(glob.escape(prefix) + pattern))

    def mtime(self, path: str) -> float | None:
        if self._listed(path):
            assert self.listing is not None
            entry = self.listing.get(path)
            return entry.mtime if entry is not None else None
        return _mtime(path)

    def whole_table(self, path: str, size: int) -> bool:
        return self._listed(path) or _has_table_footer(path, size)


def _describe(rec: CheckpointRecord, disk: _Files | None = None) -> None:
    disk = disk or _Files()
    prefix = rec.prefix
    files: list[tuple[str, int]] = []
    index = prefix + ".index"
    index_size = disk.size(index)
    if index_size is not None:
        rec.format = "V2"
        files.append((index, index_size))
        data = disk.glob(prefix, ".data-[0-9]*-of-[0-9]*")
        shards: set[int] = set()
        total = None
        for path in data:
            m = _DATA_RE.search(path)
            size = disk.size(path)
            if not m or size is None:  # gone, or a pipe
                continue
            shards.add(int(m.group(1)))
            total = int(m.group(2))
            files.append((path, size))
        if total is None:
            rec.problem = "no data file"
        elif shards != set(range(total)):
            rec.problem = (
                f"{total - len(shards & set(range(total)))} of {total} data shards missing"
            )
        elif not disk.whole_table(index, index_size):
            rec.problem = "index file truncated (still being written?)"
        else:
            rec.complete = True
    else:
        from graphtui.formats.v1 import v1_files

        if disk.listing is not None and is_url(prefix):
            single = [prefix] if disk.size(prefix) is not None else []
            names = single or disk.glob(
                prefix, "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"
            )
        else:
            names = v1_files(prefix)
        v1 = [(p, disk.size(p)) for p in names]
        files.extend((p, size) for p, size in v1 if size is not None)
        if files:
            rec.format = "V1"
            rec.complete = all(disk.whole_table(p, size) for p, size in files)
            if not rec.complete:
                rec.problem = "file truncated"
        else:
            rec.format = "?"
            rec.problem = "files missing"
    meta = prefix + ".meta"
    meta_size = disk.size(meta)
    if meta_size is not None:
        files.append((meta, meta_size))
    rec.files = files
    if rec.timestamp is None and files:
        stamps = [t for t in (disk.mtime(p) for p, _ in files) if t is not None]
        rec.timestamp = max(stamps) if stamps else None


def _mtime(path: str) -> float | None:
    try:
        return os.path.getmtime(path)
    except OSError:
        return None


def _disk_prefixes(directory: str, disk: _Files) -> set[str]:
    if disk.listing is not None:
        return {p[: -len(".index")] for p in disk.listing if p.endswith(".index")}
    found = set()
    for index in glob.glob(os.path.join(glob.escape(directory), "*.index")):
        found.add(index[: -len(".index")])
    return found


def scan_history(directory: str | os.PathLike[str], latest_filename: str | None = None) -> History:
    """Every checkpoint of ``directory``: the state file's entries (in its order, oldest first)
    then checkpoints found on disk that it does not list (by step, then name)."""
    directory = storage.abspath(os.fspath(directory))
    disk = _Files()
    if is_url(directory):  # one listing answers every question about the directory's files
        disk = _Files(storage.listdir(directory))
    if not (disk.listing or storage.isdir(directory)):
        raise FormatError(directory, "not a directory")
    state_path = storage.join(directory, latest_filename or DEFAULT_NAME)
    records: dict[str, CheckpointRecord] = {}
    state_error = ""
    last_preserved = None
    has_state = disk.size(state_path) is not None
    if has_state:
        try:
            state = read_state(state_path)
        except FormatError as exc:
            state_error = str(exc)
        else:
            paths = list(state.all_model_checkpoint_paths)
            stamps = list(state.all_model_checkpoint_timestamps)
            latest = state.model_checkpoint_path
            if latest and latest not in paths:
                paths.append(latest)
            if state.last_preserved_timestamp:
                last_preserved = float(state.last_preserved_timestamp)
            for i, raw in enumerate(paths):
                joined = raw if storage.isabs(raw) else storage.join(directory, raw)
                prefix = storage.normpath(joined)
                rec = records.get(prefix) or CheckpointRecord(
                    prefix=prefix, name=_rel(prefix, directory), step=step_of(prefix), format="?"
                )
                rec.in_state = True
                rec.outside = storage.dirname(prefix) != directory and not _inside(
                    prefix, directory
                )
                if i < len(stamps) and len(stamps) == len(state.all_model_checkpoint_paths):
                    rec.timestamp = float(stamps[i])
                if raw == latest:
                    rec.latest = True
                records[prefix] = rec
    for prefix in sorted(_disk_prefixes(directory, disk)):
        prefix = storage.normpath(prefix)
        if prefix not in records:
            records[prefix] = CheckpointRecord(
                prefix=prefix, name=_rel(prefix, directory), step=step_of(prefix), format="?"
            )
    for rec in records.values():
        _describe(rec, disk)
    listed = [r for r in records.values() if r.in_state]
    extra = sorted(
        (r for r in records.values() if not r.in_state),
        key=lambda r: (r.step if r.step is not None else -1, r.name),
    )
    return History(
        directory=directory,
        records=listed + extra,
        state_file=state_path if has_state else None,
        state_error=state_error,
        last_preserved_timestamp=last_preserved,
    )


def _inside(path: str, directory: str) -> bool:
    if is_url(path) or is_url(directory):
        return path.startswith(directory.rstrip("/") + "/")
    try:
        return os.path.commonpath([path, directory]) == directory
    except ValueError:
        return False


def _rel(prefix: str, directory: str) -> str:
    if not _inside(prefix, directory):
        return prefix
    if is_url(prefix):
        return prefix[len(directory.rstrip("/")) + 1 :]
    return os.path.relpath(prefix, directory)
