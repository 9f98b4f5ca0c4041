"""Edits of a directory's ``checkpoint`` state file: roll back the latest checkpoint, and make
paths relative again after a directory moved. Written atomically, the way TF writes it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from graphtui.core.history import scan_history
from graphtui.errors import CoreError, NotFoundError
from graphtui.formats.atomic import atomic_write
from graphtui.formats.state_file import DEFAULT_NAME, format_state, make_state, read_state
from graphtui.formats.transaction import OnStep


@dataclass
class StateChange:
    state_file: str
    before: str
    after: str
    changes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"state_file": self.state_file, "changes": self.changes, "state": self.after}


def _write(path: str, text: str, on_step: OnStep | None, dry_run: bool = False) -> None:
    if dry_run:
        return
    if on_step is not None:
        on_step(f"write {os.path.basename(path)}")
    atomic_write(path, text.encode())


def _local_only(directory: str, what: str) -> None:
    """State-file edits replace a file in place: a bucket has no atomic rename to do it with."""
    from graphtui.formats.byte_source import is_url

    if is_url(directory):
        raise CoreError(f"{directory}: {what} edits a local state file; it does not work on URLs")


def rollback(
    directory: str, step_or_prefix: str, *, on_step: OnStep | None = None, dry_run: bool = False
) -> StateChange:
    """Make an older (complete) checkpoint the latest. As TF requires, the latest is moved to
    the end of ``all_model_checkpoint_paths`` with its timestamp; nothing is deleted.
    ``dry_run`` computes the new text (``after``) without writing it."""
    _local_only(directory, "rollback")
    history = scan_history(directory)
    record = history.find(step_or_prefix)
    if record is None:
        raise NotFoundError(f"{history.directory}: no checkpoint {step_or_prefix!r} in the history")
    if not record.complete:
        raise CoreError(
            f"{record.prefix}: cannot roll back to it: {record.problem or 'incomplete'}"
        )
    path = os.path.join(history.directory, DEFAULT_NAME)
    paths: list[str] = []
    stamps: list[float] = []
    last_preserved = None
    before = ""
    if os.path.isfile(path):
        with open(path, encoding="utf-8", errors="replace") as fh:
            before = fh.read()
        state = read_state(path)
        paths = list(state.all_model_checkpoint_paths)
        stamps = list(state.all_model_checkpoint_timestamps)
        if state.last_preserved_timestamp:
            last_preserved = float(state.last_preserved_timestamp)
    usable = len(stamps) == len(paths) and bool(paths)
    chosen_raw = record.name
    chosen_stamp = record.timestamp
    kept_paths, kept_stamps = [], []
    for i, raw in enumerate(paths):
        full = raw if os.path.isabs(raw) else os.path.join(history.directory, raw)
        if os.path.normpath(full) == record.prefix:
            chosen_raw = raw
            if usable:
                chosen_stamp = stamps[i]
            continue
        kept_paths.append(raw)
        if usable:
            kept_stamps.append(stamps[i])
    kept_paths.append(chosen_raw)
    if usable and chosen_stamp is not None:
        kept_stamps.append(chosen_stamp)
    new = make_state(chosen_raw, kept_paths, kept_stamps if usable else None, last_preserved)
    after = format_state(new)
    _write(path, after, on_step, dry_run)
    return StateChange(path, before, after, [f"latest: {chosen_raw}"])


def fix_paths(
    directory: str, *, on_step: OnStep | None = None, dry_run: bool = False
) -> StateChange:
    """Rewrite the state file's paths relative to its directory: absolute paths into the
    directory become relative; absolute paths elsewhere whose checkpoint now sits in the
    directory (it was moved) become that file's name. Other paths are reported, kept."""
    _local_only(directory, "fix-paths")
    directory = os.path.abspath(directory)
    path = os.path.join(directory, DEFAULT_NAME)
    if not os.path.isfile(path):
        raise NotFoundError(f"{directory}: no 'checkpoint' state file to fix")
    with open(path, encoding="utf-8", errors="replace") as fh:
        before = fh.read()
    state = read_state(path)
    changes: list[str] = []

    def fix(raw: str) -> str:
        if not os.path.isabs(raw):
            return raw
        norm = os.path.normpath(raw)
        if os.path.dirname(norm) == directory or _exists(
            os.path.join(directory, os.path.basename(norm))
        ):
            new = os.path.basename(norm)
        else:
            changes.append(f"kept {raw} (not found in {directory})")
            return raw
        changes.append(f"{raw} -> {new}")
        return new

    latest = fix(state.model_checkpoint_path)
    paths = [fix(p) for p in state.all_model_checkpoint_paths]
    changed = [c for c in changes if "->" in c]
    if not changed:
        return StateChange(path, before, before, changes or ["nothing to fix"])
    new = make_state(
        latest,
        paths,
        list(state.all_model_checkpoint_timestamps) or None,
        float(state.last_preserved_timestamp) if state.last_preserved_timestamp else None,
    )
    after = format_state(new)
    _write(path, after, on_step, dry_run)
    return StateChange(path, before, after, changes)


def _exists(prefix: str) -> bool:
    """A V2 index, a V1 file, or the shards a V1 pattern (``PREFIX-?????-of-00002``) names."""
    from graphtui.formats.v1_shards import v1_files

    return os.path.isfile(prefix + ".index") or bool(v1_files(prefix))
