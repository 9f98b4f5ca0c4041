"""Checkpoint history of a directory: the state file's list plus every checkpoint found on disk."""

from __future__ import annotations

import fnmatch
import math
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphtui.errors import FormatError
from graphtui.formats import storage
from graphtui.formats.byte_source import is_url
from graphtui.formats.state_file import DEFAULT_NAME, read_state
from graphtui.formats.v1_shards import SHARD_RE

_STEP_RE = re.compile(r"-(\d+)$")
_DATA_RE = re.compile(r"\.data-(\d{5})-of-(\d{5})$")
_V1_PATTERN_RE = re.compile(r"-\?{5}-of-(\d{5})$")  # the name Saver.save gives the set
_V1_SHARDS_RE = re.compile(r"-(\?{5}|\d{5})-of-\d{5}$")
_MIN_TIME = -62135596800.0  # 0001-01-01 UTC
_MAX_TIME = 253402214400.0  # 9999-12-31 UTC


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
    problem: str = ""  # why it is incomplete, unreadable or missing
    unreadable: bool = False  # the index is no table (empty, bad magic): damaged, not in progress
    outside: bool = False  # the state file points outside the directory
    bad_timestamp: str = ""  # the state file's timestamp when it is no time (nan, 1e18)

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
            "invalid_timestamp": self.bad_timestamp or None,
            "in_state": self.in_state,
            "latest": self.latest,
            "complete": self.complete,
            "missing": self.missing,
            "outside_directory": self.outside,
            "problem": self.problem,
            "unreadable": self.unreadable,
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

    def by_step(self) -> list[CheckpointRecord]:
        """The records oldest first: by step (unnumbered ones by time), then name; the state
        file's own order need not be chronological (a rollback lists 30, 40, 20)."""
        return sorted(
            self.records,
            key=lambda r: (
                r.step is None,
                r.step if r.step is not None else 0,
                r.timestamp or 0.0,
                r.name,
            ),
        )

    def readable_others(self, prefix: str | None) -> list[CheckpointRecord]:
        """Complete checkpoints other than ``prefix``, newest first: what to offer when the
        one asked for cannot be read."""
        skip = os.path.normpath(prefix) if prefix else None
        return sorted(
            (r for r in self.records if r.complete and r.prefix != skip),
            key=lambda r: (r.step if r.step is not None else -1, r.timestamp or 0.0),
            reverse=True,  # stable: among equals, the first listed
        )

    def find(self, step_or_prefix: str) -> CheckpointRecord | None:
        """A record by step number, by name, or by prefix path."""
        for rec in self.records:
            if step_or_prefix.isdigit() and rec.step == int(step_or_prefix):
                return rec
            if step_or_prefix in (rec.name, rec.prefix, os.path.basename(rec.prefix)):
                return rec
        return None


def step_of(prefix: str) -> int | None:
    """The global step in a checkpoint's name (``model.ckpt-150``, ``model.ckpt-5-?????-of-00002``)."""
    name = os.path.basename(prefix)
    match = _STEP_RE.search(_V1_SHARDS_RE.sub("", name) if "-of-" in name else name)
    return int(match.group(1)) if match else None


def valid_timestamp(value: float) -> bool:
    """A time a date can show: finite and within the years 1..9999 (a state file may hold nan)."""
    return math.isfinite(value) and _MIN_TIME < value < _MAX_TIME


class _File(NamedTuple):  # a tuple: 30,000 of them for a history of 10,000 checkpoints
    size: int
    mtime: float | None


class _Listing:
    """One listing of a directory (``scandir``, or one request for a URL directory), indexed
    for the lookups a history needs: every regular file, V2 data shards and V1 shards by their
    prefix's name. A history costs one listing per directory, not a glob per checkpoint."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.url = is_url(directory)
        sep = "/" if self.url else os.sep
        self._head = directory if directory.endswith(sep) else directory + sep
        self.unlistable = self.url and directory.startswith(("http://", "https://"))
        self._absent: set[str] = set()
        self.files: dict[str, _File] = {}
        self.data: dict[str, list[tuple[int, int, str]]] = {}  # base -> (shard, total, name)
        self.v1_shards: dict[str, list[tuple[int, int, str]]] = {}
        try:
            entries = storage.listdir(directory)  # regular files only; gone ones left out
        except OSError:
            entries = []
        head = len(self._head)
        for entry in entries:
            path = entry.path
            # a local listing joins the directory and the name: slicing is the basename
            name = storage.basename(path) if self.url else path[head:]
            self.files[name] = _File(entry.size, entry.mtime)
            if "-of-" not in name:  # neither a data shard nor a V1 shard
                continue
            m = _DATA_RE.search(name)
            if m:
                self.data.setdefault(name[: m.start()], []).append(
                    (int(m.group(1)), int(m.group(2)), name)
                )
                continue
            m = SHARD_RE.search(name)
            if m:
                self.v1_shards.setdefault(name[: m.start()], []).append(
                    (int(m.group(1)), int(m.group(2)), name)
                )

    def file(self, name: str) -> _File | None:
        """The file ``name`` of this directory, None when there is none. A web server's
        directory cannot be listed: there each name is asked for (and remembered)."""
        found = self.files.get(name)
        if found is None and self.unlistable and name not in self._absent:
            path = self.path(name)
            if storage.isfile(path):
                found = self.files[name] = _File(storage.getsize(path), None)
            else:
                self._absent.add(name)
        return found

    def whole_table(self, name: str) -> bool:
        """The file ends with a table footer; objects in a bucket appear whole (not read)."""
        return self.url or _has_table_footer(self.path(name), self.files[name].size)

    def path(self, name: str) -> str:
        return self._head + name

    def named_shards(self, base: str) -> list[tuple[int, int, str]]:
        """A web server's data files of checkpoint ``base``, as its index names them (a
        directory there cannot be listed); none elsewhere."""
        if not self.unlistable:
            return []
        from graphtui.formats.bundle import BundleReader

        try:
            with BundleReader(self.path(base)) as reader:
                names = [storage.basename(p) for p in reader.data_files()]
        except FormatError:
            return []
        out = []
        for name in names:
            m = _DATA_RE.search(name)
            if m and self.file(name) is not None:
                out.append((int(m.group(1)), int(m.group(2)), name))
        return out

    def v1_names(self, base: str) -> list[str]:
        """The files of the V1 checkpoint ``base`` names, as :func:`v1_files` finds them."""
        if self.file(base) is not None:
            return [base]
        pattern = _V1_PATTERN_RE.search(base)
        if pattern:
            total = int(pattern.group(1))
            return sorted(
                n for _, t, n in self.v1_shards.get(base[: pattern.start()], ()) if t == total
            )
        if any(c in base for c in "*?["):
            return sorted(fnmatch.filter(self.files, base))
        return sorted(n for _, _, n in self.v1_shards.get(base, ()))

    def disk_prefixes(self) -> set[str]:
        """Checkpoints in this directory: every ``X.index``, every V1 shard set (named as
        ``Saver.save`` names it, ``X-?????-of-0000N``) and every single V1 table file."""
        found = {n[: -len(".index")] for n in self.files if n.endswith(".index")}
        for base, shards in self.v1_shards.items():
            for total in {t for _, t, _ in shards}:
                found.add(f"{base}-?????-of-{total:05d}")
        for name in self.files:
            if not _maybe_v1_file(name, found):
                continue
            # a bucket's object is not read for its footer: there, a .meta beside it decides
            if (name + ".meta" in self.files) if self.url else self.whole_table(name):
                found.add(name)
        return {self.path(n) for n in found}


_NOT_V1 = re.compile(
    r"(^checkpoint$|^\.|^events\.out\.tfevents|\.(index|meta|json|txt|pb|pbtxt|tmp|py|md|csv|"
    r"npy|npz|h5|hdf5|keras|log|png|jpg|svg|gz|zip|tar)$|\.data-\d{5}-of-\d{5}$)"
)


def _maybe_v1_file(name: str, found: set[str]) -> bool:
    """A name a single-file V1 checkpoint could have (its footer is checked next)."""
    if name in found or name.endswith((".index", ".meta")):
        return False  # the common names, answered without a regular expression
    if "-of-" in name and SHARD_RE.search(name):
        return False
    return not _NOT_V1.search(name)


def _has_table_footer(path: str, size: int) -> bool:
    """True if ``path`` ends with a table footer's magic number: a file cut short or damaged
    has none (a cheap test that reads 8 bytes). TensorFlow writes the index to a temporary
    file and renames it, so a bad footer means damage, not a save in progress."""
    from graphtui.formats.sstable import FOOTER_SIZE, TABLE_MAGIC

    if size < FOOTER_SIZE:
        return False
    try:  # os.pread: a history of 10,000 checkpoints reads 10,000 footers
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return int.from_bytes(os.pread(fd, 8, size - 8), "little") == TABLE_MAGIC
    except OSError:
        return False
    finally:
        os.close(fd)


def _describe(rec: CheckpointRecord, listing: _Listing) -> None:
    base = rec.prefix[len(listing.path("")) :]
    files: list[tuple[str, int]] = []
    index = listing.file(base + ".index")
    if index is not None:
        rec.format = "V2"
        index_path = listing.path(base + ".index")
        files.append((index_path, index.size))
        shards: set[int] = set()
        total = None
        data = listing.data.get(base, []) or listing.named_shards(base)
        for shard, count, name in sorted(data):
            shards.add(shard)
            total = count
            files.append((listing.path(name), listing.files[name].size))
        if total is None:
            rec.problem = "no data file (missing shard)"
        elif shards != set(range(total)):
            rec.problem = (
                f"{total - len(shards & set(range(total)))} of {total} data shards missing"
            )
        elif index.size == 0:
            rec.problem = "index file is empty (truncated to 0 bytes): not an sstable"
            rec.unreadable = True
        elif not listing.whole_table(base + ".index"):
            rec.problem = "index is not an sstable (bad magic number): truncated or damaged"
            rec.unreadable = True
        else:
            rec.complete = True
    else:
        from graphtui.formats.v1_shards import missing_shards

        names = listing.v1_names(base)
        files.extend((listing.path(n), listing.files[n].size) for n in names)
        if files:
            rec.format = "V1"
            gaps = missing_shards(names)
            if gaps:
                rec.problem = f"{len(gaps)} V1 shards missing"
            else:
                rec.complete = all(listing.whole_table(n) for n in names)
                if not rec.complete:
                    rec.problem = "not an sstable (bad magic number): truncated or damaged"
                    rec.unreadable = True
        else:
            rec.format = "?"
            rec.problem = "files missing"
    meta_base = _V1_PATTERN_RE.sub("", base) if rec.format == "V1" else base
    meta = listing.file(meta_base + ".meta")
    if meta is not None:
        files.append((listing.path(meta_base + ".meta"), meta.size))
    rec.files = files
    if rec.timestamp is None and not rec.bad_timestamp and files:
        head = len(listing.path(""))
        stamps = [listing.files[p[head:]].mtime for p, _ in files]
        known = [t for t in stamps if t is not None]
        rec.timestamp = max(known) if known else None


def scan_history(directory: str | os.PathLike[str], latest_filename: str | None = None) -> History:
    """Every checkpoint of ``directory``: the state file's entries (in its order, oldest first)
    then checkpoints found on disk that it does not list (by step, then name)."""
    directory = storage.abspath(os.fspath(directory))
    local = not is_url(directory)
    # local paths by os.path directly: storage's ask is_url for each of 10,000 checkpoints
    dirname, isabs, join, normpath = (
        (os.path.dirname, os.path.isabs, os.path.join, os.path.normpath)
        if local
        else (storage.dirname, storage.isabs, storage.join, storage.normpath)
    )
    sep = os.sep if local else "/"
    head = directory.rstrip(sep) + sep  # what a path inside the directory starts with
    listings = {directory: _Listing(directory)}
    if not (
        listings[directory].files or listings[directory].unlistable or storage.isdir(directory)
    ):
        raise FormatError(directory, "not a directory")
    state_path = storage.join(directory, latest_filename or DEFAULT_NAME)
    records: dict[str, CheckpointRecord] = {}
    state_error = ""
    last_preserved = None
    has_state = listings[directory].file(latest_filename or DEFAULT_NAME) is not None
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
            if state.last_preserved_timestamp and valid_timestamp(state.last_preserved_timestamp):
                last_preserved = float(state.last_preserved_timestamp)
            for i, raw in enumerate(paths):
                prefix = normpath(raw if isabs(raw) else join(directory, raw))
                rec = records.get(prefix) or CheckpointRecord(
                    prefix=prefix, name=_rel(prefix, head), step=step_of(prefix), format="?"
                )
                rec.in_state = True
                rec.outside = not prefix.startswith(head)
                if i < len(stamps) and len(stamps) == len(state.all_model_checkpoint_paths):
                    if valid_timestamp(stamps[i]):
                        rec.timestamp = float(stamps[i])
                    else:
                        rec.bad_timestamp = repr(float(stamps[i]))
                if raw == latest:
                    rec.latest = True
                records[prefix] = rec
    for prefix in sorted(listings[directory].disk_prefixes()):
        if not local:
            prefix = normpath(prefix)  # a local one is: a normalised directory + a name
        if prefix in records:
            continue
        # a shard set the state file names by its plain prefix is the same checkpoint
        if "?????" not in prefix or _V1_PATTERN_RE.sub("", prefix) not in records:
            records[prefix] = CheckpointRecord(
                prefix=prefix, name=_rel(prefix, head), step=step_of(prefix), format="?"
            )
    for rec in records.values():
        parent = dirname(rec.prefix)
        if parent not in listings:
            listings[parent] = _Listing(parent)
        _describe(rec, listings[parent])
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


def _rel(prefix: str, head: str) -> str:
    """``prefix`` relative to the directory whose paths start with ``head`` (``DIR/``), when
    inside it."""
    return prefix[len(head) :] if prefix.startswith(head) else prefix
