"""What a PATH names: the one place that decides, for local paths and URLs alike.

Every entry point asks :func:`locate` — the workspace, the write commands' sources, the
checkpoint reader, the object tree, the SavedModel reader and the app's start-up check — so a
path means the same thing everywhere (a ``.pbtxt`` the app opens is also a graph to ``rename``).

A PATH may be a URL (``gs://``, ``s3://``, ``https://``, any fsspec protocol): the questions
asked of it (is it a file, a directory, what is beside it) go through
:mod:`graphtui.formats.storage`, which answers for both.

The rules, in order:

* a SavedModel: a directory holding ``saved_model.pb`` / ``.pbtxt``, or that file itself;
  its checkpoint is ``variables/variables`` (when its ``.index`` exists, or a V1 file of that
  name, as TF 0.12 wrote);
* a directory: a training directory; its checkpoint is the state file's latest (as
  ``tf.train.latest_checkpoint``), its graph that checkpoint's ``.meta``, else the newest
  ``.meta`` there;
* an existing graph file by name (``*.meta``, ``*.meta.txt``, ``*.pbtxt``): that graph; its
  checkpoint is the one of the same prefix, when there is one;
* otherwise a checkpoint: a prefix, its ``.index`` / ``.data-*`` / ``.meta`` path or a V1 file;
  its graph ``PREFIX.meta`` when present.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from graphtui.core.natural import natural_key
from graphtui.errors import FormatError, GraphtuiError, MissingFileError, NoCheckpointError
from graphtui.formats import storage

Kind = Literal["saved_model", "directory", "meta", "checkpoint"]
CheckpointFormat = Literal["V2", "V1"]

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
VARIABLES_DIR = "variables"
VARIABLES_NAME = "variables"

_SUFFIXES = (".index", ".meta")
_NO_CHECKPOINT = "no checkpoint here (neither PREFIX.index nor a V1 checkpoint file)"
_GRAPH_SUFFIXES = (".meta", ".meta.txt", ".pbtxt", ".meta.pbtxt")
_HINT_SUBDIRS = 64  # subdirectories looked into for a hint, at most


@dataclass(frozen=True)
class Located:
    """What one path names and what belongs with it (paths as found, nothing opened)."""

    path: str  # as given
    kind: Kind
    directory: str  # absolute: where the checkpoints (and their history) live
    prefix: str | None = None  # the checkpoint, None when there is none
    format: CheckpointFormat | None = None
    meta: str | None = None  # the MetaGraphDef file that goes with it, None when there is none
    saved_model_dir: str | None = None
    saved_model_file: str | None = None
    problem: GraphtuiError | None = None  # why a directory's state file names no checkpoint

    @property
    def found(self) -> bool:
        """False when the path names nothing graphtui reads."""
        return self.kind != "checkpoint" or self.prefix is not None

    def checkpoint(self) -> tuple[CheckpointFormat, str]:
        """``(format, prefix)`` of the checkpoint, or the error saying why there is none."""
        if self.prefix is not None and self.format is not None:
            return self.format, self.prefix
        if self.problem is not None:
            raise self.problem
        if self.kind == "saved_model":
            raise MissingFileError(
                variables_prefix(self.saved_model_dir or self.path) + ".index",
                "no such file: the SavedModel's variables are missing",
            )
        if self.kind == "directory":
            from graphtui.core.checkpoint import state_file_path, why_no_latest
            from graphtui.formats.state_file import read_state

            state = state_file_path(self.path)
            if storage.isfile(state):
                read_state(state)  # a malformed state file: its own error, naming it
            raise NoCheckpointError(f"{self.path}: {why_no_latest(self.path)}")
        index = self.path if self.path.endswith(".index") else self.path + ".index"
        if (
            self.path
            and not storage.is_url(index)
            and os.path.lexists(index)
            and not os.path.isfile(index)
        ):
            what = (
                "a directory" if os.path.isdir(index) else "not a regular file (a pipe or device)"
            )
            raise FormatError(index, f"is {what}, not a checkpoint index")
        raise MissingFileError(self.path, _NO_CHECKPOINT)


def find_saved_model_file(directory: str | os.PathLike[str]) -> str | None:
    """``saved_model.pb`` (preferred, as in TensorFlow) or ``saved_model.pbtxt``, else None."""
    for name in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT):
        path = storage.join(os.fspath(directory), name)
        if storage.isfile(path):
            return path
    return None


def variables_prefix(directory: str | os.PathLike[str]) -> str:
    """The checkpoint prefix of a SavedModel's variables: ``DIR/variables/variables``."""
    return storage.join(os.fspath(directory), VARIABLES_DIR, VARIABLES_NAME)


def saved_model_of(raw: str) -> tuple[str, str] | None:
    """``(directory, file)`` when ``raw`` is a SavedModel directory or its saved_model file."""
    if storage.isdir(raw):
        found = find_saved_model_file(raw)
        return None if found is None else (raw, found)
    if storage.isfile(raw) and storage.basename(raw) in (SAVED_MODEL_PB, SAVED_MODEL_PBTXT):
        return storage.dirname(raw) or ".", raw
    return None


def looks_like_graph_file(path: str) -> bool:
    """A graph file by name: ``*.meta`` or a text export (``*.meta.txt``, ``*.pbtxt``)."""
    return path.endswith(_GRAPH_SUFFIXES)


def strip_suffix(path: str) -> str:
    """The checkpoint prefix of ``PREFIX.index`` / ``PREFIX.meta`` / ``PREFIX.data-N-of-M``."""
    for suffix in _SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    marker = path.rfind(".data-")
    if marker > 0 and "-of-" in path[marker:]:
        return path[:marker]
    return path


def checkpoint_at(raw: str) -> tuple[CheckpointFormat, str] | None:
    """The checkpoint a file path or prefix names (not a directory), else None."""
    prefix = strip_suffix(raw)
    if storage.isfile(prefix + ".index"):
        return "V2", prefix
    from graphtui.formats.v1_shards import v1_files

    if not raw.endswith(_SUFFIXES) and v1_files(raw):  # a .meta alone is no V1 checkpoint
        return "V1", raw
    if prefix != raw and v1_files(prefix):
        return "V1", prefix
    return None


def newest_meta(directory: str) -> str | None:
    """The last ``*.meta`` in ``directory`` in natural order (``model-100`` after ``model-20``)."""
    found = storage.glob_in(directory, "*.meta")
    return max(found, key=natural_key) if found else None


def _graph_by_content(raw: str) -> bool:
    """An existing file that is no checkpoint by its bytes (no table footer, no ``.index`` of
    its prefix) and reads as a graph: text, binary starting with a MetaGraphDef's first field,
    or named ``*.pb``; TF's read_meta_graph_file also tells text from binary by the content,
    not the name."""
    if raw.endswith(_SUFFIXES) or not os.path.isfile(raw):
        return False
    if os.path.isfile(strip_suffix(raw) + ".index"):
        return False
    from graphtui.formats.metagraph_io import looks_like_text
    from graphtui.formats.sstable import TABLE_MAGIC

    try:
        with open(raw, "rb") as fh:
            head = fh.read(4096)
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - 8))
            tail = fh.read(8)
    except OSError:
        return False
    if len(tail) == 8 and int.from_bytes(tail, "little") == TABLE_MAGIC:
        return False
    # binary: a MetaGraphDef's first field is meta_info_def (tag 0x0a) or graph_def (0x12), as
    # TF's export writes it (import_meta_graph("metafile") reads any name); a V1 table starts
    # with 0x00 (its first key shares nothing)
    return (
        raw.endswith(".pb")
        or head[:1] in (b"\x0a", b"\x12")
        or (bool(head) and looks_like_text(head))
    )


def _beside(prefix: str | None) -> str | None:
    return prefix + ".meta" if prefix is not None and storage.isfile(prefix + ".meta") else None


def what_is_here(directory: str) -> str:
    """For a directory without a state file: the checkpoints and SavedModels it does hold, and
    the path to give instead (TF's message stops at "couldn't find"; a user who typed the
    directory of a lone ``model.ckpt`` or an export's parent wants the next step)."""
    from graphtui.core.history import scan_history

    def checkpoints_in(where: str) -> set[str]:
        try:  # found as the history finds them: V2, V1 files and shards, by their footers
            return {storage.basename(r.prefix) for r in scan_history(where).records}
        except GraphtuiError:
            return set()

    found = checkpoints_in(directory)
    prefixes = sorted(found, key=natural_key)
    saved: list[str] = []
    if not storage.is_url(directory):
        try:
            with os.scandir(directory) as it:
                subdirs = [e.name for e in it if e.is_dir()]
        except OSError:
            subdirs = []
        beside = bool(found)  # checkpoints here: no need to look below
        for sub in sorted(subdirs, key=natural_key)[:_HINT_SUBDIRS]:
            here = os.path.join(directory, sub)
            if find_saved_model_file(here) is not None:
                saved.append(sub)
            elif not beside:  # one level down: a SavedModel's variables/, a run's train/
                found.update(f"{sub}/{name}" for name in checkpoints_in(here))
        prefixes = sorted(found, key=natural_key)
    if prefixes:
        shown = ", ".join(repr(p) for p in prefixes[:3]) + (", ..." if len(prefixes) > 3 else "")
        what = "checkpoint" if len(prefixes) == 1 else f"{len(prefixes)} checkpoints"
        example = storage.join(directory, prefixes[-1])
        which = "its prefix" if len(prefixes) == 1 else "one's prefix, e.g."
        return f"; it holds the {what} {shown}: give {which} {example}"
    if saved:
        shown = ", ".join(repr(s + "/") for s in saved[:3]) + (", ..." if len(saved) > 3 else "")
        what = "a SavedModel in" if len(saved) == 1 else f"{len(saved)} SavedModels in"
        return f"; it holds {what} {shown}: give {storage.join(directory, saved[-1])}"
    return ""


def locate(path: str | os.PathLike[str]) -> Located:
    """Decide what ``path`` names (see the module docstring). Never raises: a path that names
    nothing is a ``checkpoint`` without a prefix (:attr:`Located.found` is False), and
    :meth:`Located.checkpoint` raises the error a reader gives."""
    raw = os.fspath(path)
    saved = saved_model_of(raw)
    if saved is not None:
        directory, file = saved
        prefix = variables_prefix(directory)
        fmt: CheckpointFormat | None = None
        if storage.isfile(prefix + ".index"):
            fmt = "V2"
        else:
            from graphtui.formats.v1_shards import v1_files

            if v1_files(prefix):  # a TF 0.12-era SavedModel: its variables are a V1 checkpoint
                fmt = "V1"
        return Located(
            raw,
            "saved_model",
            storage.abspath(directory),
            prefix=prefix if fmt is not None else None,
            format=fmt,
            saved_model_dir=directory,
            saved_model_file=file,
        )
    if storage.isdir(raw):
        from graphtui.core.checkpoint import latest_checkpoint

        problem: GraphtuiError | None = None
        latest: str | None = None
        try:
            latest = latest_checkpoint(raw)
        except GraphtuiError as exc:  # a malformed state file: the directory still opens
            problem = exc
        found = checkpoint_at(latest) if latest is not None else None
        if latest is not None and found is None:  # the state file names no checkpoint we read
            problem = MissingFileError(latest, _NO_CHECKPOINT)
        latest_prefix = found[1] if found is not None else None
        return Located(
            raw,
            "directory",
            storage.abspath(raw),
            prefix=latest_prefix,
            format=found[0] if found is not None else None,
            meta=_beside(latest_prefix) or newest_meta(raw),
            problem=problem,
        )
    if storage.isfile(raw) and looks_like_graph_file(raw):
        found = checkpoint_at(raw[: -len(".meta")]) if raw.endswith(".meta") else None
        return Located(
            raw,
            "meta",
            storage.dirname(storage.abspath(raw)),
            prefix=found[1] if found is not None else None,
            format=found[0] if found is not None else None,
            meta=raw,
        )
    if _graph_by_content(raw):  # a meta graph not named *.meta (metrics_export_meta_graph.pb)
        return Located(raw, "meta", os.path.dirname(os.path.abspath(raw)), meta=raw)
    found = checkpoint_at(raw)
    if found is None:  # names nothing: Located.checkpoint() says so, in TensorFlow's terms
        return Located(raw, "checkpoint", storage.dirname(storage.abspath(raw)))
    fmt, prefix = found
    return Located(
        raw,
        "checkpoint",
        storage.dirname(storage.abspath(prefix)),
        prefix=prefix,
        format=fmt,
        meta=_beside(prefix),
    )
