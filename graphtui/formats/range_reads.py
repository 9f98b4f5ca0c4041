"""Many byte ranges of a :class:`NodeBytes` read at once: slices of the bytes in memory, or,
once they were let go, a few big reads of the file instead of one per range.

Reading one node back costs a ``pread`` plus the checks that the file is still the one scanned
(an ``fstat`` and 16 sampled ``pread`` s, before and after): 166,000 variable nodes of a
1,000,000-node graph read one by one made 2.8 million system calls (~5 s). Ranges close to one
another are read as one piece (checked once) and cut up in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from graphtui.formats.node_bytes import NodeBytes, pace

__all__ = ["read_ranges"]

PIECE = 4 << 20  # bytes read back at once (at most; a longer range is read alone)
GAP = 256 << 10  # ranges further apart than this start a new piece (the gap is not read)


def read_ranges(
    source: NodeBytes, starts: np.ndarray, ends: np.ndarray
) -> Iterator[tuple[int, memoryview]]:
    """(k, bytes of ``[starts[k], ends[k])``) for every k, in ascending order of start (ranges
    must not overlap). Views of the bytes in memory, or of pieces read back from the file
    (its FormatError when it changed on disk, as :meth:`NodeBytes.read`)."""
    order = np.argsort(starts, kind="stable")
    if source.in_memory:
        view = memoryview(source.data)
        for k in order.tolist():
            pace()  # as NodeBytes.read does for each node read (a warm-up giving way)
            yield k, view[int(starts[k]) : int(ends[k])]
        return
    ks = order.tolist()
    s_list = starts[order].tolist()
    e_list = ends[order].tolist()
    i, n = 0, len(ks)
    while i < n:
        lo, hi = s_list[i], e_list[i]
        j = i + 1
        while j < n and s_list[j] - hi <= GAP and e_list[j] - lo <= PIECE:
            hi = max(hi, e_list[j])
            j += 1
        piece = memoryview(source.read(lo, hi))
        for m in range(i, j):
            pace()
            yield ks[m], piece[s_list[m] - lo : e_list[m] - lo]
        i = j
