"""GraphIndex: name-addressed, lazily indexed view of a MetaGraphDef (or bare GraphDef).

Building the index reads each node's name once into a flat list plus a ``name -> position``
dict; nothing else is computed up front. Op lists, the consumer index, lowered and naturally
sorted names are each built on their first use, so opening a 50,000-node graph and listing its
top scopes stays cheap. Per-node data is read from the NodeDef messages on request. While a
binary graph's nodes are still bytes (``from_file``), whole-graph views read the scan instead of
decoding every node: ops from the node table, consumers and edges from each node's input
ranges (formats/node_inputs.py) as int32 arrays; nodes decoded one by one are kept in a bounded
cache.
"""

from __future__ import annotations

import fnmatch
import heapq
import itertools
import os
import re
import threading
from bisect import bisect_left
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np

from graphtui._proto import pb
from graphtui.core.natural import natural_key, natural_order
from graphtui.errors import FormatError, NotFoundError
from graphtui.formats import dtypes, tensor_proto
from graphtui.formats.node_inputs import input_ranges
from graphtui.formats.node_scan import NodeTable

DEFAULT_ATTR_ELEMENTS = 4096  # tensors attrs with more elements are not decoded by attrs()
_GLOB_CHARS = frozenset("*?[")
_POS_CHUNK = 1 << 16  # names put in the name -> position dict per call
_FLAT_SORT_MIN = 1000  # sort_natural sorts this many or more by natural_order's flat keys
_SORT_HITS_MAX = 5000  # above this many search hits, reuse the graph's natural order
_SCANNED_LOOKUPS = 8  # lookups of a fresh index answered by a scan of its names (see below)
_DECODED_MAX = 4096  # nodes decoded one by one kept for the next ask (the ones on screen)
_INPUT_CHUNK = 1 << 16  # input strings made at once while indexing consumers
_NODES_OF_CHUNK = 1 << 14  # nodes read at once by nodes_of
_RUN_PIECE = 16 << 20  # node bytes read back from the file at once to decode the whole graph
_PORT_MAX = (1 << 31) - 1  # ports above (no tensor TF imports) are clipped in the arrays
_T = TypeVar("_T")


OP_PREFIX = "op:"  # a search for an op type: ``op:Conv2D``


def name_matcher(pattern: str, *, lowered: bool = False) -> Callable[[str], bool]:
    """The one name filter of the app and the graph search: case-insensitive; a substring,
    or a glob over the whole name when ``pattern`` holds ``*``, ``?`` or ``[`` (``*`` crosses
    ``/``). ``lowered``: the names given are already lower case."""
    needle = pattern.lower()
    if _GLOB_CHARS.intersection(needle):
        match = re.compile(fnmatch.translate(needle), re.DOTALL).match
        if lowered:
            return lambda name: match(name) is not None
        return lambda name: match(name.lower()) is not None
    if lowered:
        return lambda name: needle in name
    return lambda name: needle in name.lower()


class InputRef(NamedTuple):
    """One entry of ``NodeDef.input``: ``name:port`` (data) or ``^name`` (control, port -1)."""

    node: str
    port: int
    control: bool

    def __str__(self) -> str:
        if self.control:
            return f"^{self.node}"
        return self.node if self.port == 0 else f"{self.node}:{self.port}"


class EdgeTable(NamedTuple):
    """Every edge between nodes of the graph as parallel int32 arrays of node positions (in
    ``graph_def.node``), sorted by producer; ``port`` is -1 for a control edge. For work over
    the whole graph (aggregating a scope's edges, walks) without a Python object per edge."""

    src: np.ndarray
    dst: np.ndarray
    port: np.ndarray


class _ConsumerIndex(NamedTuple):
    """Every edge as an :class:`EdgeTable` (sorted by producer, then consumer and input
    slot), each edge's input slot, and where each producer's edges start (``offsets[i]`` to
    ``offsets[i + 1]``): a few int arrays instead of a Python object per edge."""

    edges: EdgeTable
    slot: np.ndarray
    offsets: np.ndarray
    wide_ports: dict[int, int]  # edge -> its port, where it is past int32 (clipped in edges)


class ConsumerRef(NamedTuple):
    """A node reading another: ``port`` is the producer's output read (-1 for a control edge),
    ``input_index`` the position of that edge in the consumer's input list."""

    node: str
    port: int
    control: bool
    input_index: int


@dataclass(frozen=True)
class TensorStub:
    """A tensor attr left undecoded: too many elements, or not decodable to numpy."""

    dtype: str
    shape: list[int] | None
    reason: str

    def __str__(self) -> str:
        dims = "?" if self.shape is None else ",".join(str(d) for d in self.shape)
        return f"<{self.dtype}[{dims}]: {self.reason}>"


@dataclass(frozen=True)
class ArgInfo:
    """A function argument: ``type`` is a dtype name, or the attr naming it (``T``, ``N*T``)."""

    name: str
    type: str


@dataclass(frozen=True)
class FunctionInfo:
    """Summary of one FunctionDef of the graph's library."""

    name: str
    inputs: list[ArgInfo]
    outputs: list[ArgInfo]
    node_count: int


def parse_input(text: str) -> InputRef:
    """Parse a NodeDef input: ``x`` / ``x:1`` / ``^x``; function bodies' ``x:out:1`` too."""
    if text.startswith("^"):
        return InputRef(text[1:], -1, True)
    node, sep, rest = text.partition(":")
    if not sep:
        return InputRef(text, 0, False)
    port_text = rest.rpartition(":")[2]
    port = int(port_text) if port_text.isascii() and port_text.isdigit() else 0
    return InputRef(node, port, False)


def tensor_node(tensor_name: str) -> str:
    """The node of a tensor or input name: ``"a/b:0"`` / ``"^a/b"`` -> ``"a/b"``
    (``parse_input(tensor_name).node``, without the InputRef: called per variable)."""
    if tensor_name.startswith("^"):
        return tensor_name[1:]
    return tensor_name.partition(":")[0]


def dtype_name(enum: int) -> str:
    """TF name of a DataType enum value (``tf.as_dtype(enum).name``; reference types get a
    ``_ref`` suffix); a value TF has no type for is named as TF's ``DataTypeString`` words it,
    ``unknown dtype enum (1000)`` (TF refuses to import such a node: "AttrValue has invalid
    DataType enum: 1000")."""
    dt = dtypes.stored(enum)
    return dt.name + "_ref" if dt.known and enum > dtypes.REF_OFFSET else dt.name


def shape_list(shape_proto: Any) -> list[int] | None:
    """A TensorShapeProto as a list (-1 for unknown dims), or None for unknown rank."""
    dims = tensor_proto.shape_of(shape_proto)
    return None if dims is None else list(dims)


def decode_attr(value: Any, max_elements: int = DEFAULT_ATTR_ELEMENTS) -> Any:
    """An AttrValue as a Python value.

    ``s`` -> str (bytes when not UTF-8), ``i``/``f``/``b`` -> int/float/bool, ``type`` -> dtype
    name, ``shape`` -> list or None, ``tensor`` -> numpy array (a :class:`TensorStub` when it
    has more than ``max_elements`` elements or does not decode), ``func`` -> function name,
    ``list`` -> list of the above, ``placeholder`` -> ``"$name"``. An unset value is None.
    """
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "list":
        return _decode_list(value.list, max_elements)
    return _decode_scalar(kind, getattr(value, kind), max_elements)


def _decode_scalar(kind: str, item: Any, max_elements: int) -> Any:
    if kind == "s":
        return _text(item)
    if kind in ("i", "b"):
        return int(item) if kind == "i" else bool(item)
    if kind == "f":
        return float(item)
    if kind == "type":
        return dtype_name(item)
    if kind == "shape":
        return shape_list(item)
    if kind == "tensor":
        return decode_tensor(item, max_elements)
    if kind == "func":
        return str(item.name)
    if kind == "placeholder":
        return f"${item}"
    return item


def _decode_list(lst: Any, max_elements: int) -> list[Any]:
    for kind in ("s", "i", "f", "b", "type", "shape", "tensor", "func"):
        items = getattr(lst, kind)
        if len(items):
            return [_decode_scalar(kind, x, max_elements) for x in items]
    return []


def _text(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(raw)


def decode_tensor(proto: Any, max_elements: int = DEFAULT_ATTR_ELEMENTS) -> np.ndarray | TensorStub:
    """A TensorProto as numpy, or a :class:`TensorStub` when too big or not decodable."""
    shape = shape_list(proto.tensor_shape)
    name = dtype_name(proto.dtype)
    count = 1
    for d in shape or ():
        count *= max(d, 0)
    if count > max_elements:
        return TensorStub(name, shape, f"{count} elements, not decoded")
    try:
        return tensor_proto.to_numpy(proto, max_elements=max_elements)
    except (tensor_proto.TensorProtoError, ValueError) as exc:
        return TensorStub(name, shape, str(exc))


def _is_meta_graph(message: Any) -> bool:
    return bool(message.DESCRIPTOR.full_name == "tensorflow.MetaGraphDef")


class GraphIndex:
    """Fast lookups by node name over a MetaGraphDef's (or GraphDef's) nodes.

    Unknown names raise :class:`~graphtui.errors.NotFoundError`. Duplicate node names (invalid in
    TensorFlow) resolve to the first node; they are listed in :attr:`duplicates`.
    """

    def __init__(
        self,
        graph: Any,
        *,
        path: str | os.PathLike[str] | None = None,
        nodes: NodeTable | None = None,
        owner: GraphIndex | None = None,
    ) -> None:
        self.path = os.fspath(path) if path is not None else None
        # a function body's graph: the graph whose library holds it (its op list and
        # functions describe the body's ops, as TF's registry and library do)
        self.owner = owner
        self._from_meta = _is_meta_graph(graph)
        if self._from_meta:
            self._meta: Any | None = graph
            self._graph_def = graph.graph_def
        elif graph.DESCRIPTOR.full_name == "tensorflow.GraphDef":
            self._meta = None
            self._graph_def = graph
        else:
            raise TypeError(f"expected a MetaGraphDef or GraphDef, got {graph.DESCRIPTOR.full_name}")
        # ``nodes``: the graph's nodes are still bytes (see ``from_file``); each is decoded when
        # first asked for, all of them when the whole message is.
        self._table = nodes
        self._decode_lock = threading.Lock()
        # nodes decoded one at a time, the last _DECODED_MAX of them (least recently asked
        # first out): what the panes show, not every node a walk over the graph touched
        self._decoded: OrderedDict[int, Any] = OrderedDict()
        self._decoded_lock = threading.Lock()
        self._ops: list[str] | None = None
        self._index_names(nodes.names if nodes is not None else [n.name for n in self._nodes])
        self._consumers: _ConsumerIndex | None = None
        self._lower: list[str] | None = None
        self._natural: np.ndarray | None = None  # int32 positions in natural order
        self._functions: dict[str, Any] | None = None
        self._derived: dict[str, Any] = {}
        self._derived_locks: dict[str, threading.RLock] = {}  # one per key being built

    def _index_names(self, names: list[str]) -> None:
        self.names: list[str] = names
        self._pos_map: dict[str, int] | None = None  # name -> position, built on demand
        self._sorted: list[str] | None = None
        self._duplicates: list[str] = []
        self._scans = 0  # lookups answered by scanning ``names`` before the dict was built

    @property
    def _pos(self) -> dict[str, int]:
        pos = self._pos_map
        if pos is None:
            # C-level passes (a Python loop costs several times more on 200,000 names), a chunk
            # each, so that another thread gets the GIL between them (one pass over 1,000,000
            # names holds it ~0.4 s: the app's UI while its warm-up builds this); with
            # duplicates, positions are rebuilt so that the first node of a name wins.
            names = self.names
            pos = {}
            for c in range(0, len(names), _POS_CHUNK):
                pos.update(zip(names[c : c + _POS_CHUNK], range(c, c + _POS_CHUNK), strict=False))
            duplicates: list[str] = []
            if len(pos) != len(names):
                pos = {}
                for i, name in enumerate(names):
                    if pos.setdefault(name, i) != i:
                        duplicates.append(name)
            self._duplicates = duplicates
            self._pos_map = pos
        return pos

    @property
    def duplicates(self) -> list[str]:
        """Names held by more than one node (invalid in TensorFlow), once per extra node."""
        self._pos  # noqa: B018 - found while building the name -> position dict
        return self._duplicates

    def _scan_instead(self) -> bool:
        """Answer this lookup by scanning ``names`` (C speed; the first node of a name wins)
        rather than building the name -> position dict: the first few lookups of a fresh
        index (the root scope listing asks one per top-level node), so that opening a
        1,000,000-node graph does not wait for a dict that the warm-up builds later."""
        if self._pos_map is not None or self._scans >= _SCANNED_LOOKUPS:
            return False
        self._scans += 1
        return True

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> GraphIndex:
        """Read a ``.meta`` file (see :func:`graphtui.core.metagraph.read_meta_graph`).

        A binary file's nodes are not decoded here: names and ops come from a scan of the
        wire format, each NodeDef is decoded when first asked for, and the whole message when
        ``meta_graph`` or ``graph_def`` is (so a 1,000,000-node graph opens in a fraction of
        its decoding time and memory)."""
        from graphtui.core.metagraph import open_meta_graph

        meta, nodes = open_meta_graph(path)
        return cls(meta, path=path, nodes=nodes)

    def derived(self, key: str, factory: Callable[[GraphIndex], _T]) -> _T:
        """A view built from this index once and cached on it (``ScopeTree.of(index)`` etc.)."""
        try:
            value: _T = self._derived[key]
            return value
        except KeyError:
            pass
        # another thread asking meanwhile waits for this build instead of making its own (the
        # app's warm-up and a pane's worker both want the 1M-node variable table: ~10 s each)
        lock = self._derived_locks.setdefault(key, threading.RLock())
        with lock:
            try:
                value = self._derived[key]
            except KeyError:
                value = self._derived[key] = factory(self)
        return value

    # -- the messages -------------------------------------------------------------------------

    @property
    def meta_graph(self) -> Any:
        """The MetaGraphDef (for a bare GraphDef: an empty one holding a copy, made on demand)."""
        self._decode_all()
        if self._meta is None:
            meta = pb.MetaGraphDef()
            meta.graph_def.CopyFrom(self._graph_def)
            self._meta = meta
        return self._meta

    @property
    def meta_graph_header(self) -> Any:
        """The MetaGraphDef for reading all but its nodes (collections, saver_def, signatures,
        meta_info_def, graph_def's library and versions) without decoding every node: its
        ``graph_def.node`` may still be empty (``meta_graph`` is the same message, completed).
        For a bare GraphDef, as ``meta_graph``."""
        if self._meta is None:
            return self.meta_graph
        return self._meta

    @property
    def has_meta_graph(self) -> bool:
        """False when built from a bare GraphDef (no collections, no saver)."""
        return self._from_meta

    @property
    def graph_def(self) -> Any:
        self._decode_all()
        return self._graph_def

    @property
    def library(self) -> Any:
        """The graph's FunctionDefLibrary (without decoding any node)."""
        return self._graph_def.library

    @property
    def _nodes(self) -> Any:
        """``graph_def.node``, every node decoded."""
        return self.graph_def.node

    def _decode_all(self) -> None:
        """Decode the nodes still held as bytes into ``graph_def`` (once)."""
        if self._table is None:
            return
        with self._decode_lock:  # the app's warm-up worker and the UI thread may both ask
            self._decode_locked()

    def _decode_locked(self) -> None:
        table = self._table
        if table is None:
            return
        from google.protobuf.message import DecodeError

        from graphtui.formats.metagraph_io import parse_meta_graph

        graph_def = self._graph_def
        try:
            for piece in _node_runs(table):
                graph_def.MergeFromString(piece)
        except DecodeError:
            graph_def.ClearField("node")
            parse_meta_graph(table.read(0, table.source.size), self.path)  # says where, why
            raise FormatError(
                self.path, "not a valid MetaGraphDef: a node does not decode"
            ) from None
        scanned_ops = self.ops
        self._table = None
        with self._decoded_lock:
            self._decoded.clear()
        names = [n.name for n in graph_def.node]
        if names != self.names or [n.op for n in graph_def.node] != scanned_ops:
            # a node holding a second name or op field (the last one wins): index the decoded
            # nodes instead of the scan's
            self._ops = None
            self._consumers = self._lower = self._natural = None
            self._derived.clear()
            self._index_names(names)

    def _node_at(self, i: int) -> Any:
        """The NodeDef at position ``i``; decodes only that node while the rest are bytes."""
        table = self._table
        if table is None:
            return self._graph_def.node[i]
        cache = self._decoded
        with self._decoded_lock:
            node = cache.get(i)
            if node is not None:
                cache.move_to_end(i)
                return node
        node = pb.NodeDef()
        raw = table.node_bytes(i)  # a file changed since it was read: its FormatError
        try:
            node.ParseFromString(raw)
        except Exception:  # noqa: BLE001 - any decode failure: decode all to say where
            self._decode_all()
            return self._graph_def.node[i]
        ops = self._ops
        if node.name != self.names[i] or node.op != (ops[i] if ops is not None else table.op(i)):
            self._decode_all()  # the scan misread it: index the decoded nodes instead
            return self._graph_def.node[self.index_of(node.name)]
        with self._decoded_lock:
            cache[i] = node
            if len(cache) > _DECODED_MAX:
                cache.popitem(last=False)
        return node

    def nodes_of(self, names: list[str]) -> Iterator[tuple[str, Any]]:
        """(name, NodeDef) of each of ``names`` (nodes of this graph), in file order: what
        :meth:`node` gives, for many nodes at once. Their bytes are read in a few big reads
        once the file's bytes were let go (formats/range_reads.py), not one read per node,
        and are not kept in the cache of nodes shown (a pass over 166,000 variables)."""
        table = self._table
        if table is None:
            for name in names:
                yield name, self.node(name)
            return
        index_of = self.index_of
        every = np.fromiter((index_of(n) for n in names), np.int64, len(names))
        by_place = np.argsort(every, kind="stable")
        for c in range(0, len(names), _NODES_OF_CHUNK):  # no Python int per node kept for all
            picked = by_place[c : c + _NODES_OF_CHUNK]
            yield from self._nodes_at(table, [names[k] for k in picked.tolist()], every[picked])

    def _nodes_at(self, table: NodeTable, names: list[str], pos: np.ndarray
                  ) -> Iterator[tuple[str, Any]]:
        from graphtui.formats.range_reads import read_ranges

        starts = table.starts[pos]
        op_at = (table.op_starts[pos] - starts).tolist()  # the scan's op, within the node
        op_end = (table.op_ends[pos] - starts).tolist()
        for k, raw in read_ranges(table.source, starts, table.ends[pos]):
            name = names[k]
            node = pb.NodeDef()
            try:
                node.ParseFromString(raw)
                scanned_op = str(raw[op_at[k] : op_end[k]], "utf-8")
            except Exception:  # noqa: BLE001 - as _node_at: decoding the whole says where
                node = None
            if node is None or self._table is None or node.name != name or node.op != scanned_op:
                yield name, self.node(name)  # _node_at's handling of a misread node
            else:
                yield name, node

    def release_node_bytes(self) -> bool:
        """Let go of the file's bytes held for decoding nodes on demand (a 1,000,000-node
        graph: ~290 MB); nodes, and the whole message for a write, are then read back from the
        file, kept open since the read (FormatError if it changed on disk since). The indexes
        that read every node's bytes (ops, consumers) are built first. True when let go; a
        text or remote graph, or one already decoded, keeps what it has (False)."""
        table = self._table
        if table is None or table.released:
            return False
        self.ops  # noqa: B018 - built from the bytes while they are here
        self._consumer_index()
        with self._decode_lock:  # not while _decode_locked reads the bytes in memory
            table = self._table  # None when building them decoded the whole message
            return table is not None and table.release()

    def close(self) -> None:
        """Close the file kept open to read released node bytes back (the app's workspace, when
        closed or replaced: one descriptor per open graph otherwise stays until collected)."""
        table = self._table
        if table is not None:
            table.close()

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        pos, ordered = self._pos_map, self._sorted
        if pos is not None:
            return name in pos
        if ordered is not None and isinstance(name, str):
            at = bisect_left(ordered, name)  # the scope tree sorted the names: no dict needed
            return at < len(ordered) and ordered[at] == name
        if self._scan_instead():
            return name in self.names
        return name in self._pos

    @property
    def sorted_names(self) -> list[str]:
        """All node names in plain string order (built on first use; the scope tree's)."""
        ordered = self._sorted
        if ordered is None:
            ordered = self._sorted = sorted(self.names)
        return ordered

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def _where(self) -> str:
        return self.path or "graph"

    def index_of(self, name: str) -> int:
        """Position of the node in ``graph_def.node``."""
        pos = self._pos_map  # built: one lookup (whole-graph passes ask millions of times)
        try:
            if pos is not None:
                return pos[name]
            return self.names.index(name) if self._scan_instead() else self._pos[name]
        except (KeyError, ValueError):
            raise NotFoundError(f"{self._where()}: no node named {name!r}") from None

    def canonical(self, name: str) -> str:
        """The graph's own string for node ``name`` (equal, shared), or ``name`` itself when
        no node has it: an index keyed by names read elsewhere (collections, VariableDefs)
        holds the graph's strings instead of a copy of each (~150 MB of a 1M-node graph's
        variable table)."""
        i = self._pos.get(name)
        return name if i is None else self.names[i]

    def canonical_all(self, names: list[str]) -> list[str]:
        """:meth:`canonical` of each of ``names`` (one pass, no call per name: the variable
        table and the collections map ask for ~1,000,000 on a 1,000,000-node graph)."""
        get, mine = self._pos.get, self.names
        return [name if (i := get(name)) is None else mine[i] for name in names]

    def positions(self, names: list[str]) -> list[int]:
        """:meth:`index_of` of each of ``names`` in one pass, -1 where no node has the name."""
        get = self._pos.get
        return [get(name, -1) for name in names]

    def in_natural_order(self, positions: list[int]) -> list[int]:
        """``positions`` (distinct) ordered by their names' :func:`natural_key`: a filter of
        the graph's natural order when it is built (the app's warm-up builds it before the
        variable table; no sort key made per name), else a sort."""
        order, names = self._natural, self.names
        if order is None or len(positions) * 256 < len(names):  # a numpy pass over every name
            return sorted(positions, key=lambda i: natural_key(names[i]))
        wanted = np.zeros(len(names), dtype=bool)
        wanted[positions] = True
        picked: list[int] = order[wanted[order]].tolist()
        return picked

    def sort_natural(self, names: list[str]) -> list[str]:
        """``names`` (distinct names of this graph's nodes) in :func:`natural_key` order: many
        of them, once the graph's natural order and name dict are built (the app's warm-up),
        a filter of that order; else sorted by :func:`natural_order`'s flat keys (few: by
        :func:`natural_key`). No name dict is built for it: the first screen of a 1,000,000-node
        graph lists the root's nodes before the warm-up built one."""
        order, every = self._natural, self.names
        if order is not None and self._pos_map is not None and len(names) * 256 >= len(every):
            wanted = np.zeros(len(every), dtype=bool)
            wanted[self.positions(names)] = True
            return [every[i] for i in order[wanted[order]].tolist()]
        if len(names) < _FLAT_SORT_MIN:
            return sorted(names, key=natural_key)
        return [names[k] for k in natural_order(names).tolist()]  # ~2x faster than tuple keys

    def node(self, name: str) -> Any:
        """The NodeDef message."""
        return self._node_at(self.index_of(name))

    def op(self, name: str) -> str:
        """The node's op type (from the scan while the nodes are bytes: nothing decoded)."""
        i = self.index_of(name)
        ops, table = self._ops, self._table
        if ops is not None:
            return ops[i]
        if table is not None:
            return table.op(i)
        return str(self._graph_def.node[i].op)

    def device(self, name: str) -> str:
        """The device stored in the NodeDef (``""`` when unplaced)."""
        return str(self.node(name).device)

    def placed_device(self, name: str) -> str:
        """The device TensorFlow gives the node on import: colocation (``loc:@other``) overrides
        the stored device with the first colocated node's device (``""`` if none has one)."""
        others = [n for n in self.colocation(name) if n != name]
        if not others:
            return self.device(name)
        for other in others:
            if other in self._pos:
                device = self.device(other)
                if device:
                    return device
        return ""

    # -- edges ----------------------------------------------------------------------------------

    def inputs(self, name: str) -> list[InputRef]:
        """The node's inputs, in order (data inputs first, then ``^control`` ones)."""
        return [parse_input(s) for s in self.node(name).input]

    def consumers(self, name: str) -> list[ConsumerRef]:
        """Nodes that read this node (data or control), in graph order."""
        i = self.index_of(name)
        index = self._consumer_index()
        a, b = int(index.offsets[i]), int(index.offsets[i + 1])
        names = self.names
        ports = index.edges.port[a:b].tolist()
        for edge, port in index.wide_ports.items():
            if a <= edge < b:
                ports[edge - a] = port
        return [
            ConsumerRef(names[c], port, port < 0, slot)
            for c, port, slot in zip(
                index.edges.dst[a:b].tolist(), ports, index.slot[a:b].tolist(), strict=True
            )
        ]

    def edge_table(self) -> EdgeTable:
        """All edges as arrays (see :class:`EdgeTable`), built once with the consumer index."""
        return self._consumer_index().edges

    def _consumer_index(self) -> _ConsumerIndex:
        index = self._consumers
        if index is None:
            index = self._consumers = self._build_consumers()
        return index

    def _build_consumers(self) -> _ConsumerIndex:
        """Every input string resolved to its producer's position through the name dict, a
        chunk of strings at a time; while the nodes are bytes, the strings come from the
        wire format (formats/node_inputs.py), nothing decoded."""
        try:
            return self._resolve_all()
        except UnicodeDecodeError:
            # an input string not UTF-8: not a valid NodeDef; decoding says where
            self._decode_all()
            return self._resolve_all()

    def _resolve_all(self) -> _ConsumerIndex:
        pos = self._pos
        consumer: list[np.ndarray] = []
        producer: list[np.ndarray] = []
        ports: list[np.ndarray] = []
        wide: dict[int, int] = {}
        done = 0
        for nodes, texts in self._input_strings():
            found, port = _resolve_inputs(texts, pos, wide, done)
            consumer.append(nodes)
            producer.append(found)
            ports.append(port)
            done += len(texts)
        return _consumer_arrays(len(self.names), consumer, producer, ports, wide)

    def _input_strings(self) -> Iterator[tuple[np.ndarray, list[str]]]:
        """Every node's input strings in graph order, a chunk at a time, with the position
        of the node holding each."""
        table = self._table
        ranges = input_ranges(table) if table is not None else None
        if table is None or ranges is None:
            nodes: list[int] = []
            texts: list[str] = []
            for c, node_def in enumerate(self._nodes):
                texts.extend(node_def.input)
                nodes.extend([c] * len(node_def.input))
            yield np.asarray(nodes, dtype=np.int32), texts
            return
        data = table.data
        for a in range(0, len(ranges), _INPUT_CHUNK):
            b = a + _INPUT_CHUNK
            spans = zip(ranges.start[a:b].tolist(), ranges.end[a:b].tolist(), strict=True)
            yield ranges.node[a:b], [str(data[s:e], "utf-8") for s, e in spans]

    # -- attributes -----------------------------------------------------------------------------

    def raw_attrs(self, name: str) -> Mapping[str, Any]:
        """The node's ``attr`` map of AttrValue messages, as stored."""
        attrs: Mapping[str, Any] = self.node(name).attr
        return attrs

    def attrs(self, name: str, *, max_elements: int = DEFAULT_ATTR_ELEMENTS) -> dict[str, Any]:
        """The node's attrs decoded by :func:`decode_attr`, keys sorted."""
        raw = self.node(name).attr
        return {key: decode_attr(raw[key], max_elements) for key in sorted(raw)}

    def colocation(self, name: str) -> list[str]:
        """Nodes this one is colocated with (its ``_class`` attr's ``loc:@name`` entries)."""
        raw = self.node(name).attr
        if "_class" not in raw:
            return []
        out = []
        for item in raw["_class"].list.s:
            text = item.decode("utf-8", "replace")
            if text.startswith("loc:@"):
                out.append(text[5:])
        return out

    # -- whole-graph views ----------------------------------------------------------------------

    @property
    def ops(self) -> list[str]:
        """Op type of every node, parallel to :attr:`names` (built on first use)."""
        if self._ops is None:
            table = self._table
            self._ops = table.ops() if table is not None else [n.op for n in self._nodes]
        return self._ops

    def op_histogram(self) -> dict[str, int]:
        """Op type -> node count, most frequent first (ties in natural order)."""
        counts = Counter(self.ops)
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], natural_key(kv[0]))))

    def nodes_with_op(self, *ops: str) -> list[str]:
        """Names of nodes whose op is one of ``ops``, in graph order (while the nodes are
        bytes and the op list is not built, found by comparing the scan's op bytes)."""
        names, table = self.names, self._table
        if self._ops is None and table is not None:
            return [names[i] for i in _positions_with_op(table, ops).tolist()]
        wanted = set(ops)
        return [n for n, o in zip(names, self.ops, strict=True) if o in wanted]

    def natural_names(self) -> list[str]:
        """All node names in natural order."""
        names = self.names
        return [names[i] for i in self._natural_order().tolist()]

    def _natural_order(self) -> np.ndarray:
        order = self._natural
        if order is None:
            order = self._natural = natural_order(self.names)
        return order

    def search(self, pattern: str, limit: int | None = None) -> list[str]:
        """Names matching ``pattern``, in natural order, at most ``limit`` of them.

        Case-insensitive; a plain pattern matches as a substring, one with ``*``, ``?`` or ``[``
        is a glob over the whole name (``*`` crosses ``/``). ``op:Conv2D`` finds the nodes of
        an op type instead (the whole op name, or a glob: ``op:Conv*``), as Netron's and
        TensorBoard's op search do.
        """
        if pattern[:3].lower() == OP_PREFIX:
            ops = self.ops
            want = pattern[3:].strip().lower()
            if _GLOB_CHARS.intersection(want):
                op_match = re.compile(fnmatch.translate(want), re.DOTALL).match
                hits = [i for i, op in enumerate(ops) if op_match(op.lower())]
            else:
                hits = [i for i, op in enumerate(ops) if op.lower() == want]
        else:
            if self._lower is None:  # a name already in lower case is not copied
                self._lower = [n if (low := n.lower()) == n else low for n in self.names]
            match = name_matcher(pattern, lowered=True)
            hits = [i for i, low in enumerate(self._lower) if match(low)]
        names = self.names
        if len(hits) > _SORT_HITS_MAX and (self._natural is not None or limit is None):
            order = self._natural_order()  # many hits: the graph's natural order (built once)
            wanted = np.zeros(len(names), dtype=bool)
            wanted[hits] = True
            return [names[i] for i in order[wanted[order]][:limit].tolist()]
        if limit is not None and limit < len(hits):
            return heapq.nsmallest(limit, (names[i] for i in hits), key=natural_key)
        return sorted((names[i] for i in hits), key=natural_key)

    # -- function library -----------------------------------------------------------------------

    def _function_map(self) -> dict[str, Any]:
        if self._functions is None:
            self._functions = {f.signature.name: f for f in self._graph_def.library.function}
        return self._functions

    def function(self, fname: str) -> Any:
        """The FunctionDef message named ``fname``."""
        try:
            return self._function_map()[fname]
        except KeyError:
            raise NotFoundError(f"{self._where()}: no function named {fname!r}") from None

    def functions(self) -> list[FunctionInfo]:
        """The library's functions, in natural order of name."""
        out = []
        fmap = self._function_map()
        for fname in sorted(fmap, key=natural_key):
            fdef = fmap[fname]
            sig = fdef.signature
            out.append(
                FunctionInfo(
                    name=fname,
                    inputs=[_arg_info(a) for a in sig.input_arg],
                    outputs=[_arg_info(a) for a in sig.output_arg],
                    node_count=len(fdef.node_def),
                )
            )
        return out

    def calls(self, node: str | Any) -> list[str]:
        """The library functions a node calls (a node of this graph by name, or a NodeDef of a
        function body): see :func:`node_calls`."""
        node_def = self.node(node) if isinstance(node, str) else node
        return node_calls(node_def, self._function_map())

    def callers(self, fname: str) -> list[tuple[Literal["graph", "fn"], str]]:
        """Who calls function ``fname``: ``("graph", node)`` and ``("fn", function)`` pairs
        (a function calling itself is left out). Indexed once."""
        return self.derived("callers", _callers_index).get(fname, [])

    def function_nodes(self, fname: str) -> list[Any]:
        """The body of function ``fname``: its NodeDef messages, in stored order.

        Their inputs use the function form ``node:output_arg:index``; :func:`parse_input` reads
        them (the port is the index within that output argument).
        """
        return list(self.function(fname).node_def)

    def function_graph(self, fname: str) -> GraphIndex:
        """Function ``fname``'s body as a graph of its own: its nodes, plus an ``_Arg`` node per
        input argument and a ``_Retval`` node per output (named after the argument, unless a
        body node has that name), so edges from arguments and to results resolve. Built once.
        """
        return self.derived(f"function:{fname}", lambda index: _function_graph(index, fname))


def node_calls(node: Any, library: Mapping[str, Any]) -> list[str]:
    """The one call graph: the functions of ``library`` a NodeDef calls, each once, in order —
    its op, and every function-valued attribute at any depth (``f`` of a
    ``(Stateful)PartitionedCall``, ``then_branch`` / ``else_branch`` of ``If``, ``cond`` /
    ``body`` of ``While``, ``list(func)``, functions passed to those functions)."""
    names = [node.op] if node.op in library else []
    for attr in node.attr.values():
        _funcs_of(attr, names)
    out: list[str] = []
    for name in names:
        if name in library and name not in out:
            out.append(name)
    return out


def _funcs_of(attr: Any, out: list[str]) -> None:
    kind = attr.WhichOneof("value")
    if kind == "func":
        out.append(attr.func.name)
        for inner in attr.func.attr.values():
            _funcs_of(inner, out)
    elif kind == "list":
        for func in attr.list.func:
            out.append(func.name)
            for inner in func.attr.values():
                _funcs_of(inner, out)


def _callers_index(index: GraphIndex) -> dict[str, list[tuple[Literal["graph", "fn"], str]]]:
    library = index._function_map()
    found: dict[str, list[tuple[Literal["graph", "fn"], str]]] = {}
    if not library:
        return found
    for node in index.graph_def.node:
        for called in node_calls(node, library):
            found.setdefault(called, []).append(("graph", node.name))
    for fname, fdef in library.items():
        seen: set[str] = set()
        for node in fdef.node_def:
            for called in node_calls(node, library):
                if called not in seen and called != fname:
                    seen.add(called)
                    found.setdefault(called, []).append(("fn", fname))
    return found


def _function_graph(index: GraphIndex, fname: str) -> GraphIndex:
    fdef = index.function(fname)
    graph = pb.GraphDef()
    graph.versions.CopyFrom(index.graph_def.versions)
    body_names = {n.name for n in fdef.node_def}
    for i, arg in enumerate(fdef.signature.input_arg):
        if arg.name in body_names:
            continue
        node = graph.node.add(name=arg.name, op="_Arg")
        node.attr["index"].i = i
        if arg.type:
            node.attr["T"].type = arg.type
    graph.node.extend(fdef.node_def)
    for i, arg in enumerate(fdef.signature.output_arg):
        if arg.name in body_names or arg.name not in fdef.ret:
            continue
        node = graph.node.add(name=arg.name, op="_Retval", input=[fdef.ret[arg.name]])
        node.attr["index"].i = i
        if arg.type:
            node.attr["T"].type = arg.type
    where = index.path or "graph"
    return GraphIndex(graph, path=f"{where} (function {fname})", owner=index)


def _node_runs(table: NodeTable) -> Iterator[bytes | memoryview]:
    """The GraphDef's node fields (``table.runs``) in pieces that decode on their own: views
    of the bytes in memory, or read back from the file ~_RUN_PIECE bytes at a time (whole
    node records) once the table has let its bytes go."""
    if not table.released:
        view = memoryview(table.data)
        for start, end in table.runs:
            yield view[start:end]
        return
    ends = table.ends
    for start, end in table.runs:
        while start < end:
            # records end where their payload does: cut after the last one within the piece
            k = int(np.searchsorted(ends, min(start + _RUN_PIECE, end), side="right"))
            if not (k and int(ends[k - 1]) > start):  # one node longer than a piece
                k = int(np.searchsorted(ends, start, side="right")) + 1
            cut = min(int(ends[k - 1]), end) if k <= len(ends) else end
            yield table.read(start, cut)
            start = cut


def _positions_with_op(table: NodeTable, ops: tuple[str, ...]) -> np.ndarray:
    """Positions of the nodes whose op bytes are one of ``ops`` (UTF-8), ascending: numpy
    over the op ranges, a byte of every candidate at a time (no string per node)."""
    buf = np.frombuffer(table.data, dtype=np.uint8)
    starts, lengths = table.op_starts, table.op_ends - table.op_starts
    found = np.zeros(len(starts), dtype=bool)
    for op in set(ops):
        want = op.encode("utf-8")
        cand = np.flatnonzero(lengths == len(want))
        for k, byte in enumerate(want):
            cand = cand[buf[starts[cand] + k] == byte]
        found[cand] = True
    return np.flatnonzero(found)


def _resolve_inputs(
    texts: list[str], pos: Mapping[str, int], wide: dict[int, int], first: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each input string's producer position (-1: no such node) and port (-1: control), as
    :func:`parse_input` reads it; most strings are a bare name, looked up at C speed. Ports
    past int32 go in ``wide``, by input number (``first`` is the first string's)."""
    found = np.array(list(map(pos.get, texts, itertools.repeat(-1))), dtype=np.int32)
    port = np.zeros(len(texts), np.int32)
    for i in [i for i, text in enumerate(texts) if ":" in text or text.startswith("^")]:
        ref = parse_input(texts[i])
        found[i] = pos.get(ref.node, -1)
        port[i] = min(ref.port, _PORT_MAX)
        if ref.port > _PORT_MAX:
            wide[first + i] = ref.port
    return found, port


def _consumer_arrays(
    count: int,
    consumer: list[np.ndarray],
    producer: list[np.ndarray],
    port: list[np.ndarray],
    wide: dict[int, int],
) -> _ConsumerIndex:
    """The consumer index from each input's (consumer, producer, port), in graph order."""
    dst = np.concatenate(consumer) if consumer else np.zeros(0, np.int32)
    src = np.concatenate(producer) if producer else np.zeros(0, np.int32)
    ports = np.concatenate(port) if port else np.zeros(0, np.int32)
    # an input's slot: its place among its node's inputs (dst is in graph order)
    slot = (np.arange(len(dst)) - np.searchsorted(dst, dst)).astype(np.int32)
    known = np.flatnonzero(src >= 0)
    order = known[np.argsort(src[known], kind="stable")]  # stable: graph order per producer
    src = src[order]
    offsets = np.zeros(count + 1, np.int64)
    np.cumsum(np.bincount(src, minlength=count), out=offsets[1:])
    moved = {int(e): wide[int(order[e])] for e in np.flatnonzero(np.isin(order, list(wide)))}
    return _ConsumerIndex(EdgeTable(src, dst[order], ports[order]), slot[order], offsets, moved)


def _arg_info(arg: Any) -> ArgInfo:
    if arg.type:
        kind = dtype_name(arg.type)
    elif arg.type_list_attr:
        kind = arg.type_list_attr
    else:
        kind = arg.type_attr or "?"
    if arg.number_attr:
        kind = f"{arg.number_attr}*{kind}"
    if arg.is_ref:
        kind += "&"
    return ArgInfo(str(arg.name), kind)
