"""The undo journal: what a write changed on disk, and how to take it back.

:func:`journaled` runs a write and notes the files it created, the directories it made and the
state file's text before and after; :func:`undo` deletes those files and puts the state file back
— only when it still holds what the write left there (a later change by someone else, a
trainer's next save, is kept and reported).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from graphtui.core.output import WriteResult, missing_dirs
from graphtui.formats.atomic import atomic_write
from graphtui.formats.state_file import DEFAULT_NAME


@dataclass
class JournalEntry:
    """One finished write, as undo needs it."""

    prefix: str | None = None  # a checkpoint it wrote (None: a state file edit, a single file)
    files: list[str] = field(default_factory=list)  # written files, the state file excluded
    state_file: str | None = None  # a state file the write created or changed
    state_before: str | None = None  # its text before (None: there was none)
    state_after: str | None = None  # its text right after the write
    created_dirs: list[str] = field(default_factory=list)  # outermost first


def read_text(path: str) -> str | None:
    """A small text file's content, None when it does not exist."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def journaled(target: str, write: Callable[[], WriteResult]) -> tuple[JournalEntry, WriteResult]:
    """Run ``write`` (a write to the prefix or file ``target``) and note what undo needs."""
    out = os.path.abspath(target)
    state = os.path.join(os.path.dirname(out), DEFAULT_NAME)
    before = read_text(state)
    dirs = missing_dirs(os.path.dirname(out))
    result = write()
    entry = JournalEntry(
        prefix=result.prefix if os.path.isfile(result.prefix + ".index") else None,
        files=[f for f in result.files if f != result.state_file],
        state_file=result.state_file,
        state_before=before if result.state_file else None,
        state_after=read_text(result.state_file) if result.state_file else None,
        created_dirs=[d for d in dirs if os.path.isdir(d)],
    )
    return entry, result


def state_edit(path: str, before: str | None, after: str | None) -> JournalEntry:
    """A state file edit (roll back, repair paths) as a journal entry."""
    return JournalEntry(state_file=path, state_before=before, state_after=after)


def undo(entry: JournalEntry, *, short: Callable[[str], str] = str) -> list[str]:
    """Delete what ``entry`` wrote and put its state file back; notes on what was left as it is
    (``short`` shortens the paths in them)."""
    notes: list[str] = []
    for path in entry.files:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    _restore_state(entry, notes, short)
    for directory in reversed(entry.created_dirs):
        try:
            os.rmdir(directory)
        except FileNotFoundError:
            pass
        except OSError:
            notes.append(f"{short(directory)} is not empty: kept")
    return notes


def _restore_state(entry: JournalEntry, notes: list[str], short: Callable[[str], str]) -> None:
    path = entry.state_file
    if path is None:
        return
    current = read_text(path)
    if current != entry.state_after:
        if current is not None:
            notes.append(f"{short(path)} changed since: left as it is")
        return
    if entry.state_before is None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    else:
        atomic_write(path, entry.state_before.encode("utf-8", "surrogateescape"))
