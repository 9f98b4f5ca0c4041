"""Where each node of a binary MetaGraphDef is, found without decoding the nodes.

Decoding a 1,000,000-node graph into messages takes seconds and gigabytes, while listing its
scopes needs only each node's name and op. This scanner walks the wire format instead and
returns a :class:`NodeTable`: each NodeDef's byte range, name and op, and the MetaGraphDef with
its nodes left out (the *shell*, small, decoded normally by the caller).

Two engines give the same table. Where a C compiler was found at install time, one C pass
(``_wirescan.c``) walks every field of the message, of its GraphDef and of each node, the GIL
released. Otherwise numpy: the MetaGraphDef's own fields and the GraphDef's non-node fields in
Python (a handful), and the GraphDef's ``node`` records all at once (candidates are the bytes
where a record ``0a <length> 0a <name>`` can start; a candidate counts only as part of the
chain of records that starts at the first node, each starting where the one before ended).
Names and ops are read from the fields that open each node (TensorFlow and every protobuf
serializer write fields in number order: ``name`` = 1, ``op`` = 2), after a check of every
later field of the node; a node that opens otherwise, or holds a second ``name`` or ``op``
later on (legal protobuf: the last one wins), is walked field by field in Python.

Anything unexpected in the framing (a record running past its parent, a group, a varint cut
off or longer than 10 bytes, field number 0, a name that is not UTF-8) makes both give up
(None): the caller decodes the whole message, which reports the fault where protobuf finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from graphtui.formats.node_bytes import NodeBytes
from graphtui.formats.varint import VarintError, decode_varint, decode_varints_at, encode_varint

try:  # the C pass (optional: built where a compiler is; the numpy scanner gives the same table)
    from graphtui.formats import _wirescan  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - a machine without a compiler
    _wirescan = None
if getattr(_wirescan, "VERSION", None) != 2:  # a stale build of an older source: not used
    _wirescan = None

__all__ = [
    "ENGINES",
    "Engine",
    "NodeTable",
    "Unscannable",
    "c_pass",
    "scan_meta_graph",
    "skip_field",
]

Engine = Literal["c", "numpy"]
ENGINES: tuple[Engine, ...] = ("c", "numpy") if _wirescan is not None else ("numpy",)

_NODE_TAG = 0x0A  # GraphDef.node = 1, length-delimited (NodeDef.name = 1 has the same tag)
_OP_TAG = 0x12  # NodeDef.op = 2, length-delimited
_GRAPH_DEF = 2  # MetaGraphDef.graph_def
_CHUNK = 8 << 20  # bytes looked at per numpy pass when finding candidates
_ROUNDS = 32  # fields of every node checked at once; a node with more is walked in Python
# tags a node's later fields may have for the numpy check: one byte, length-delimited, not
# field 0 (invalid), name or op
_NOT_PLAIN = np.array(
    [(t & 0x87) != 2 or t in (2, _NODE_TAG, _OP_TAG) for t in range(256)], dtype=bool
)
_CHAIN_MIN = 4096  # bytes left in a node for its walk to try skipping a run with numpy
_OPS_CHUNK = 1 << 16  # op ranges turned into Python ints at once by NodeTable.ops


class Unscannable(Exception):
    """The bytes are not what the scanner reads; decode the whole message instead (also
    raised by :func:`skip_field` for node_inputs' walk)."""


@dataclass(frozen=True)
class NodeTable:
    """The nodes of a MetaGraphDef as byte ranges into ``data`` (int64 arrays, graph order).

    ``source`` holds the bytes: in memory (``data``) until :meth:`release`, then read back
    from the file one range at a time (:meth:`node_bytes`, :meth:`op`, :meth:`read`).

    The *shell* is the MetaGraphDef's bytes without its nodes: ``shell_head`` (its fields up
    to the last ``graph_def``, rebuilt without nodes) followed by ``data[shell_tail:]`` (every
    field after it, left in place: a big graph's collections are tens of MB). ``runs`` are the
    byte ranges of ``data`` holding the GraphDef's node fields (tags included), in order:
    decoding the shell and merging the runs into its ``graph_def`` gives exactly the whole
    message.
    """

    source: NodeBytes
    starts: np.ndarray
    ends: np.ndarray
    op_starts: np.ndarray
    op_ends: np.ndarray
    shell_head: bytes
    shell_tail: int
    runs: list[tuple[int, int]]
    names: list[str]  # every node's name, decoded by the scan (proto3: must be UTF-8)

    @property
    def data(self) -> bytes:
        """The whole file's bytes, for scanners of every node (after :meth:`release`, a copy
        read back from the file: build what needs them before)."""
        return self.source.data

    @property
    def released(self) -> bool:
        return not self.source.in_memory

    def release(self) -> bool:
        """Let go of the in-memory bytes where the file can be read back (see NodeBytes)."""
        return self.source.release()

    def close(self) -> None:
        """Close the file kept to read released bytes back (see NodeBytes.close)."""
        self.source.close()

    def read(self, start: int, end: int) -> bytes:
        """The bytes in [start, end) of the file, from memory or read back."""
        return self.source.read(start, end)

    @property
    def shell(self) -> bytes:
        """The shell as one bytes object (a copy; decoders merge :meth:`shell_parts`)."""
        return b"".join(self.shell_parts())

    def shell_parts(self) -> tuple[bytes, memoryview]:
        """The shell in two parts, the second a view of ``data``: decoding the first and
        merging the second into it decodes the shell (protobuf merges concatenated fields)."""
        return self.shell_head, memoryview(self.data)[self.shell_tail :]

    def __len__(self) -> int:
        return len(self.starts)

    def ops(self) -> list[str]:
        """Every node's op (one string object per distinct op). The ranges are made Python
        ints a chunk at a time: all at once, 1,000,000 nodes' cost ~70 MB more at the peak."""
        data = self.data
        seen: dict[bytes, str] = {}
        out = []
        for c in range(0, len(self.op_starts), _OPS_CHUNK):
            starts = self.op_starts[c : c + _OPS_CHUNK].tolist()
            for a, b in zip(starts, self.op_ends[c : c + _OPS_CHUNK].tolist(), strict=True):
                raw = data[a:b]
                text = seen.get(raw)
                if text is None:
                    text = seen[raw] = str(raw, "utf-8")
                out.append(text)
        return out

    def op(self, i: int) -> str:
        """The op of the node at position ``i``."""
        return str(self.source.read(int(self.op_starts[i]), int(self.op_ends[i])), "utf-8")

    def node_bytes(self, i: int) -> bytes:
        """The serialized NodeDef at position ``i``."""
        return bytes(self.source.read(int(self.starts[i]), int(self.ends[i])))


def _strings(data: bytes, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    return [str(data[a:b], "utf-8") for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def scan_meta_graph(data: bytes | NodeBytes, engine: Engine | None = None) -> NodeTable | None:
    """The node table of a binary MetaGraphDef, or None when the bytes are not one the scanner
    reads (text format, damaged, or framed unusually): decode the whole message then.

    ``engine``: the C pass (the default where it is built: ``ENGINES[0]``) or the numpy
    scanner; both give the same table (tests/unit/test_node_scan.py checks it). ``data``
    given as :class:`NodeBytes` (a file kept open) lets the table release its bytes."""
    source = data if isinstance(data, NodeBytes) else NodeBytes(data)
    if not source.size:
        return None
    if (engine or ENGINES[0]) == "c":
        return _scan_in_c(source)
    try:
        return _Scan(source).table()
    except (Unscannable, VarintError, UnicodeDecodeError):
        return None


def c_pass() -> Any | None:
    """The C module (``_wirescan``) when it is the engine in use, else None: scanners of the
    same tables (formats/node_inputs.py) take the same engine as the scan."""
    return _wirescan if ENGINES[0] == "c" else None


def _scan_in_c(source: NodeBytes) -> NodeTable | None:
    if _wirescan is None:
        raise ValueError("the C node scanner is not built here")
    found = _wirescan.scan(source.data)
    if found is None:
        return None
    starts, ends, _, _, op_starts, op_ends = (np.frombuffer(b, np.int64) for b in found[:6])
    head, tail, runs, names = found[6:]
    return NodeTable(source, starts, ends, op_starts, op_ends, head, tail, runs, names)


class _Scan:
    def __init__(self, source: NodeBytes) -> None:
        self.source = source
        data = self.data = source.data
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self.starts: list[np.ndarray] = []
        self.ends: list[np.ndarray] = []
        self.runs: list[tuple[int, int]] = []
        self._cand: _Candidates | None = None

    def table(self) -> NodeTable:
        data = self.data
        head: list[bytes | memoryview] = []  # the shell's fields up to the last graph_def
        view = memoryview(data)
        pos, end, tail = 0, len(data), 0
        while pos < end:
            start = pos
            tag, pos = decode_varint(data, pos, end)
            pos, payload = skip_field(data, tag, pos, end)
            if tag == (_GRAPH_DEF << 3 | 2):
                head.append(view[tail:start])
                rest = self._graph_def(payload, pos)
                head.append(encode_varint(tag) + encode_varint(len(rest)) + rest)
                tail = pos
        starts = np.concatenate(self.starts) if self.starts else np.zeros(0, np.int64)
        ends = np.concatenate(self.ends) if self.ends else np.zeros(0, np.int64)
        name_starts, name_ends, op_starts, op_ends = _name_and_op(self.buf, data, starts, ends)
        names = _strings(data, name_starts, name_ends)
        shell_head = b"".join(head)
        return NodeTable(
            self.source, starts, ends, op_starts, op_ends, shell_head, tail, self.runs, names
        )

    def _graph_def(self, pos: int, end: int) -> bytes:
        """Collect the node records of the GraphDef in data[pos:end]; return its other fields."""
        data, rest = self.data, []
        while pos < end:
            start = pos
            if data[pos] == _NODE_TAG:
                pos = self._node_run(pos, end)
                if self.runs and self.runs[-1][1] == start:
                    self.runs[-1] = (self.runs[-1][0], pos)
                else:
                    self.runs.append((start, pos))
                continue
            tag, pos = decode_varint(data, pos, end)
            pos, payload = skip_field(data, tag, pos, end)
            if tag == _NODE_TAG:  # the node tag written in more bytes than needed
                self.starts.append(np.array([payload], np.int64))
                self.ends.append(np.array([pos], np.int64))
                if self.runs and self.runs[-1][1] == start:
                    self.runs[-1] = (self.runs[-1][0], pos)
                else:
                    self.runs.append((start, pos))
            else:
                rest.append(bytes(data[start:pos]))
        return b"".join(rest)

    def _node_run(self, pos: int, end: int) -> int:
        """Take the chain of node records starting at ``pos``; return where it ends."""
        if self._cand is None:
            self._cand = _Candidates(self.buf, pos, end)
        cand = self._cand
        i = int(np.searchsorted(cand.pos, pos))
        if i < len(cand.pos) and cand.pos[i] == pos:
            k = cand.run_end(i)
            self.starts.append(cand.inner[i : k + 1])
            self.ends.append(cand.next[i : k + 1])
            return int(cand.next[k])
        length, inner = decode_varint(self.data, pos + 1, end)
        if inner + length > end:
            raise Unscannable
        self.starts.append(np.array([inner], np.int64))
        self.ends.append(np.array([inner + length], np.int64))
        return inner + length


class _Candidates:
    """Positions in [start, end) where a node record that opens with its name can start, with
    where its payload starts (``inner``) and where the record ends (``next``)."""

    def __init__(self, buf: np.ndarray, start: int, end: int) -> None:
        found = []
        for a in range(start, end, _CHUNK):
            n = min(_CHUNK, end - a)
            seg = buf[a : min(a + n + 4, end)]
            if len(seg) < n + 4:
                seg = np.concatenate([seg, np.zeros(n + 4 - len(seg), np.uint8)])
            tag = seg == _NODE_TAG
            at = np.flatnonzero(tag[:n])
            # 0a L 0a | 0a L L 0a | 0a L L L 0a: a 1-, 2- or 3-byte length, then the name tag
            # (the length's size from its continuation bits; 3 bytes covers nodes < 2 MiB)
            wide = seg[at + 1] >= 0x80
            size = 1 + wide + (wide & (seg[at + 2] >= 0x80))
            found.append(at[tag[at + 1 + size]] + a)
        pos = np.concatenate(found) if found else np.zeros(0, np.int64)
        lengths = decode_varints_at(buf, pos + 1, end, max_bytes=3)
        inner = lengths.next
        nxt = inner + lengths.value
        keep = lengths.ok & (nxt <= end) & (inner < end)
        keep[keep] &= buf[inner[keep]] == _NODE_TAG
        self.pos = pos[keep]
        self.inner = inner[keep]
        self.next = nxt[keep]
        # where the chain breaks: record i does not end where candidate i + 1 starts
        self._breaks = np.flatnonzero(self.pos[1:] != self.next[:-1])

    def run_end(self, i: int) -> int:
        """The last candidate of the unbroken chain that starts at candidate ``i``."""
        j = int(np.searchsorted(self._breaks, i))
        return int(self._breaks[j]) if j < len(self._breaks) else len(self.pos) - 1


def skip_field(data: bytes, tag: int, pos: int, end: int) -> tuple[int, int]:
    """Skip the value of a field whose tag was read; return (end of field, payload start).
    Unscannable for field number 0, a group, or a field running past ``end``."""
    number, wire = tag >> 3, tag & 7
    if number == 0:
        raise Unscannable
    if wire == 0:
        _, pos = decode_varint(data, pos, end)
        return pos, pos
    if wire == 2:
        length, payload = decode_varint(data, pos, end)
        pos = payload + length
    elif wire in (1, 5):
        payload = pos
        pos += 8 if wire == 1 else 4
    else:  # groups: legal, rare; the full decoder handles them
        raise Unscannable
    if pos > end:
        raise Unscannable
    return pos, payload


def _name_and_op(
    buf: np.ndarray, data: bytes, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Byte ranges of each node's name and op (protobuf's: the last occurrence wins).

    Numpy, all nodes at once, where a node opens with its name and op and every later field
    is plainly framed and neither a name nor an op; other nodes are walked in Python."""
    n = len(starts)
    # at most 9 bytes (63 bits): every length is exact; longer ones are walked in Python
    name = decode_varints_at(buf, starts + 1, ends, max_bytes=9)
    fast = (buf[np.minimum(starts, len(buf) - 1)] == _NODE_TAG) & name.ok
    fast &= name.value < ends - name.next  # compared so, a length near 2**63 cannot wrap
    name_end = np.where(fast, name.next + name.value, ends)
    fast[fast] &= buf[name_end[fast]] == _OP_TAG
    op = decode_varints_at(buf, np.minimum(name_end + 1, ends), ends, max_bytes=9)
    fast &= op.ok & (op.value <= ends - op.next)
    op_end = np.where(fast, op.next + op.value, ends)
    fast[fast] = _plain_tails(buf, op_end[fast], ends[fast])
    out = (name.next.copy(), name_end, op.next.copy(), op_end)
    for i in np.flatnonzero(~fast).tolist() if n else []:
        ranges = _walk_node(buf, data, int(starts[i]), int(ends[i]))
        for array, value in zip(out, ranges, strict=True):
            array[i] = value
    return out


def _plain_tails(buf: np.ndarray, pos: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each node, whether its fields in [pos, end) are all length-delimited with a
    one-byte tag and a one- or two-byte length, fit the node exactly, and hold no name or op
    (so the ones that open the node stand). Numpy, one field of every node per round."""
    plain = np.ones(len(pos), dtype=bool)
    idx = np.flatnonzero(pos < ends)
    p, e = pos[idx], ends[idx]
    for _ in range(_ROUNDS):
        if not len(idx):
            break
        b1 = np.take(buf, p + 1, mode="clip")
        bad = _NOT_PLAIN[buf[p]]
        nxt = p + 2 + b1
        two = np.flatnonzero(b1 >= 0x80)
        if len(two):  # a two-byte length (a field of 128 bytes to 16 KiB)
            b2 = np.take(buf, p[two] + 2, mode="clip").astype(np.int64)
            bad[two] |= b2 >= 0x80
            nxt[two] = p[two] + 3 + (b1[two] & 0x7F) + (b2 << 7)
        bad |= nxt > e
        if bad.any():
            plain[idx[bad]] = False
        more = ~bad & (nxt < e)
        idx, p, e = idx[more], nxt[more], e[more]
    plain[idx] = False  # many fields (a save op's inputs): walked in Python
    return plain


def _walk_node(buf: np.ndarray, data: bytes, pos: int, end: int) -> tuple[int, int, int, int]:
    """Name and op ranges of one NodeDef by walking all its fields (the last one wins); a run
    of one repeated field (a save op's thousands of inputs) is skipped with numpy."""
    name = op = (pos, pos)
    fields = 0
    while pos < end:
        fields += 1
        if fields % _ROUNDS == 0 and end - pos > _CHAIN_MIN and data[pos] < 0x80:
            pos, last = _chain(buf, data, pos, end, data[pos])
            if last is not None:
                if data[last[0]] == _NODE_TAG:
                    name = last[1]
                elif data[last[0]] == _OP_TAG:
                    op = last[1]
            continue
        tag, pos = decode_varint(data, pos, end)
        pos, payload = skip_field(data, tag, pos, end)
        if tag == _NODE_TAG:
            name = (payload, pos)
        elif tag == _OP_TAG:
            op = (payload, pos)
    return (*name, *op)


def _chain(
    buf: np.ndarray, data: bytes, pos: int, end: int, tag: int
) -> tuple[int, tuple[int, tuple[int, int]] | None]:
    """Skip the unbroken run of length-delimited ``tag`` fields at ``pos`` (at least one when
    it is one); return where it ends and (start, payload range) of its last field."""
    if tag & 7 != 2 or tag < 8:  # not length-delimited, or field 0 (walked: gives up)
        return pos, None
    at = pos + np.flatnonzero(buf[pos:end] == tag)
    lengths = decode_varints_at(buf, at + 1, end, max_bytes=9)
    keep = lengths.ok & (lengths.value <= end - lengths.next)
    nxt = lengths.next + np.where(keep, lengths.value, 0)
    at, inner, nxt = at[keep], lengths.next[keep], nxt[keep]
    if not len(at) or at[0] != pos:
        length, payload = decode_varint(data, pos + 1, end)
        if payload + length > end:
            raise Unscannable
        return payload + length, (pos, (payload, payload + length))
    breaks = np.flatnonzero(at[1:] != nxt[:-1])
    k = int(breaks[0]) if len(breaks) else len(at) - 1
    return int(nxt[k]), (int(at[k]), (int(inner[k]), int(nxt[k])))
