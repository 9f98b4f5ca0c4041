"""A MetaGraphDef's collections, decoded by kind.

TensorFlow stores Python-object collections as ``bytes_list`` items holding serialized protos
(``variables`` -> VariableDef, ``savers`` -> SaverDef, ``cond_context`` -> CondContextDef, ...),
so those keys are decoded to messages; ``any_list`` items are unpacked through our descriptor
pool. Whatever does not decode stays raw (bytes, or :class:`RawAny` with its type URL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

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


def item_decoder(key: str, kind: str) -> tuple[Callable[[Any], Any], str | None]:
    """How one item of collection ``key`` (a ``kind`` list) decodes, and the message type its
    items should decode to (None: no type). An item that does not decode stays raw (bytes, or
    :class:`RawAny`): the decoders never raise on bad bytes."""
    if kind == "node_list":
        return str, None
    if kind == "int64_list":
        return int, None
    if kind == "float_list":
        return float, None
    if kind == "any_list":
        return _unpack_or_raw, None
    type_name = PROTO_COLLECTIONS.get(key)
    cls = _message_type(type_name) if type_name else None
    if cls is None:
        return bytes, type_name

    def from_bytes(value: bytes) -> Any:
        try:
            return cls.FromString(value)  # type: ignore[attr-defined]
        except DecodeError:
            return bytes(value)

    return from_bytes, type_name


def _unpack_or_raw(value: Any) -> Any:
    try:
        return unpack_any(value)
    except (LookupError, DecodeError):
        return RawAny(str(value.type_url), bytes(value.value))


def decode_collection(key: str, coll: Any) -> Collection:
    """Decode one CollectionDef message."""
    kind = coll.WhichOneof("kind")
    if kind is None:
        return Collection(key, "empty", [], raw=coll)
    decode, type_name = item_decoder(key, kind)
    items = [decode(value) for value in getattr(coll, kind).value]
    typed = kind == "any_list" or type_name is not None
    bad = sum(isinstance(item, (bytes, RawAny)) for item in items) if typed else 0
    return Collection(key, kind, items, proto_type=type_name, undecoded=bad, raw=coll)


class _Mapped(Sequence[Any]):
    """``values`` each passed through ``read`` when read: the one lazy sequence behind
    :class:`LazyItems` and :class:`Picked`."""

    def __init__(self, values: Sequence[Any], read: Callable[[Any], Any]) -> None:
        self._values = values
        self._read = read

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return map(self._read, self._values)  # not Sequence's index-by-index walk

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._read(v) for v in self._values[index]]
        return self._read(self._values[index])


class LazyItems(_Mapped):
    """A collection's items decoded one by one as they are read (the same values as
    :func:`decode_collection`'s): a pane shows the first of 100,000 VariableDefs without
    decoding the rest. Items read are not kept; the table caches whole collections."""

    def __init__(self, key: str, coll: Any) -> None:
        kind = coll.WhichOneof("kind")
        super().__init__(
            getattr(coll, kind).value if kind else (),
            item_decoder(key, kind)[0] if kind else bytes,
        )


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

    def __init__(
        self,
        meta_graph: Any,
        *,
        path: str | None = None,
        canonical: Callable[[str], str] | None = None,
    ) -> None:
        self._defs = meta_graph.collection_def
        self.path = path
        self._canonical = canonical  # the graph's own string for a node name (no copies)
        self._keys = sorted(self._defs, key=natural_key)
        self._decoded: dict[str, Collection] = {}
        self._by_node: dict[str, tuple[str, ...]] | None = None

    @classmethod
    def of(cls, index: GraphIndex) -> CollectionTable:
        """The table of ``index``'s meta graph, built once and cached on the index."""
        def build(ix: GraphIndex) -> CollectionTable:
            meta = ix.meta_graph_header if ix.has_meta_graph else None
            if meta is None:
                from graphtui._proto import pb

                meta = pb.MetaGraphDef()
            return cls(meta, path=ix.path, canonical=ix.canonical)

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
            found = self._decoded[key] = decode_collection(key, self._def(key))
        return found

    def _def(self, key: str) -> Any:
        if key not in self._defs:
            where = self.path or "meta graph"
            raise NotFoundError(f"{where}: no collection {key!r}")
        return self._defs[key]

    def get(self, key: str) -> Collection | None:
        return self[key] if key in self._defs else None

    def size(self, key: str) -> int:
        """How many items collection ``key`` has (nothing decoded)."""
        kind = self._kind(key)
        return 0 if kind == "empty" else len(getattr(self._defs[key], kind).value)

    def proto_type(self, key: str) -> str | None:
        """The message type collection ``key``'s items decode to (None: no type; nothing
        decoded): ``Collection.proto_type`` without the decoding."""
        kind = self._kind(key)
        return PROTO_COLLECTIONS.get(key) if kind == "bytes_list" else None

    def items(self, key: str) -> Sequence[Any]:
        """Collection ``key``'s items: the decoded list when the collection was decoded, else a
        view decoding each item as it is read (see :class:`LazyItems`)."""
        found = self._decoded.get(key)
        if found is not None:
            return found.items
        return LazyItems(key, self._def(key))

    def kinds(self) -> dict[str, str]:
        """Collection key -> kind, in natural key order."""
        return {key: self._kind(key) for key in self._keys}

    def _kind(self, key: str) -> str:
        return self._def(key).WhichOneof("kind") or "empty"

    def collections_of(self, node_name: str) -> list[str]:
        """Keys of the collections that mention ``node_name`` (ports and ``^`` ignored)."""
        return list(self.keys_of(node_name))

    def keys_of(self, node_name: str) -> tuple[str, ...]:
        """:meth:`collections_of` as the tuple shared by every node with the same keys (no
        copy per call: the variable table keeps it in each of its variables)."""
        by_node = self._by_node
        if by_node is None:
            by_node = self._by_node = self._keys_by_node()
        return by_node.get(node_name, ())

    def _keys_by_node(self) -> dict[str, tuple[str, ...]]:
        """Node name -> the keys of the collections mentioning it, in key order. Items are
        decoded one by one and not kept (a 1M-node graph's 333,000 VariableDefs, decoded and
        kept, cost ~400 MB); each distinct tuple of keys is kept once. A name already in the
        map keeps its string; only a new one is made the graph's own (``canonical``: a lookup
        in the dict of every node name, the most of this pass on a big graph)."""
        by_node: dict[str, tuple[str, ...]] = {}
        shared: dict[tuple[str, ...], tuple[str, ...]] = {}
        canonical = self._canonical or str
        variable_def: Any = _message_type("tensorflow.VariableDef")
        get = by_node.get
        for key in self._keys:
            alone = shared.setdefault((key,), (key,))
            for item in self.items(key):
                if type(item) is variable_def:  # most items of a big graph: _mentions inlined
                    names: Sequence[str] = [
                        n
                        for n in (item.variable_name, item.initializer_name,
                                  item.snapshot_name, item.initial_value_name)
                        if n
                    ]
                elif type(item) is str:
                    names = (item,)
                else:
                    names = _mentions(item)
                for name in names:
                    node = _strip(name)
                    keys = get(node)
                    if keys is None:
                        by_node[canonical(node)] = alone
                    elif keys[-1] != key:
                        grown = (*keys, key)
                        by_node[node] = shared.setdefault(grown, grown)
        return by_node

    def mentioned(self, key: str) -> set[str]:
        """The node names collection ``key``'s items mention (ports and ``^`` stripped): one
        key's part of :meth:`collections_of`, without the map of every key."""
        return {_strip(name) for item in self.items(key) for name in _mentions(item)}


# A filter's result (the app's ``/`` in the Collections pane): collection key -> the positions
# of its matching items (None: the key itself matched, every item kept).
Hits = dict[str, list[int] | None]
_CANCEL_EVERY = 2048  # items described or matched between two looks at the worker's state


class Picked(_Mapped):
    """The items of a collection at ``positions``, each decoded when read (a chunk of them at a
    time as the tree adds them)."""

    def __init__(self, items: Sequence[Any], positions: list[int]) -> None:
        super().__init__(positions, items.__getitem__)


def filter_collections(
    table: CollectionTable,
    match: Callable[[str], bool],
    texts: dict[str, list[str]],
    cancelled: Callable[[], bool],
) -> Hits | None:
    """The collections ``match`` keeps (by key, or by the items it matches); None when
    ``cancelled`` said stop (checked every few thousand items: the app runs this in a thread
    worker a later keystroke cancels). ``texts`` caches each collection's item descriptions (filled here
    for the ones not described yet: only whole collections are kept)."""
    hits: Hits = {}
    for key in table.keys():  # noqa: SIM118 - the keys in natural order
        if match(key):
            hits[key] = None
            continue
        described = texts.get(key)
        if described is None:
            described = []
            for item in table.items(key):  # decoded one by one, not kept
                if len(described) % _CANCEL_EVERY == 0 and cancelled():
                    return None
                described.append(describe_item(item))
            texts[key] = described
        found: list[int] = []
        for start in range(0, len(described), _CANCEL_EVERY):
            if cancelled():
                return None
            chunk = described[start : start + _CANCEL_EVERY]
            found.extend(start + i for i, text in enumerate(chunk) if match(text))
        if found:
            hits[key] = found
    return hits
