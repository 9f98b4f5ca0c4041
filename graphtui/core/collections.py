"""A MetaGraphDef's collections, decoded by kind.

TensorFlow stores Python-object collections as ``bytes_list`` items holding serialized protos
(``variables`` -> VariableDef, ``savers`` -> SaverDef, ``cond_context`` -> CondContextDef, ...),
so those keys are decoded to messages; ``any_list`` items are unpacked through our descriptor
pool. Whatever does not decode stays raw (bytes, or :class:`RawAny` with its type URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.protobuf import text_format
from google.protobuf.message import DecodeError

from graphtui._proto import message_class, unpack_any
from graphtui.core.natural import natural_key
from graphtui.errors import NotFoundError

if TYPE_CHECKING:
    from graphtui.core.graph import GraphIndex

# Collections of VariableDef protos (tf.GraphKeys registered with a VariableDef proto function).
VARIABLE_COLLECTIONS = (
    "variables",
    "trainable_variables",
    "local_variables",
    "model_variables",
    "moving_average_variables",
    "global_step",
    "metric_variables",
)
# bytes_list collection key -> message type of its items.
PROTO_COLLECTIONS: dict[str, str] = {
    **{key: "tensorflow.VariableDef" for key in VARIABLE_COLLECTIONS},
    "savers": "tensorflow.SaverDef",
    "cond_context": "tensorflow.CondContextDef",
    "while_context": "tensorflow.WhileContextDef",
    "queue_runners": "tensorflow.QueueRunnerDef",
}
_MAX_TEXT = 160  # characters of text format shown for other messages
KINDS = ("node_list", "bytes_list", "int64_list", "float_list", "any_list")


@dataclass(frozen=True)
class RawAny:
    """An ``Any`` whose type is not in our protos, or whose bytes do not parse."""

    type_url: str
    value: bytes

    def __str__(self) -> str:
        return f"<{self.type_url}: {len(self.value)} bytes>"


@dataclass(frozen=True)
class Collection:
    """One collection: ``kind`` is the CollectionDef oneof (``"empty"`` when unset).

    ``items`` are ``str`` node/tensor names (node_list), ``bytes`` (bytes_list without a known
    type), ``int``, ``float``, or messages / :class:`RawAny` (proto-valued bytes_list, any_list).
    ``proto_type`` names the message type items decode to, when the key has one.
    """

    key: str
    kind: str
    items: list[Any]
    proto_type: str | None = None
    undecoded: int = 0  # items left raw although the key (or Any) named a type
    raw: Any = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.items)

    def display(self) -> list[str]:
        """One line of text per item."""
        if self.proto_type and self.undecoded:
            short = self.proto_type.rpartition(".")[2]
            return [f"<{short}: {len(item)} bytes, not decoded>" if isinstance(item, bytes)
                    else describe_item(item) for item in self.items]
        return [describe_item(item) for item in self.items]


def describe_item(item: Any) -> str:
    """A short one-line text for a collection item."""
    if isinstance(item, str):
        return item
    if isinstance(item, bytes):
        try:
            return item.decode("utf-8")
        except UnicodeDecodeError:
            return repr(item)
    if isinstance(item, (int, float, RawAny)):
        return str(item)
    desc = getattr(item, "DESCRIPTOR", None)
    if desc is None:
        return repr(item)
    for name in ("variable_name", "context_name", "queue_name", "filename_tensor_name"):
        if name in desc.fields_by_name:
            value = getattr(item, name)
            if value:
                return f"{desc.name}({value})"
    text = text_format.MessageToString(item, as_one_line=True)
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 3] + "..."
    return f"{desc.name}({text})"


def _message_type(full_name: str) -> type | None:
    try:
        return message_class(full_name)
    except KeyError:
        return None


def decode_collection(key: str, coll: Any) -> Collection:
    """Decode one CollectionDef message."""
    kind = coll.WhichOneof("kind")
    if kind is None:
        return Collection(key, "empty", [], raw=coll)
    values = getattr(coll, kind).value
    if kind == "node_list":
        return Collection(key, kind, [str(v) for v in values], raw=coll)
    if kind == "int64_list":
        return Collection(key, kind, [int(v) for v in values], raw=coll)
    if kind == "float_list":
        return Collection(key, kind, [float(v) for v in values], raw=coll)
    if kind == "any_list":
        items: list[Any] = []
        bad = 0
        for value in values:
            try:
                items.append(unpack_any(value))
            except (LookupError, DecodeError):
                items.append(RawAny(str(value.type_url), bytes(value.value)))
                bad += 1
        return Collection(key, kind, items, undecoded=bad, raw=coll)
    type_name = PROTO_COLLECTIONS.get(key)
    cls = _message_type(type_name) if type_name else None
    if cls is None:
        return Collection(key, kind, [bytes(v) for v in values], proto_type=type_name,
                          undecoded=len(values) if type_name else 0, raw=coll)
    items = []
    bad = 0
    for value in values:
        try:
            items.append(cls.FromString(value))  # type: ignore[attr-defined]
        except DecodeError:
            items.append(bytes(value))
            bad += 1
    return Collection(key, kind, items, proto_type=type_name, undecoded=bad, raw=coll)


def _mentions(item: Any) -> list[str]:
    """Node names an item refers to (node_list names, VariableDef / QueueRunnerDef names)."""
    if isinstance(item, str):
        return [item]
    desc = getattr(item, "DESCRIPTOR", None)
    if desc is None:
        return []
    if desc.full_name == "tensorflow.VariableDef":
        names = [item.variable_name, item.initializer_name, item.snapshot_name,
                 item.initial_value_name]
    elif desc.full_name == "tensorflow.QueueRunnerDef":
        names = [item.queue_name, item.close_op_name, item.cancel_op_name,
                 *item.enqueue_op_name]
    else:
        return []
    return [n for n in names if n]


def _strip(name: str) -> str:
    name = name[1:] if name.startswith("^") else name
    head, sep, tail = name.rpartition(":")
    return head if sep and tail.isdigit() else name


class CollectionTable:
    """All collections of a MetaGraphDef, decoded on first access to each key."""

    def __init__(self, meta_graph: Any, *, path: str | None = None) -> None:
        self._defs = meta_graph.collection_def
        self.path = path
        self._keys = sorted(self._defs, key=natural_key)
        self._decoded: dict[str, Collection] = {}
        self._by_node: dict[str, list[str]] | None = None

    @classmethod
    def of(cls, index: GraphIndex) -> CollectionTable:
        """The table of ``index``'s meta graph, built once and cached on the index."""
        def build(ix: GraphIndex) -> CollectionTable:
            meta = ix.meta_graph_header if ix.has_meta_graph else None
            if meta is None:
                from graphtui._proto import pb

                meta = pb.MetaGraphDef()
            return cls(meta, path=ix.path)

        return index.derived("collections", build)

    def keys(self) -> list[str]:
        """Collection keys in natural order."""
        return list(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._defs

    def __iter__(self) -> Iterator[Collection]:
        return (self[key] for key in self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, key: str) -> Collection:
        found = self._decoded.get(key)
        if found is None:
            if key not in self._defs:
                where = self.path or "meta graph"
                raise NotFoundError(f"{where}: no collection {key!r}")
            found = self._decoded[key] = decode_collection(key, self._defs[key])
        return found

    def get(self, key: str) -> Collection | None:
        return self[key] if key in self._defs else None

    def kinds(self) -> dict[str, str]:
        """Collection key -> kind, in natural key order."""
        return {key: self._kind(key) for key in self._keys}

    def _kind(self, key: str) -> str:
        return self._defs[key].WhichOneof("kind") or "empty"

    def collections_of(self, node_name: str) -> list[str]:
        """Keys of the collections that mention ``node_name`` (ports and ``^`` ignored)."""
        if self._by_node is None:
            by_node: dict[str, list[str]] = {}
            for coll in self:
                for item in coll.items:
                    for name in _mentions(item):
                        keys = by_node.setdefault(_strip(name), [])
                        if not keys or keys[-1] != coll.key:
                            keys.append(coll.key)
            self._by_node = by_node
        return list(self._by_node.get(node_name, ()))
