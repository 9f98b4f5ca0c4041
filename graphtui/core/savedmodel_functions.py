"""The functions a TF2 SavedModel's root object offers, and what each of their concrete
functions is callable with: what ``saved_model_cli show --all`` prints under "Concrete
Functions:", read from the SavedObjectGraph without loading the model.

saved_model_cli loads the model with TensorFlow to print this (and prints "N/A" when an op is
not registered); the arguments it prints are the ``canonicalized_input_signature`` of each
``SavedConcreteFunction`` (TensorFlow's ``nested_structure_coder`` decodes it on load), so this
module decodes the same ``StructuredValue`` into small stand-ins whose ``repr`` is the one the
TensorFlow objects have (``TensorSpec(shape=(None, 3), dtype=tf.float32, name='x')``, an
``int`` default ``7``). Options are listed in the SavedModel's order (saved_model_cli sorts them
by the names its loader gives the functions, which depend on load order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from graphtui.core.graph import dtype_name, shape_list

FunctionKind = Literal["function", "bare_concrete_function"]

# TypeSpecProto.TypeSpecClass -> the Python class TensorFlow rebuilds.
_TYPE_SPEC_CLASSES = {
    1: "SparseTensorSpec",
    2: "IndexedSlicesSpec",
    3: "RaggedTensorSpec",
    4: "TensorArraySpec",
    5: "DatasetSpec",
    6: "IteratorSpec",
    7: "OptionalSpec",
    8: "PerReplicaSpec",
    9: "VariableSpec",
    10: "RowPartitionSpec",
}


# -- stand-ins with TensorFlow's repr ------------------------------------------------------------


@dataclass(frozen=True)
class DTypeValue:
    """A ``tf.DType``: ``repr`` is ``tf.float32``."""

    name: str

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __str__(self) -> str:
        return f"<dtype: {self.name!r}>"


@dataclass(frozen=True)
class ShapeValue:
    """A ``tf.TensorShape`` (None for unknown rank, None dims unknown): ``str`` is
    ``(None, 3)`` / ``(2,)`` / ``<unknown>``, ``repr`` ``TensorShape([None, 3])``."""

    dims: tuple[int | None, ...] | None

    def __str__(self) -> str:
        if self.dims is None:
            return "<unknown>"
        if len(self.dims) == 1:
            return f"({self.dims[0]},)"
        return "(" + ", ".join(str(d) for d in self.dims) + ")"

    def __repr__(self) -> str:
        return "TensorShape(None)" if self.dims is None else f"TensorShape({list(self.dims)})"

    def __iter__(self) -> Any:
        return iter(self.dims or ())


@dataclass(frozen=True)
class SpecValue:
    """A ``tf.TensorSpec`` (or ``BoundedTensorSpec``, with its bounds)."""

    name: str | None
    shape: ShapeValue
    dtype: DTypeValue
    bounds: tuple[Any, Any] | None = None

    def __repr__(self) -> str:
        head = f"shape={self.shape}, dtype={self.dtype!r}, name={self.name!r}"
        if self.bounds is None:
            return f"TensorSpec({head})"
        return f"BoundedTensorSpec({head}, minimum={self.bounds[0]!r}, maximum={self.bounds[1]!r})"


@dataclass(frozen=True)
class TypeSpecValue:
    """Another ``tf.TypeSpec`` (ragged, sparse, ...): ``repr`` is the class name and its
    serialized state, as ``TypeSpec.__repr__`` writes it."""

    class_name: str
    state: Any

    def __repr__(self) -> str:
        state = self.state if isinstance(self.state, tuple) else (self.state,)
        return f"{self.class_name}{state!r}"


class NamedTupleValue(tuple[Any, ...]):
    """A namedtuple: its type name, and its fields in order."""

    type_name: str
    fields: tuple[str, ...]

    def __new__(cls, type_name: str, pairs: list[tuple[str, Any]]) -> NamedTupleValue:
        self = super().__new__(cls, (v for _, v in pairs))
        self.type_name = type_name
        self.fields = tuple(k for k, _ in pairs)
        return self

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in zip(self.fields, self, strict=True))
        return f"{self.type_name}({inner})"


def _shape(proto: Any) -> ShapeValue:
    dims = shape_list(proto)
    return ShapeValue(None if dims is None else tuple(None if d < 0 else d for d in dims))


def _array(proto: Any) -> Any:
    from graphtui.formats.tensor_proto import to_numpy

    return to_numpy(proto, surplus="refuse")  # TF decodes these with MakeNdarray


def decode_structure(value: Any) -> Any:
    """A ``tensorflow.StructuredValue`` as Python values and the stand-ins above (what
    TensorFlow's ``nested_structure_coder.decode_proto`` rebuilds)."""
    kind = value.WhichOneof("kind")
    if kind is None or kind == "none_value":
        return None
    if kind in ("float64_value", "int64_value", "string_value", "bool_value"):
        return getattr(value, kind)
    if kind == "tensor_shape_value":
        return _shape(value.tensor_shape_value)
    if kind == "tensor_dtype_value":
        return DTypeValue(dtype_name(value.tensor_dtype_value))
    if kind in ("tensor_spec_value", "bounded_tensor_spec_value"):
        spec = getattr(value, kind)
        bounds = None
        if kind == "bounded_tensor_spec_value":
            bounds = (_array(spec.minimum), _array(spec.maximum))
        return SpecValue(spec.name or None, _shape(spec.shape), DTypeValue(dtype_name(spec.dtype)),
                         bounds)  # fmt: skip
    if kind == "type_spec_value":
        spec = value.type_spec_value
        name = _TYPE_SPEC_CLASSES.get(spec.type_spec_class) or spec.type_spec_class_name
        return TypeSpecValue(name or "TypeSpec", decode_structure(spec.type_state))
    if kind == "list_value":
        return [decode_structure(v) for v in value.list_value.values]
    if kind == "tuple_value":
        return tuple(decode_structure(v) for v in value.tuple_value.values)
    if kind == "dict_value":
        # the map's own order, as TensorFlow's decoder iterates it
        return {k: decode_structure(v) for k, v in value.dict_value.fields.items()}
    if kind == "named_tuple_value":
        nt = value.named_tuple_value
        return NamedTupleValue(nt.name, [(p.key, decode_structure(p.value)) for p in nt.values])
    return _array(getattr(value, kind))  # tensor_value, numpy_value


# -- the root's functions ------------------------------------------------------------------------


def structure_json(value: Any) -> Any:
    """A decoded structure as JSON: TensorSpecs as ``{"tensor_spec": {name, dtype, shape}}``
    (None for unknown dims or rank), containers as lists / objects, other values as their
    Python text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, SpecValue):
        dims = value.shape.dims
        return {
            "tensor_spec": {
                "name": value.name,
                "dtype": value.dtype.name,
                "shape": None if dims is None else list(dims),
            }
        }
    if isinstance(value, dict):
        return {k: structure_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [structure_json(v) for v in value]
    return repr(value)


@dataclass(frozen=True)
class ConcreteOption:
    """One concrete function: positional arguments and keyword arguments it is callable with
    (``args`` None when the SavedModel records no input signature)."""

    name: str
    args: tuple[Any, ...] | None
    kwargs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "concrete_function": self.name,
            "args": None if self.args is None else structure_json(self.args),
            "kwargs": structure_json(self.kwargs),
        }


@dataclass(frozen=True)
class CallableFunction:
    """A function attribute of the SavedModel's root object, and its concrete functions."""

    name: str
    kind: FunctionKind
    options: list[ConcreteOption]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "options": [o.to_json() for o in self.options],
        }


def _option(name: str, saved: Any, keywords: Iterable[str] = ()) -> ConcreteOption:
    if saved is not None and saved.HasField("canonicalized_input_signature"):
        sig = decode_structure(saved.canonicalized_input_signature)
        if isinstance(sig, tuple) and len(sig) == 2:
            args, kwargs = sig
            return ConcreteOption(name, tuple(args or ()), dict(kwargs or {}))
    # a bare concrete function without a signature: TF shows its argument keywords
    words = tuple(keywords)
    return ConcreteOption(name, words or None, {})


@dataclass(frozen=True)
class RootFunction:
    """A root function as listed before any input signature is decoded: its name, kind and
    the names of its concrete functions (one option each), in the SavedModel's order."""

    name: str
    kind: FunctionKind
    concrete: tuple[str, ...]
    keywords: tuple[str, ...] = ()  # a bare concrete function's argument keywords


def _root_entries(object_graph: Any) -> Iterator[RootFunction]:
    """The ``function`` and ``bare_concrete_function`` children of the root object (node 0),
    sorted by name; ``CoreError`` at the first child TensorFlow's loader would refuse (a node
    id outside the graph, a concrete function the object graph does not hold)."""
    from graphtui.errors import CoreError

    nodes = object_graph.nodes
    if not nodes:
        return
    concrete = object_graph.concrete_functions
    for child in sorted(nodes[0].children, key=lambda c: c.local_name):
        if not 0 <= child.node_id < len(nodes):
            raise CoreError(
                f"root child {child.local_name!r} names node {child.node_id}, "
                f"outside the object graph's {len(nodes)} nodes"
            )
        node = nodes[child.node_id]
        kind = node.WhichOneof("kind")
        if kind == "function":
            names = tuple(node.function.concrete_functions)
            keywords: tuple[str, ...] = ()
        elif kind == "bare_concrete_function":
            bare = node.bare_concrete_function
            names, keywords = (bare.concrete_function_name,), tuple(bare.argument_keywords)
        else:
            continue
        missing = next((n for n in names if n not in concrete), None)
        if missing is not None:
            raise CoreError(
                f"function {child.local_name!r}: concrete function {missing!r} is not in the "
                "object graph"
            )
        yield RootFunction(child.local_name, kind, names, keywords)


def _decoded(entry: RootFunction, object_graph: Any) -> CallableFunction:
    """``entry`` with each option's input signature decoded (``TensorProtoError`` for a value
    that does not decode)."""
    concrete = object_graph.concrete_functions
    if entry.kind == "function":
        options = [_option(n, concrete[n]) for n in entry.concrete]
    else:
        name = entry.concrete[0]
        options = [_option(name, concrete[name], entry.keywords)]
    return CallableFunction(entry.name, entry.kind, options)


def root_functions(object_graph: Any) -> list[CallableFunction]:
    """The ``function`` and ``bare_concrete_function`` children of the root object (node 0),
    sorted by name, each with its concrete functions in the SavedModel's order.

    Raises ``CoreError`` where TensorFlow's loader would fail too (a child's node id outside the
    graph, a concrete function the object graph does not hold) and ``TensorProtoError`` for a
    value that does not decode, at the first child in order that has either:
    :func:`list_root_functions` turns them into the reason."""
    return [_decoded(entry, object_graph) for entry in _root_entries(object_graph)]


@dataclass(frozen=True)
class FunctionListing:
    """The root's functions as saved_model_cli lists them, or why they could not be listed
    (``problem``; the functions are then empty: none is shown as fine that TensorFlow's loader
    would refuse, as saved_model_cli prints "N/A" then)."""

    functions: list[CallableFunction]
    problem: str | None = None

    def lines(self) -> list[str]:
        """The "Concrete Functions:" section (:func:`concrete_function_lines`), or its N/A
        line."""
        if self.problem is not None:
            return [f"Concrete Functions: N/A (could not be listed: {self.problem})"]
        return concrete_function_lines(self.functions)


def _listing_errors() -> tuple[type[BaseException], ...]:
    """What listing the root's functions can raise for a broken object graph."""
    from graphtui.errors import GraphtuiError
    from graphtui.formats.tensor_proto import TensorProtoError

    return (GraphtuiError, TensorProtoError, RecursionError)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def list_root_functions(object_graph: Any) -> FunctionListing:
    """:func:`root_functions`, a broken object graph turned into the reason (never raised)."""
    try:
        return FunctionListing(root_functions(object_graph))
    except _listing_errors() as exc:
        return FunctionListing([], _reason(exc))


class FunctionCatalog(Mapping[str, CallableFunction]):
    """The root's functions listed at once without decoding an input signature (names, kinds,
    option counts: what a tree shows before a function is opened), each decoded when it is
    looked up (``catalog[name]``, kept). A SavedModel's root may hold thousands of functions:
    decoding them all is ~0.3 ms each.

    Until :meth:`check` has decoded every function in order, the listing is not known to be
    one TensorFlow's loader accepts (saved_model_cli prints N/A for all when one does not
    decode); ``listing`` is then None. When the object graph's structure is refused, every
    function is decoded at once, as :func:`list_root_functions` does (the same reason)."""

    def __init__(self, object_graph: Any) -> None:
        self._graph = object_graph
        self._decoded: dict[str, CallableFunction] = {}
        self.listing: FunctionListing | None = None  # known once checked
        self.checked = 0  # functions decoded in order without a problem
        self._lock = threading.Lock()
        try:
            self.entries = list(_root_entries(object_graph))
        except _listing_errors():
            self.entries = []
            self.listing = list_root_functions(object_graph)
        self._index = {entry.name: i for i, entry in enumerate(self.entries)}
        if not self.entries and self.listing is None:
            self.listing = FunctionListing([])

    def __getitem__(self, name: str) -> CallableFunction:
        """Function ``name`` decoded (``TensorProtoError`` and the like when it does not
        decode: :meth:`check` then says why none is listed)."""
        function = self._decoded.get(name)
        if function is None:
            entry = self.entries[self._index[name]]
            function = self._decoded[name] = _decoded(entry, self._graph)
        return function

    def decode(self, name: str) -> CallableFunction | None:
        """Function ``name`` decoded, or None when it does not decode (:meth:`check` says
        why)."""
        try:
            return self[name]
        except _listing_errors():
            return None

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def options(self, name: str) -> int:
        """How many options (concrete functions) function ``name`` has, without decoding it."""
        return len(self.entries[self._index[name]].concrete)

    def check(
        self,
        cancelled: Callable[[], bool] = lambda: False,
        progress: Callable[[float], None] | None = None,
    ) -> FunctionListing | None:
        """Decode the functions not checked yet, in order, until one does not decode (the
        listing is then N/A with its reason, as :func:`list_root_functions` says) or all did
        (the listing is every function). None when ``cancelled`` stopped it first; a later
        call goes on where it stopped."""
        with self._lock:  # one check at a time (a cancelled worker may still be in one)
            if self.listing is not None:
                return self.listing
            total = len(self.entries)
            while self.checked < total:
                if cancelled():
                    return None
                try:
                    self[self.entries[self.checked].name]
                except _listing_errors() as exc:
                    self.listing = FunctionListing([], _reason(exc))
                    return self.listing
                self.checked += 1
                if progress is not None:
                    progress(self.checked / total)
            self.listing = FunctionListing([self[e.name] for e in self.entries])
            return self.listing


# -- saved_model_cli's text ----------------------------------------------------------------------


def _quoted(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _iterable(value: Any) -> bool:
    """What saved_model_cli prints as a list (a non-dict ``Iterable``)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.ndim > 0
    return isinstance(value, list | tuple | ShapeValue)


def _type_name(value: Any) -> str:
    """The class name saved_model_cli prints after ``DType:``."""
    if isinstance(value, NamedTupleValue):
        return value.type_name
    if isinstance(value, TypeSpecValue):
        return value.class_name
    names = {ShapeValue: "TensorShape", DTypeValue: "DType"}
    return names.get(type(value), type(value).__name__)


def _argument_lines(arguments: Iterable[Any], label: str) -> list[str]:
    """saved_model_cli's ``_print_args(arguments, label, indent=4)``, as a terminal shows it
    (its ``\\b\\b`` that take back the last ``, `` applied)."""
    pad = " " * 8
    lines = []
    for index, element in enumerate(arguments, 1):
        lines.append(f"{pad}{label} #{index}")
        if isinstance(element, str):
            lines.append(f"{pad}  {element}")
        elif isinstance(element, SpecValue):
            lines.append(f"{pad}  {element.name}: {element!r}")
        elif isinstance(element, dict):
            items = ", ".join(f"'{k}': {_quoted(v)}" for k, v in element.items())
            lines.append(f"{pad}  DType: dict")
            lines.append(f"{pad}  Value: {{{items}}}")
        elif _iterable(element):
            items = ", ".join(_quoted(v) for v in element)
            lines.append(f"{pad}  DType: {_type_name(element)}")
            lines.append(f"{pad}  Value: [{items}]")
        else:
            lines.append(f"{pad}  DType: {_type_name(element)}")
            lines.append(f"{pad}  Value: {element}")
    return lines


def option_lines(option: ConcreteOption, index: int) -> list[str]:
    """One option of a function as saved_model_cli prints it (``index`` from 1): nothing for
    an option without positional arguments and keywords."""
    lines = []
    if option.args:
        lines += [f"    Option #{index}", "      Callable with:"]
        lines += _argument_lines(option.args, "Argument")
    if option.kwargs:
        lines += _argument_lines(option.kwargs, "Named Argument")
    return lines


def function_lines(function: CallableFunction) -> list[str]:
    """One function of the "Concrete Functions:" section: its name line and its options."""
    lines = [f"  Function Name: '{function.name}'"]
    for index, option in enumerate(function.options, 1):
        lines += option_lines(option, index)
    return lines


def concrete_function_lines(functions: list[CallableFunction]) -> list[str]:
    """The "Concrete Functions:" section of ``saved_model_cli show --all``, line for line (a
    blank line between functions, as it prints them)."""
    lines = ["Concrete Functions:"]
    for number, function in enumerate(functions):
        lines += [""] if number else []
        lines += function_lines(function)
    return lines
