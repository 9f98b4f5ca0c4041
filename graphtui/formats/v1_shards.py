"""Which files a V1 checkpoint is made of, found by name alone.

Apart from :mod:`graphtui.formats.v1` (which imports numpy) so that finding what a path names
(``core/locate.py``: every command and the app start there) costs no numpy import.
"""

from __future__ import annotations

import glob
import re

from graphtui.formats import storage

SHARD_RE = re.compile(r"-(\d{5})-of-(\d{5})$")
_GLOB_CHARS = re.compile(r"[*?\[]")
SHARD_GLOB = "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"


def v1_files(path: str) -> list[str]:
    """The files of a V1 checkpoint named ``path``, as TensorFlow finds them: the file itself;
    else, when the name is a pattern (``Saver.save`` returns ``PREFIX-?????-of-00002`` for a
    sharded V1 checkpoint and writes it in the state file), the regular files matching it; else
    the ``PREFIX-NNNNN-of-NNNNN`` shards of a prefix."""
    if storage.isfile(path):
        return [path]
    head, tail = storage.dirname(path), storage.basename(path)
    if _GLOB_CHARS.search(tail):
        return sorted(p for p in storage.glob_in(head, tail) if storage.isfile(p))
    return sorted(storage.glob_in(head, glob.escape(tail) + SHARD_GLOB))


def missing_shards(files: list[str]) -> list[int]:
    """Shard numbers absent from a set of ``-NNNNN-of-NNNNN`` files (none for a single file)."""
    totals = {int(m.group(2)) for m in (SHARD_RE.search(f) for f in files) if m}
    if len(totals) != 1 or len(files) != sum(1 for f in files if SHARD_RE.search(f)):
        return []
    (total,) = totals
    have = {int(m.group(1)) for m in (SHARD_RE.search(f) for f in files) if m}
    return [i for i in range(total) if i not in have]
