"""Where every node's ``input`` strings are, found without decoding the nodes.

A graph's consumer index needs each node's inputs, and decoding a 1,000,000-node graph into
messages to read them takes seconds and gigabytes. This walks the fields of every NodeDef of a
:class:`~graphtui.formats.node_scan.NodeTable` with numpy, one field of every node per round
(any field, in any order: ``input`` = 3 is repeated and may be interleaved with the others,
protobuf appends them in the order met), and keeps the byte ranges of the ``input`` payloads.
Once few nodes still have fields left (a save op's thousands of inputs), they are walked on in
Python, a run of consecutive inputs at a time with numpy.

The contract (a faster path may stand behind :func:`input_ranges` as long as it keeps it):
``InputRanges`` holds three parallel arrays, one entry per input of the graph, ordered by node
and, within a node, in the order protobuf gives its ``input`` list; ``start``/``end`` are
offsets into ``table.data`` of the string's bytes (tag and length excluded; not checked to be
UTF-8). None when a node's framing is not read (a group, field number 0, a varint cut off, a
field running past its node): the caller decodes the message, which says where the fault is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphtui.formats.node_scan import NodeTable, Unscannable, c_pass, skip_field
from graphtui.formats.varint import VarintError, decode_varint, decode_varints_at

__all__ = ["InputRanges", "input_ranges"]

_INPUT_TAG = 0x1A  # NodeDef.input = 3, length-delimited
_MIN_ACTIVE = 256  # fewer nodes than this with fields left: walk them on in Python
_RUN_MIN = 64  # inputs left in a node's bytes worth a numpy pass over the run


@dataclass(frozen=True)
class InputRanges:
    """The byte ranges of every node's ``input`` strings (see the module's contract).

    ``node`` is int32 (positions in the table, ascending); ``start`` and ``end`` int64."""

    node: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.node)


def input_ranges(table: NodeTable) -> InputRanges | None:
    """The byte ranges of the ``input`` fields of every node of ``table``, or None when a
    node's framing is not one this reads (decode the message then)."""
    c = c_pass()
    if c is not None:  # the C pass of node_scan, when it is the engine: same contract
        found = c.inputs(
            table.data,
            np.ascontiguousarray(table.starts, np.int64),
            np.ascontiguousarray(table.ends, np.int64),
        )
        if found is None:
            return None
        node, start, end = (np.frombuffer(b, np.int64) for b in found)
        return InputRanges(node.astype(np.int32), start, end)
    try:
        return _Walk(table).ranges()
    except (Unscannable, VarintError):
        return None


class _Walk:
    def __init__(self, table: NodeTable) -> None:
        self.data = table.data
        self.buf = np.frombuffer(table.data, dtype=np.uint8)
        self.table = table
        self.nodes: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []

    def ranges(self) -> InputRanges:
        table = self.table
        idx = np.arange(len(table), dtype=np.int64)
        pos, end = table.starts.astype(np.int64), table.ends.astype(np.int64)
        more = pos < end
        idx, pos, end = idx[more], pos[more], end[more]
        while len(idx) >= _MIN_ACTIVE:
            idx, pos, end, slow = self._round(idx, pos, end)
            for i, p, e in slow:
                self._walk(i, p, e)
        for i, p, e in zip(idx.tolist(), pos.tolist(), end.tolist(), strict=True):
            self._walk(i, p, e)
        if not self.nodes:
            empty = np.zeros(0, np.int64)
            return InputRanges(np.zeros(0, np.int32), empty, empty.copy())
        nodes = np.concatenate(self.nodes)
        # rounds and walks found each node's inputs in its field order; a stable sort by node
        # keeps that order within each node
        order = np.argsort(nodes, kind="stable")
        return InputRanges(
            nodes[order].astype(np.int32),
            np.concatenate(self.starts)[order],
            np.concatenate(self.ends)[order],
        )

    def _round(
        self, idx: np.ndarray, pos: np.ndarray, end: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
        """One field of every node: keep the inputs, step past the field; nodes whose field
        the arrays do not read (a tag of more than one byte, a group) are returned to walk."""
        buf = self.buf
        tag = buf[pos]
        wire = tag & 7
        after = decode_varints_at(buf, pos + 1, end)
        length_ok = after.ok & (after.value >= 0) & (after.value <= end - after.next)
        nxt = np.where(wire == 1, pos + 9, pos + 5)
        nxt = np.where(wire == 0, after.next, nxt)
        nxt = np.where(wire == 2, after.next + np.where(length_ok, after.value, 0), nxt)
        read = (tag < 0x80) & (tag >= 8) & (nxt <= end)
        read &= np.where(wire == 2, length_ok, (wire == 0) & after.ok | (wire == 1) | (wire == 5))
        hit = read & (tag == _INPUT_TAG)
        if hit.any():
            self.nodes.append(idx[hit])
            self.starts.append(after.next[hit])
            self.ends.append(nxt[hit])
        slow = np.flatnonzero(~read)
        walk = list(zip(idx[slow].tolist(), pos[slow].tolist(), end[slow].tolist(), strict=True))
        more = read & (nxt < end)
        return idx[more], nxt[more], end[more], walk

    def _walk(self, i: int, pos: int, end: int) -> None:
        """The rest of node ``i``'s fields, from ``pos``, in Python; after ``_RUN_MIN``
        inputs in a row, the rest of the run with numpy (a pass costs the node's size)."""
        data = self.data
        found: list[tuple[int, int]] = []
        streak = 0  # input fields in a row just walked
        while pos < end:
            if data[pos] == _INPUT_TAG and streak >= _RUN_MIN and end - pos > 4 * _RUN_MIN:
                pos = self._run(i, pos, end, found)
                streak = 0
                continue
            tag, pos = decode_varint(data, pos, end)
            streak = streak + 1 if tag == _INPUT_TAG else 0
            pos, payload = skip_field(data, tag, pos, end)
            if tag == _INPUT_TAG:
                found.append((payload, pos))
        self._keep(i, found)

    def _run(self, i: int, pos: int, end: int, found: list[tuple[int, int]]) -> int:
        """Take the unbroken run of one-byte-length input fields at ``pos`` (at least the
        first) with numpy; return where it ends."""
        buf = self.buf
        at = pos + np.flatnonzero(buf[pos:end] == _INPUT_TAG)
        lengths = decode_varints_at(buf, at + 1, end)
        nxt = lengths.next + lengths.value
        keep = lengths.ok & (lengths.value >= 0) & (lengths.value <= end - lengths.next)
        at, inner, nxt = at[keep], lengths.next[keep], nxt[keep]
        if not len(at) or at[0] != pos:
            length, payload = decode_varint(self.data, pos + 1, end)
            if length > end - payload:
                raise Unscannable
            found.append((payload, payload + length))
            return payload + length
        breaks = np.flatnonzero(at[1:] != nxt[:-1])
        k = int(breaks[0]) + 1 if len(breaks) else len(at)
        self._keep(i, found)
        found.clear()
        self.nodes.append(np.full(k, i, np.int64))
        self.starts.append(inner[:k])
        self.ends.append(nxt[:k])
        return int(nxt[k - 1])

    def _keep(self, i: int, found: list[tuple[int, int]]) -> None:
        if found:
            pairs = np.array(found, dtype=np.int64)
            self.nodes.append(np.full(len(pairs), i, np.int64))
            self.starts.append(pairs[:, 0])
            self.ends.append(pairs[:, 1])
