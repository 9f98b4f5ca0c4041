"""The object graph of a TF2 (object-based) checkpoint, as a tree of tracked objects.

A ``tf.train.Checkpoint`` stores a ``TrackableObjectGraph`` proto in the string tensor
``_CHECKPOINTABLE_OBJECT_GRAPH``: node 0 is the root, edges are ``children`` by local name
(``model -> hidden -> w``), each node lists the tensors it saved (``attributes``: name,
full_name, checkpoint key) and an optimizer lists its ``slot_variables`` (variable node, slot
name -> slot variable node; slot variables are reached only through these links).

The graph may share nodes (Keras 3 reaches a variable through the model and the optimizer):
each node gets the path TensorFlow gives it, the first one found breadth-first, which is also
the prefix of its checkpoint keys. Slot variables get ``<variable path>/.OPTIMIZER_SLOT/
<optimizer path>/<slot>``.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from graphtui.core.checkpoint import CheckpointReader, load_checkpoint
from graphtui.errors import CoreError, FormatError, NotFoundError

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
ATTRIBUTES_NAME = ".ATTRIBUTES"
OPTIMIZER_SLOT_NAME = ".OPTIMIZER_SLOT"
VARIABLE_VALUE = "VARIABLE_VALUE"

__all__ = [
    "OBJECT_GRAPH_KEY",
    "ObjectAttribute",
    "ObjectChild",
    "ObjectGraph",
    "ObjectNode",
    "SlotLink",
    "TreeRow",
    "escape_local_name",
    "format_tree",
    "has_object_graph",
    "load_object_graph",
    "object_tree",
    "open_object_reader",
    "parse_object_graph",
    "short_path",
]


def escape_local_name(name: str) -> str:
    """A local name as it appears in checkpoint keys: ``.`` -> ``..``, ``/`` -> ``.S``."""
    return name.replace(".", "..").replace("/", ".S")


class TreePaths:
    """Each node's path from the root (escaped local names joined by ``/``), built on demand
    from parent links. A 20,000-deep chain keeps a parent, a name and a length per node, not
    20,000 strings of up to 20,000 parts (1.25 GB for a 290 KB checkpoint when they were kept).
    """

    def __init__(self, count: int) -> None:
        self.parent: list[int] = [-1] * count
        self.name: list[str | None] = [None] * count  # None: not reached from the root
        self.length: list[int] = [0] * count  # characters in the path
        self.order: list[int] = []  # reached nodes, breadth-first
        if count:
            self.name[0] = ""

    def reached(self, i: int) -> bool:
        return self.name[i] is not None

    def add(self, parent: int, child: int, local_name: str) -> bool:
        """Give ``child`` its path under ``parent`` unless it has one; True if it was new."""
        if self.name[child] is not None:
            return False
        name = escape_local_name(local_name)
        self.parent[child] = parent
        self.name[child] = name
        self.length[child] = self.length[parent] + len(name) + (1 if parent else 0)
        return True

    def path(self, i: int) -> str | None:
        if self.name[i] is None:
            return None
        parts: list[str] = []
        while i > 0:
            parts.append(self.name[i] or "")
            i = self.parent[i]
        return "/".join(reversed(parts))


def breadth_first_paths(
    count: int, children: Callable[[int], Iterable[tuple[str, int]]]
) -> TreePaths:
    """TensorFlow's naming: breadth-first from node 0 over ``children(i)`` -> (local name, id),
    in order; ids out of range are skipped."""
    paths = TreePaths(count)
    queue = deque([0] if count else [])
    while queue:
        i = queue.popleft()
        paths.order.append(i)
        for local_name, j in children(i):
            if 0 <= j < count and j != 0 and paths.add(i, j, local_name):
                queue.append(j)
    return paths


@dataclass(frozen=True)
class ObjectAttribute:
    """A tensor an object saved: ``name`` (``VARIABLE_VALUE`` for a variable), the ``full_name``
    it had in Python, its ``checkpoint_key``, and dtype/shape as the checkpoint stores them
    (None when the key is not in the checkpoint)."""

    name: str
    full_name: str
    checkpoint_key: str
    dtype: str | None
    shape: tuple[int, ...] | None

    @property
    def present(self) -> bool:
        return self.dtype is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "full_name": self.full_name,
            "checkpoint_key": self.checkpoint_key,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
        }


@dataclass(frozen=True)
class SlotLink:
    """Optimizer ``optimizer_id`` keeps slot ``slot_name`` of variable ``variable_id`` in node
    ``slot_id`` (a ``SlotVariableReference``)."""

    optimizer_id: int
    variable_id: int
    slot_name: str
    slot_id: int


class ObjectChild(NamedTuple):
    """An edge: the parent's attribute ``local_name`` holds ``node``."""

    local_name: str
    node: ObjectNode


@dataclass(eq=False)
class ObjectNode:
    """One tracked object. ``path`` is its TensorFlow path (escaped local names joined by ``/``,
    ``""`` for the root; None when nothing reaches it)."""

    node_id: int
    graph: ObjectGraph = field(repr=False)
    children: list[ObjectChild] = field(default_factory=list, repr=False)
    attributes: list[ObjectAttribute] = field(default_factory=list)
    slot_variables: list[SlotLink] = field(default_factory=list, repr=False)  # as optimizer
    slots: list[SlotLink] = field(default_factory=list, repr=False)  # as the slotted variable
    slot_of: SlotLink | None = field(default=None, repr=False)  # as a slot variable
    parents: list[tuple[ObjectNode, str]] = field(default_factory=list, repr=False)
    # a saver registered by name (register_checkpoint_saver) wrote this object's tensors under
    # keys of its own: (saver name, the object's name in its call)
    registered_saver: tuple[str, str] | None = None

    @property
    def path(self) -> str | None:
        """TensorFlow's path of the node (built now: paths are not kept, see TreePaths)."""
        graph = self.graph
        if graph.paths.reached(self.node_id):
            return graph.paths.path(self.node_id)
        link = graph.slot_paths.get(self.node_id)
        if link is None:
            return None
        variable = graph.nodes[link.variable_id].path
        optimizer = graph.nodes[link.optimizer_id].path
        return f"{variable}/{OPTIMIZER_SLOT_NAME}/{optimizer}/{escape_local_name(link.slot_name)}"

    @property
    def saver_note(self) -> str | None:
        """``saved by NAME as 'object'``: how ``ls --objects`` and the app mark an object a
        registered saver wrote (None for the others)."""
        if self.registered_saver is None:
            return None
        name, object_name = self.registered_saver
        return f"saved by {name} as {object_name!r}"

    @property
    def path_length(self) -> int:
        """Characters in :attr:`path`, known without building it (0 when it has none)."""
        graph = self.graph
        if graph.paths.reached(self.node_id):
            return graph.paths.length[self.node_id]
        link = graph.slot_paths.get(self.node_id)
        if link is None:
            return 0
        return (
            graph.nodes[link.variable_id].path_length
            + graph.nodes[link.optimizer_id].path_length
            + len(OPTIMIZER_SLOT_NAME)
            + len(escape_local_name(link.slot_name))
            + 3
        )

    @property
    def name(self) -> str:
        """The local name of the edge that gives the node its path (``"(root)"`` for node 0)."""
        if self.node_id == 0:
            return "(root)"
        if self.slot_of is not None:
            return self.slot_of.slot_name
        if self.parents:
            return self.parents[0][1]
        return f"<node {self.node_id}>"

    @property
    def kind(self) -> str:
        """``root``, ``slot`` (a slot variable), ``variable``, ``optimizer`` (has slot
        variables), or ``object``."""
        if self.node_id == 0:
            return "root"
        if self.slot_of is not None:
            return "slot"
        if any(a.name == VARIABLE_VALUE for a in self.attributes):
            return "variable"
        if self.slot_variables:
            return "optimizer"
        return "object"

    @property
    def value_attribute(self) -> ObjectAttribute | None:
        """The ``VARIABLE_VALUE`` attribute of a variable, else None."""
        return next((a for a in self.attributes if a.name == VARIABLE_VALUE), None)

    def child(self, local_name: str) -> ObjectNode:
        for c in self.children:
            if c.local_name == local_name:
                return c.node
        raise NotFoundError(
            f"{self.graph.prefix}: object {self.path or '(root)'!r} has no child {local_name!r}"
        )

    def is_primary_child(self, edge: ObjectChild) -> bool:
        """True when ``edge`` is the one that gives its node its path (not a shared reference)."""
        node = edge.node
        return bool(node.parents) and node.parents[0] == (self, edge.local_name)

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "path": self.path,
            "kind": self.kind,
            "children": [[c.node.node_id, c.local_name] for c in self.children],
            "attributes": [a.to_json() for a in self.attributes],
            "registered_saver": None
            if self.registered_saver is None
            else {"name": self.registered_saver[0], "object_name": self.registered_saver[1]},
            "slot_variables": [
                {
                    "original_variable_node_id": s.variable_id,
                    "slot_name": s.slot_name,
                    "slot_variable_node_id": s.slot_id,
                }
                for s in self.slot_variables
            ],
        }


class TreeRow(NamedTuple):
    """One row of the depth-first listing (:meth:`ObjectGraph.walk`).

    ``label`` is the local name, or ``"<slot> of <variable path>"`` for a slot variable listed
    under its optimizer; ``reference`` is True when the node was listed (with its subtree)
    elsewhere, where its path points.
    """

    depth: int
    label: str
    node: ObjectNode
    reference: bool
    slot: SlotLink | None


class ObjectGraph:
    """A decoded ``TrackableObjectGraph`` with dtypes and shapes from its checkpoint.

    ``reader`` (when given) stays the caller's: values are read through it on demand.
    """

    def __init__(
        self,
        proto: Any,
        *,
        prefix: str = "<object graph>",
        tensors: dict[str, tuple[str, tuple[int, ...]]] | None = None,
        reader: CheckpointReader | None = None,
    ) -> None:
        self.proto = proto
        self.prefix = prefix
        self.reader = reader
        self._tensors = tensors if tensors is not None else {}
        count = len(proto.nodes)
        if count == 0:
            raise FormatError(prefix, "object graph has no nodes (not even a root)")
        self.nodes: list[ObjectNode] = [ObjectNode(i, self) for i in range(count)]
        self.slot_links: list[SlotLink] = []
        self._by_key: dict[str, tuple[ObjectNode, ObjectAttribute]] = {}
        self._reached: set[int] = set()
        for node, message in zip(self.nodes, proto.nodes, strict=True):
            self._fill(node, message)
        self._assign_paths()

    # -- construction --------------------------------------------------------------------------

    def _node(self, node_id: int, what: str) -> ObjectNode:
        if not 0 <= node_id < len(self.nodes):
            raise FormatError(
                self.prefix,
                f"object graph: {what} refers to node {node_id}, "
                f"but there are only {len(self.nodes)} nodes",
            )
        return self.nodes[node_id]

    def _fill(self, node: ObjectNode, message: Any) -> None:
        where = f"node {node.node_id}"
        for ref in message.children:
            child = self._node(ref.node_id, f"a child of {where}")
            node.children.append(ObjectChild(ref.local_name, child))
        for attr in message.attributes:
            dtype, shape = self._tensors.get(attr.checkpoint_key, (None, None))
            item = ObjectAttribute(attr.name, attr.full_name, attr.checkpoint_key, dtype, shape)
            node.attributes.append(item)
            self._by_key.setdefault(attr.checkpoint_key, (node, item))
        for ref in message.slot_variables:
            variable = self._node(ref.original_variable_node_id, f"a slot variable of {where}")
            slot = self._node(ref.slot_variable_node_id, f"a slot variable of {where}")
            link = SlotLink(node.node_id, variable.node_id, ref.slot_name, slot.node_id)
            node.slot_variables.append(link)
            variable.slots.append(link)
            if slot.slot_of is None:
                slot.slot_of = link
            self.slot_links.append(link)
        if message.HasField("registered_saver"):
            saver = message.registered_saver
            node.registered_saver = (saver.name, saver.object_name)

    def _assign_paths(self) -> None:
        """TensorFlow's naming: breadth-first from the root over children, in order; then each
        slot variable after its variable and optimizer have paths."""
        nodes = self.nodes
        self.paths = breadth_first_paths(
            len(nodes), lambda i: ((e.local_name, e.node.node_id) for e in nodes[i].children)
        )
        for i in self.paths.order:  # parents[0] is the edge that gives the path
            for edge in nodes[i].children:
                edge.node.parents.append((nodes[i], edge.local_name))
        self._reached = {i for i in range(len(nodes)) if self.paths.reached(i)}
        # a slot variable's path: "<variable>/.OPTIMIZER_SLOT/<optimizer>/<slot>", built on demand
        self.slot_paths: dict[int, SlotLink] = {}
        for link in self.slot_links:
            if link.optimizer_id in self._reached:
                self._reached.add(link.slot_id)
            if (
                link.slot_id not in self.slot_paths
                and not self.paths.reached(link.slot_id)
                and self._has_path(link.variable_id)
                and self._has_path(link.optimizer_id)
            ):
                self.slot_paths[link.slot_id] = link

    def _has_path(self, node_id: int) -> bool:
        return self.paths.reached(node_id) or node_id in self.slot_paths

    # -- queries -------------------------------------------------------------------------------

    @property
    def root(self) -> ObjectNode:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.nodes)

    def attributes(self) -> list[tuple[ObjectNode, ObjectAttribute]]:
        """Every (node, attribute) pair, in node order."""
        return [(node, attr) for node in self.nodes for attr in node.attributes]

    def find(self, path: str) -> ObjectNode:
        """The node at ``path``: local names joined by ``/`` from the root (``""`` is the root)
        or a node's escaped TensorFlow path (slot variables included)."""
        parts = [p for p in path.split("/") if p]
        if OPTIMIZER_SLOT_NAME in parts:
            for slot_id in self.slot_paths:
                if self.nodes[slot_id].path == path:
                    return self.nodes[slot_id]
        node = self.root
        for part in parts:
            edges = node.children
            edge = next((e for e in edges if escape_local_name(e.local_name) == part), None)
            node = edge.node if edge is not None else node.child(part)
        return node

    def node_for_key(self, checkpoint_key: str) -> ObjectNode:
        """The node that saved ``checkpoint_key``."""
        try:
            return self._by_key[checkpoint_key][0]
        except KeyError:
            raise NotFoundError(
                f"{self.prefix}: no object saved checkpoint key {checkpoint_key!r}"
            ) from None

    def missing_keys(self) -> list[str]:
        """Attribute keys the checkpoint does not hold (empty for a consistent checkpoint)."""
        if not self._tensors:
            return []
        return [a.checkpoint_key for _, a in self.attributes() if not a.present]

    def unreferenced_keys(self) -> list[str]:
        """Checkpoint tensors no attribute names (besides the object graph itself): a registered
        saver's own keys, or tensors the object graph does not know."""
        return sorted(k for k in self._tensors if k != OBJECT_GRAPH_KEY and k not in self._by_key)

    def registered_savers(self) -> list[str]:
        """The names of the registered savers that wrote objects of this graph, sorted."""
        return sorted({n.registered_saver[0] for n in self.nodes if n.registered_saver})

    def unnamed_keys_note(self, shown: int) -> str | None:
        """The line ``ls --objects`` and the app give the tensors no attribute names (the first
        ``shown`` of them, the registered savers that may have written them), or None."""
        unnamed = self.unreferenced_keys()
        if not unnamed:
            return None
        savers = self.registered_savers()
        by = f" (written by {', '.join(savers)}?)" if savers else ""
        more = f" ... ({len(unnamed)} in all)" if len(unnamed) > shown else ""
        return f"tensors the object graph does not name{by}: {', '.join(unnamed[:shown])}{more}"

    def unreachable(self) -> list[ObjectNode]:
        """Nodes neither the root's children nor its optimizers' slot links reach."""
        return [n for n in self.nodes if n.node_id not in self._reached]

    def value(self, item: ObjectAttribute | ObjectNode | str) -> np.ndarray:
        """The saved value of an attribute, a variable node or a checkpoint key (read now)."""
        if self.reader is None:
            raise CoreError(f"{self.prefix}: object graph was decoded without its checkpoint")
        if isinstance(item, ObjectNode):
            attr = item.value_attribute
            if attr is None:
                raise NotFoundError(
                    f"{self.prefix}: object {item.path or item.node_id!r} is not a variable"
                )
            item = attr
        key = item.checkpoint_key if isinstance(item, ObjectAttribute) else item
        return self.reader.read(key)

    def walk(self) -> Iterator[TreeRow]:
        """Depth-first rows for display: children in stored order, then (for an optimizer) its
        slot variables. A node reached again is one ``reference`` row (no subtree), so shared
        nodes and cycles print once."""
        expanded: set[int] = set()
        stack: list[TreeRow] = [TreeRow(0, "(root)", self.root, False, None)]
        while stack:
            row = stack.pop()
            node = row.node
            if row.reference or node.node_id in expanded:
                yield row._replace(reference=True)
                continue
            expanded.add(node.node_id)
            yield row
            below: list[TreeRow] = []
            for edge in node.children:
                primary = node.is_primary_child(edge)
                below.append(TreeRow(row.depth + 1, edge.local_name, edge.node, not primary, None))
            for link in node.slot_variables:
                variable = self.nodes[link.variable_id]
                label = f"{link.slot_name} of {short_path(variable)}"
                slot = self.nodes[link.slot_id]
                primary = slot.slot_of == link
                below.append(TreeRow(row.depth + 1, label, slot, not primary, link))
            stack.extend(reversed(below))

    def to_json(self) -> dict[str, Any]:
        return {
            "checkpoint": self.prefix,
            "nodes": [n.to_json() for n in self.nodes],
            "missing_keys": self.missing_keys(),
            "unreferenced_keys": self.unreferenced_keys(),
        }


# -- loading -----------------------------------------------------------------------------------


def parse_object_graph(raw: bytes, path: str | os.PathLike[str] | None = None) -> Any:
    """Decode the bytes of ``_CHECKPOINTABLE_OBJECT_GRAPH`` into a TrackableObjectGraph."""
    from google.protobuf.message import DecodeError

    from graphtui._proto import pb

    proto = pb.TrackableObjectGraph()
    try:
        proto.ParseFromString(raw)
    except DecodeError as exc:
        raise FormatError(
            path, f"{OBJECT_GRAPH_KEY} does not decode as a TrackableObjectGraph: {exc}"
        ) from None
    return proto


def has_object_graph(reader: CheckpointReader) -> bool:
    return reader.has_tensor(OBJECT_GRAPH_KEY)


def load_object_graph(reader: CheckpointReader) -> ObjectGraph:
    """The object graph of the checkpoint ``reader`` reads (values are read through it later).

    A checkpoint without ``_CHECKPOINTABLE_OBJECT_GRAPH`` (written by a TF1 ``Saver``) raises
    CoreError.
    """
    if not reader.has_tensor(OBJECT_GRAPH_KEY):
        raise CoreError(
            f"{reader.prefix}: not an object-based checkpoint (no {OBJECT_GRAPH_KEY}; "
            "written by a name-based tf.compat.v1 Saver?)"
        )
    value = reader.read(OBJECT_GRAPH_KEY)
    if value.dtype != object or value.shape != ():
        raise FormatError(
            reader.prefix, f"{OBJECT_GRAPH_KEY} is not a scalar string tensor ({value.shape})"
        )
    proto = parse_object_graph(bytes(value[()]), reader.prefix)
    tensors = {i.name: (i.dtype.name, i.shape) for i in reader.tensors()}
    return ObjectGraph(proto, prefix=reader.prefix, tensors=tensors, reader=reader)


def object_tree(reader: CheckpointReader) -> ObjectNode:
    """The root object of ``reader``'s checkpoint (``node.graph`` is the whole graph)."""
    return load_object_graph(reader).root


# -- printing ----------------------------------------------------------------------------------


def _type_text(attr: ObjectAttribute) -> str:
    if attr.dtype is None or attr.shape is None:
        return "MISSING"
    return f"{attr.dtype}[{','.join(str(d) for d in attr.shape)}]"


MAX_INDENT = 32  # levels shown by indentation; a deeper row says its depth instead
SHOWN_PATH = 200  # characters: a longer path is named by node id (output linear in the input)


def short_path(node: ObjectNode) -> str:
    """Where ``node`` is listed, for a reference: its path, or ``node N`` when the path is
    long (a 20,000-deep chain would print 20,000 paths of 20,000 parts) or missing."""
    if node.node_id == 0:
        return "(root)"
    if 0 < node.path_length <= SHOWN_PATH:
        return node.path or f"node {node.node_id}"
    return f"node {node.node_id}"


def _indent(depth: int) -> str:
    if depth <= MAX_INDENT:
        return "  " * depth
    return "  " * MAX_INDENT + f"[depth {depth}] "


def format_tree(graph: ObjectGraph) -> Iterator[str]:
    """The readable tree, line by line: one line per object; a variable shows dtype[shape] and
    its key. Shared objects are listed once; other places refer to them by path (by node id
    when the path is long, and the object's own line then says its id)."""
    for row in graph.walk():
        indent = _indent(row.depth)
        node = row.node
        if row.reference:
            yield f"{indent}{row.label} -> {short_path(node)}"
            continue
        value = node.value_attribute
        label = row.label + ("/" if node.children and node.node_id != 0 else "")
        if node.path_length > SHOWN_PATH:
            label += f"  [node {node.node_id}]"
        if node.saver_note is not None:
            label += f"  [{node.saver_note}]"
        if value is not None and len(node.attributes) == 1:
            extra = f"  ({value.full_name})" if value.full_name else ""
            yield f"{indent}{label}  {_type_text(value)}  {value.checkpoint_key}{extra}"
            continue
        yield f"{indent}{label}"
        for attr in node.attributes:
            extra = f"  ({attr.full_name})" if attr.full_name else ""
            yield f"{indent}  .{attr.name}  {_type_text(attr)}  {attr.checkpoint_key}{extra}"
    for node in graph.unreachable():
        yield f"<unreachable node {node.node_id}>"


def open_object_reader(path: str | os.PathLike[str]) -> CheckpointReader:
    """A checkpoint reader for what ``path`` names (a SavedModel: its ``variables/variables``)."""
    from graphtui.core.locate import locate

    return load_checkpoint(locate(path).checkpoint()[1])
