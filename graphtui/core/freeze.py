"""Freeze a graph for serving: keep what the outputs need, turn every variable they read into a
``Const`` holding its checkpoint value, and write one ``GraphDef`` (what ``freeze_graph`` and
``tf.compat.v1.graph_util.convert_variables_to_constants`` produce), without TensorFlow.

The rules follow TensorFlow's own code so that the result is the same graph:

- pruning is ``extract_sub_graph``: a breadth-first walk from the outputs over data inputs,
  control inputs and ``loc:@`` colocation, nodes kept in graph order;
- conversion is ``convert_to_constants._replace_variables_by_constants``: ``VariableV2`` /
  ``VarHandleOp`` become ``Const`` (dtype from the variable, value as ``make_tensor_proto``
  writes it); the new dtype flows through ``Identity`` / ``Enter`` / ``Exit`` / ``Switch`` /
  ``NextIteration`` (their ``T`` set, ``_output_shapes`` dropped) and stops at ``Merge``;
  ``ReadVariableOp`` becomes ``Identity``, ``ResourceGather`` becomes ``GatherV2`` with a new
  ``NAME/axis`` Const, ``ResourceGatherNd`` becomes ``GatherNd``.

Beyond TensorFlow: devices are cleared unless asked to keep them, the function library keeps
only the functions still called, and a graph that could not run is refused before anything is
written (an output that is no node, a variable missing from the checkpoint or of another dtype
or shape, a queue or reader on the path, an op that would write to a frozen variable).

``plan_freeze`` does everything but read values and write (the app's preview);
``apply_freeze`` fills the constants from the checkpoint, writes atomically and reads back.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from graphtui._proto import pb
from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.graph import GraphIndex, node_calls, parse_input
from graphtui.errors import ConflictError, CoreError, FormatError, GraphtuiError
from graphtui.formats import dtypes, progress
from graphtui.formats.bundle import Extents

# Ops TensorFlow turns into constants (plus the legacy ``Variable``, which TF 1.x froze too).
VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp"})
# convert_to_constants._Intermediate: the variable's dtype flows through these.
_INTERMEDIATE = frozenset({"Enter", "Exit", "Identity", "NextIteration", "Switch", "_SwitchN"})
_FUNCTION_CALLERS = frozenset(
    {"If", "StatelessIf", "Case", "PartitionedCall", "StatefulPartitionedCall", "While",
     "StatelessWhile"}
)  # fmt: skip
# A forward pass fed from these cannot run without the input pipeline's runners.
_PIPELINE = re.compile(
    r"^(\w*Queue(V2)?|Queue\w+|\w*Reader(V2)?|Reader\w+|Iterator(V2|GetNext\w*|FromStringHandle\w*)?"
    r"|OneShotIterator|MakeIterator|AnonymousIterator\w*|IteratorGetNext\w*)$"
)
# Ops that take a variable by reference (ref dtype) or handle in order to write it.
_WRITERS = re.compile(
    r"^(Assign\w*|Scatter\w+|ResourceScatter\w+|(Resource)?(Sparse)?Apply\w+|IsVariableInitialized"
    r"|VarIsInitializedOp|CountUpTo|Ref\w+|DestroyResourceOp|DestroyTemporaryVariable)$"
)
_TABLES = re.compile(r"(HashTable|LookupTable|DenseHashTable)\w*$")
_INPUT_OPS = frozenset({"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})
MAX_GRAPH_BYTES = (1 << 31) - 1  # protobuf refuses to parse a larger message

StepCallback = Callable[[int, int, str], None]  # (done, total, what) after each variable


@dataclass(frozen=True)
class FreezeRequest:
    """What to freeze. ``source``: a ``.meta`` (with its checkpoint), a checkpoint prefix, a
    training directory or a SavedModel directory (``tag_set`` / ``signature`` pick the graph
    and its default outputs). ``graph`` + ``checkpoint`` give an already-read MetaGraphDef and
    its checkpoint prefix instead (the app's workspace)."""

    source: str
    outputs: tuple[str, ...] = ()
    out: str | None = None
    as_text: bool = False
    keep_devices: bool = False
    meta: str | None = None
    tag_set: str | None = None
    signature: str | None = None
    graph: Any = None
    checkpoint: str | None = None
    checkpoint_keys: Any = None  # variable node -> checkpoint key (a TF2 SavedModel's links)


@dataclass(frozen=True)
class FrozenVariable:
    """One variable node that becomes a Const: its value is ``key`` (``extents`` of it for a
    partition) from the checkpoint."""

    node: str
    op: str
    key: str
    extents: Extents | None
    dtype: str
    shape: tuple[int, ...]
    nbytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "op": self.op,
            "checkpoint_key": self.key,
            "slice": None if self.extents is None else [list(e) for e in self.extents],
            "dtype": self.dtype,
            "shape": list(self.shape),
            "bytes": self.nbytes,
        }


@dataclass
class FreezePlan:
    """The frozen graph without its constant values, and everything a preview shows."""

    request: FreezeRequest
    outputs: list[str]
    nodes_before: int
    nodes_after: int
    variables: list[FrozenVariable]
    const_bytes: int
    inputs: list[str]  # Placeholders the frozen graph is fed through
    unresolved: list[str]  # what stays stateful in the frozen graph (one line each)
    problems: list[str]  # why it would be refused; apply writes nothing when there are any
    functions_kept: list[str]
    functions_dropped: int
    checkpoint: str | None
    graph_def: Any = field(repr=False, default=None)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs,
            "nodes_before": self.nodes_before,
            "nodes_after": self.nodes_after,
            "variables": [v.to_json() for v in self.variables],
            "const_bytes": self.const_bytes,
            "inputs": self.inputs,
            "unresolved": self.unresolved,
            "problems": self.problems,
            "functions_kept": self.functions_kept,
            "functions_dropped": self.functions_dropped,
            "checkpoint": self.checkpoint,
        }


@dataclass
class FreezeResult:
    path: str
    nodes: int
    variables: int
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "nodes": self.nodes,
            "variables": self.variables,
            "bytes": self.bytes,
            "verified": True,
        }


# -- loading the source ----------------------------------------------------------------------------


@dataclass
class _Loaded:
    meta_graph: Any
    prefix: str | None
    default_outputs: list[str]
    where: str
    keys: dict[str, str] = field(default_factory=dict)  # variable node -> checkpoint key


def _load(request: FreezeRequest) -> _Loaded:
    if request.graph is not None:
        return _Loaded(
            request.graph,
            request.checkpoint,
            [],
            request.source,
            dict(request.checkpoint_keys or {}),
        )
    from graphtui.core.locate import locate

    src = request.source
    if locate(src).kind == "saved_model":
        return _load_saved_model(request)
    if request.tag_set or request.signature:
        raise CoreError(f"{src}: --tag-set and --signature need a SavedModel directory")
    from graphtui.core.sources import open_source

    source = open_source(src, request.meta)
    if source.meta_graph is None:
        raise CoreError(
            f"{src}: no meta graph to freeze (expected {src}.meta beside the checkpoint, or --meta)"
        )
    return _Loaded(source.meta_graph, source.prefix, [], source.meta_path or src)


def _load_saved_model(request: FreezeRequest) -> _Loaded:
    from graphtui.core.savedmodel import open_saved_model

    with open_saved_model(request.source) as model:
        info = model.meta_graph(request.tag_set)
        prefix = model.variables_prefix if model.has_variables else None
        signatures = [s for s in info.signatures if not s.is_init_op]
        if request.signature is not None:
            chosen = [info.signature(request.signature)]
        elif request.outputs:
            chosen = []
        elif any(s.key == "serving_default" for s in signatures):
            chosen = [info.signature("serving_default")]
        elif len(signatures) == 1:
            chosen = signatures
        else:
            known = ", ".join(s.key for s in signatures) or "none"
            raise CoreError(
                f"{model.path}: say which signature to freeze with --signature (has: {known}), "
                "or give --outputs"
            )
        outputs: list[str] = []
        for sig in chosen:
            for spec in sig.outputs:
                names = [spec.name] if spec.encoding == "name" else list(spec.components.values())
                outputs.extend(n for n in names if n)
        return _Loaded(info.meta_graph, prefix, outputs, model.path, _object_links(model, info))


def _object_links(model: Any, info: Any) -> dict[str, str]:
    """A TF2 SavedModel's graph variables -> their checkpoint keys, joined through the object
    graph (SavedObjectGraph and the checkpoint's object graph share node ids); empty for TF1."""
    from graphtui.core.ckpt_write import OBJECT_GRAPH_KEY
    from graphtui.core.objects import load_object_graph

    if not model.has_variables:
        return {}
    reader = model.open_variables()
    if not reader.has_tensor(OBJECT_GRAPH_KEY):
        return {}
    objects = load_object_graph(reader)
    links: dict[str, str] = {}
    for saved in info.saved_objects():
        if saved.kind != "variable" or not saved.variable_name or saved.node_id >= len(objects):
            continue
        attr = objects.nodes[saved.node_id].value_attribute
        if attr is not None:
            links[saved.variable_name] = attr.checkpoint_key
    return links


# -- planning -------------------------------------------------------------------------------------


def _node_names(outputs: Iterable[str]) -> list[str]:
    """Output node names from node or tensor names (``a``, ``a:0``, ``^a``), in order, once."""
    out: list[str] = []
    for text in outputs:
        for part in text.split(","):
            part = part.strip()
            if part:
                name = parse_input(part).node
                if name not in out:
                    out.append(name)
    return out


def _input_node(text: str) -> str:
    """The node of an input string (``a``, ``a:1``, ``^a``), without building an InputRef."""
    return (text[1:] if text.startswith("^") else text).split(":", 1)[0]


def _reachable(index: GraphIndex, targets: list[str]) -> set[str]:
    """``extract_sub_graph``'s walk: inputs (data and control) and ``_class`` colocation."""
    keep: set[str] = set()
    todo = list(targets)
    nodes = index.graph_def.node
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        if name not in index:
            continue
        node = nodes[index.index_of(name)]
        for text in node.input:
            todo.append((text[1:] if text.startswith("^") else text).split(":", 1)[0])
        if "_class" in node.attr:
            for item in node.attr["_class"].list.s:
                text = item.decode("utf-8", "replace")
                todo.append(text[5:] if text.startswith("loc:@") else text)
    return keep


def _needs_pipeline(index: GraphIndex, targets: list[str], kept_ops: Iterable[str]) -> list[str]:
    """Queue / reader / iterator nodes the outputs read without a PlaceholderWithDefault in
    between (one that can be fed instead); colocation does not count. ``kept_ops``: the ops
    of the nodes kept (the walk is skipped when none is a pipeline op)."""
    if not any(_PIPELINE.match(op) for op in set(kept_ops)):
        return []
    seen: set[str] = set()
    found: list[str] = []
    todo = list(targets)
    while todo:
        name = todo.pop()
        if name in seen or name not in index:
            continue
        seen.add(name)
        node = index.node(name)
        if _PIPELINE.match(node.op):
            found.append(f"{name} ({node.op})")
        if node.op == "PlaceholderWithDefault":
            continue
        todo.extend(_input_node(text) for text in node.input)
    return sorted(found)


def _spec_extents(spec: str) -> tuple[list[int], Extents] | None:
    from graphtui.core.restore import _spec_extents as parse

    return parse(spec)


@dataclass
class _Var:
    node: str
    key: str | None
    extents: Extents | None
    full_shape: list[int] | None  # what the checkpoint entry must hold
    dtype: dtypes.DType | None


def _variable_sources(
    index: GraphIndex, names: list[str], links: dict[str, str] | None = None
) -> dict[str, _Var]:
    """Checkpoint key and slice of each variable node, by VariableTable's rule (the saver's
    key, else the partition's full name, else the node name) without building the whole table
    (its roles and uses cost seconds on a 50,000-node graph)."""
    from graphtui.core.collections import VARIABLE_COLLECTIONS, CollectionTable
    from graphtui.core.graph import tensor_node
    from graphtui.core.variables import saver_info

    keys: dict[str, str] = {}
    specs: dict[str, str] = {}
    slices: dict[str, Any] = {}
    if index.has_meta_graph:
        for entry in saver.entries if (saver := saver_info(index)) else ():
            if entry.variable is not None:
                keys.setdefault(entry.variable, entry.key)
                specs.setdefault(entry.variable, entry.slice_spec)
        collections = CollectionTable.of(index)
        for coll_key in VARIABLE_COLLECTIONS:
            coll = collections.get(coll_key)
            for item in coll.items if coll else ():
                if hasattr(item, "save_slice_info_def") and item.HasField("save_slice_info_def"):
                    slices.setdefault(tensor_node(item.variable_name), item.save_slice_info_def)
    out: dict[str, _Var] = {}
    for name in names:
        attrs = index.raw_attrs(name)
        try:
            dt: dtypes.DType | None = dtypes.from_enum(attrs["dtype"].type)
        except (ValueError, KeyError):
            dt = None
        shape: list[int] | None = None
        if "shape" in attrs and not attrs["shape"].shape.unknown_rank:
            shape = [int(d.size) for d in attrs["shape"].shape.dim]
            if any(d < 0 for d in shape):
                shape = None
        extents: Extents | None = None
        full = shape
        part = slices.get(name)
        key = (
            (links or {}).get(name)
            or keys.get(name)
            or (str(part.full_name) if part is not None else name)
        )
        if part is not None:
            extents = tuple(
                (int(o), int(n)) for o, n in zip(part.var_offset, part.var_shape, strict=True)
            )
            full = [int(d) for d in part.full_shape]
        elif specs.get(name):
            parsed = _spec_extents(specs[name])
            if parsed is not None:
                full, extents = parsed
        out[name] = _Var(name, key, extents, full, dt)
    return out


def _check_variables(
    variables: dict[str, _Var], reader: CheckpointReader | None, where: str
) -> tuple[list[FrozenVariable], list[str]]:
    frozen: list[FrozenVariable] = []
    problems: list[str] = []
    for var in variables.values():
        if var.dtype is None:
            problems.append(f"variable {var.node} has no dtype attr")
            continue
        if reader is None:
            problems.append(f"variable {var.node} needs a value but there is no checkpoint")
            continue
        if var.key is None or not reader.has_tensor(var.key):
            problems.append(f"variable {var.node} is missing from the checkpoint {where}")
            continue
        info = reader.tensor_info(var.key)
        if info.dtype.name != var.dtype.name:
            problems.append(
                f"variable {var.node} is {var.dtype.name} but checkpoint tensor {var.key} is "
                f"{info.dtype.name}"
            )
            continue
        if var.full_shape is not None and list(info.shape) != list(var.full_shape):
            problems.append(
                f"variable {var.node} has shape {var.full_shape} but checkpoint tensor {var.key} "
                f"has {list(info.shape)}"
            )
            continue
        if var.extents is not None:
            ok = len(var.extents) == len(info.shape) and all(
                s >= 0 and (n == -1 or s + n <= d)
                for (s, n), d in zip(var.extents, info.shape, strict=False)
            )
            if not ok:
                problems.append(
                    f"partition {var.node} {list(var.extents)} lies outside checkpoint tensor "
                    f"{var.key} of shape {list(info.shape)}"
                )
                continue
            shape = tuple(
                d - s if n == -1 else n for (s, n), d in zip(var.extents, info.shape, strict=True)
            )
        else:
            shape = tuple(info.shape)
        if reader.partitioned(var.key):
            try:
                uncovered = reader.uncovered(var.key, var.extents or ((0, -1),) * len(info.shape))
            except FormatError as exc:
                uncovered = exc
            if uncovered is not None:
                problems.append(f"variable {var.node}: {uncovered.detail}")
                continue
        nbytes = math.prod(shape) * info.dtype.itemsize if info.dtype.is_fixed_size else info.nbytes
        frozen.append(
            FrozenVariable(var.node, "", var.key, var.extents, var.dtype.name, shape, nbytes)
        )
    return frozen, problems


# Function-calling ops: (index of the first input passed to the functions, attr typing those
# inputs, attrs naming the functions), as convert_to_constants' _FunctionCaller subclasses.
_CALLERS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "If": (1, "Tin", ("then_branch", "else_branch")),
    "StatelessIf": (1, "Tin", ("then_branch", "else_branch")),
    "Case": (1, "Tin", ("branches",)),
    "PartitionedCall": (0, "Tin", ("f",)),
    "StatefulPartitionedCall": (0, "Tin", ("f",)),
    "While": (0, "T", ("body", "cond")),
    "StatelessWhile": (0, "T", ("body", "cond")),
}


class _Body:
    """The nodes of the main graph or of one function copy, with the data edges between them
    (and, in a function, from its arguments), resolved as convert_to_constants resolves them."""

    def __init__(self, nodes: dict[str, Any], function: Any = None) -> None:
        self.nodes = nodes
        self.function = function
        self.where = "" if function is None else f" in function {function.signature.name}"
        self.ops = {name: node.op for name, node in nodes.items()}
        self.originals: dict[str, Any] = {}
        self.consumers: dict[str, list[tuple[str, int]]] = {}
        self.arg_consumers: dict[int, list[tuple[str, int]]] = {}
        args = (
            {}
            if function is None
            else {a.name: i for i, a in enumerate(function.signature.input_arg)}
        )
        for name, node in nodes.items():
            for slot, text in enumerate(node.input):
                if text.startswith("^"):
                    continue
                parts = text.split(":")
                src = parts[0]
                port = int(parts[-1]) if len(parts) > 1 and parts[-1].isdigit() else 0
                if function is None or port != 0 or src in nodes:
                    if src in nodes:
                        self.consumers.setdefault(src, []).append((name, slot))
                elif src in args:
                    self.arg_consumers.setdefault(args[src], []).append((name, slot))

    def original(self, name: str) -> Any:
        node = self.originals.get(name)
        if node is None:
            node = self.originals[name] = pb.NodeDef()
            node.CopyFrom(self.nodes[name])
        return node


class _Converter:
    """convert_to_constants' edge propagation over the kept nodes of the output GraphDef and,
    through function-calling ops, into copies of the functions they call (renamed
    ``NAME_frozen_N`` as TF renames them; the originals stay for any other caller)."""

    def __init__(self, graph_def: Any, kept: dict[str, Any], library: dict[str, Any]) -> None:
        self.graph_def = graph_def
        self.main = _Body(kept)
        self.nodes = kept
        self.library = library  # the source's functions, by name
        self.copies: dict[str, tuple[str, _Body]] = {}  # source name -> (new name, body)
        self.args_done: set[tuple[str, int]] = set()
        self.problems: list[str] = []

    def freeze(self, name: str, dtype: int, shape: tuple[int, ...]) -> None:
        node = self.nodes[name]
        self.main.original(name)
        node.Clear()
        node.name = name
        node.op = "Const"
        node.attr["dtype"].type = dtype
        node.attr["value"].tensor.dtype = dtype
        self._spread(self.main, self.main.consumers.get(name, ()), name, dtype, shape)

    def _spread(
        self,
        body: _Body,
        edges: Iterable[tuple[str, int]],
        var: str,
        dtype: int,
        shape: tuple[int, ...],
    ) -> None:
        todo = [(dest, slot) for dest, slot in edges]
        seen: set[tuple[str, int]] = set()
        while todo:
            dest, slot = todo.pop()
            if (dest, slot) in seen:
                continue
            seen.add((dest, slot))
            if self._convert(body, dest, slot, var, dtype, shape):
                todo.extend(body.consumers.get(dest, ()))

    def _convert(
        self, body: _Body, name: str, slot: int, var: str, dtype: int, shape: tuple[int, ...]
    ) -> bool:
        """Convert ``name`` reading the frozen variable at input ``slot``; True to go on to its
        consumers."""
        op = body.ops[name]
        node = body.nodes[name]
        where = body.where
        if op in _INTERMEDIATE:
            body.original(name)
            attr = node.attr["T"]
            if attr.HasField("list") and len(attr.list.type) > slot:
                attr.list.type[slot] = dtype
            elif attr.HasField("type") and slot == 0:
                attr.type = dtype
            else:
                self.problems.append(
                    f"{name}{where} ({op}) reads frozen variable {var} at input {slot}, which its "
                    "T attr does not type"
                )
                return False
            if "_output_shapes" in node.attr:
                del node.attr["_output_shapes"]
            return True
        if op == "ReadVariableOp":
            orig = body.original(name)
            node.Clear()
            node.name = name
            node.op = "Identity"
            node.input.append(orig.input[0])
            node.attr["T"].CopyFrom(orig.attr["dtype"])
            if "_class" in orig.attr:
                node.attr["_class"].CopyFrom(orig.attr["_class"])
            if body.function is not None:  # in a function body, "read:value:0" -> ":output:0"
                for dest, dest_slot in body.consumers.get(name, ()):
                    parts = body.nodes[dest].input[dest_slot].split(":")
                    if len(parts) > 1 and parts[1] == "value":
                        parts[1] = "output"
                        body.nodes[dest].input[dest_slot] = ":".join(parts)
        elif op == "ResourceGather" and body.function is None:
            self._gather(name, var)
        elif op == "ResourceGatherNd":
            orig = body.original(name)
            node.Clear()
            node.name = name
            node.op = "GatherNd"
            node.input.extend(orig.input[:2])
            node.attr["Tparams"].CopyFrom(orig.attr["dtype"])
            node.attr["Tindices"].CopyFrom(orig.attr["Tindices"])
            if "_class" in orig.attr:
                node.attr["_class"].CopyFrom(orig.attr["_class"])
        elif op in _CALLERS:
            self._call(body, name, slot, var, dtype, shape)
        elif op == "ResourceGather" or _WRITERS.match(op):
            self.problems.append(
                f"{name}{where} ({op}) writes, checks or gathers from variable {var}, and the "
                "outputs need it: a frozen graph cannot run it"
            )
        return False

    def _call(
        self, body: _Body, name: str, slot: int, var: str, dtype: int, shape: tuple[int, ...]
    ) -> None:
        op = body.ops[name]
        first, type_attr, func_attrs = _CALLERS[op]
        if slot < first:
            return
        index = slot - first
        node = body.nodes[name]
        for attr_name in func_attrs:
            attr = node.attr[attr_name]
            funcs = [attr.func] if attr.HasField("func") else list(attr.list.func)
            for func in funcs:
                if func.name not in self.library and func.name not in {
                    n for n, _ in self.copies.values()
                }:
                    self.problems.append(
                        f"{name}{body.where} ({op}) calls {func.name!r}, which the library lacks"
                    )
                    continue
                func.name = self._function_arg(func.name, index, var, dtype, shape)
        attr = node.attr[type_attr]
        if attr.HasField("list") and len(attr.list.type) > index:
            attr.list.type[index] = dtype
        elif attr.HasField("type") and index == 0:
            attr.type = dtype
        if op in ("While", "StatelessWhile"):
            shapes = node.attr["output_shapes"].list.shape
            if len(shapes) > index:
                shapes[index].Clear()
                for d in shape:
                    shapes[index].dim.add().size = int(d)
            body_name = node.attr["body"].func.name
            copy = self._copy(body_name)
            if len(copy.function.signature.output_arg) > index:
                copy.function.signature.output_arg[index].type = dtype

    def _source_name(self, fname: str) -> str:
        for src, (new, _) in self.copies.items():
            if new == fname:
                return src
        return fname

    def _copy(self, fname: str) -> _Body:
        """The converted copy of function ``fname`` (made on first use)."""
        src = self._source_name(fname)
        got = self.copies.get(src)
        if got is None:
            copy = pb.FunctionDef()
            copy.CopyFrom(self.library[src])
            base, _, number = src.rpartition("_")
            stem = base if base and number.isdigit() else src
            new = f"{stem}_frozen_{number}" if number.isdigit() else f"{stem}_frozen"
            taken = set(self.library) | {n for n, _ in self.copies.values()}
            n = 2
            candidate = new
            while candidate in taken:
                candidate = f"{new}_{n}"
                n += 1
            copy.signature.name = candidate
            got = self.copies[src] = (candidate, _Body({nd.name: nd for nd in copy.node_def}, copy))
        return got[1]

    def _function_arg(
        self, fname: str, index: int, var: str, dtype: int, shape: tuple[int, ...]
    ) -> str:
        """Freeze argument ``index`` of function ``fname``; the converted copy's name."""
        body = self._copy(fname)
        function = body.function
        key = (function.signature.name, index)
        if key in self.args_done:
            return str(function.signature.name)
        self.args_done.add(key)
        if len(function.signature.input_arg) <= index:
            self.problems.append(f"function {function.signature.name} has no argument {index}")
            return str(function.signature.name)
        function.signature.input_arg[index].type = dtype
        if "_input_shapes" in function.attr:
            shapes = function.attr["_input_shapes"].list.shape
            if len(shapes) > index:
                shapes[index].unknown_rank = True
                del shapes[index].dim[:]
        if index in function.arg_attr:
            arg_attrs = function.arg_attr[index].attr
            if "_output_shapes" in arg_attrs and len(arg_attrs["_output_shapes"].list.shape):
                first_shape = arg_attrs["_output_shapes"].list.shape[0]
                first_shape.unknown_rank = True
                del first_shape.dim[:]
        self._spread(body, body.arg_consumers.get(index, ()), var, dtype, shape)
        return str(function.signature.name)

    def functions(self) -> dict[str, Any]:
        """Every function a caller may now name: the source's and the converted copies."""
        out = dict(self.library)
        for new, body in self.copies.values():
            out[new] = body.function
        return out

    def _gather(self, name: str, var: str) -> None:
        orig = self.main.original(name)
        if orig.attr["batch_dims"].i != 0:
            self.problems.append(
                f"{name} (ResourceGather) has batch_dims {orig.attr['batch_dims'].i}; freezing "
                "needs 0"
            )
            return
        import numpy as np

        from graphtui.formats.tensor_proto import make_tensor_proto

        axis_name = name + "/axis"
        axis = self.nodes.get(axis_name)
        if axis is None:
            axis = self.graph_def.node.add()
            self.nodes[axis_name] = axis
            self.main.ops[axis_name] = "Const"
        axis.name = axis_name
        axis.op = "Const"
        tindices = orig.attr["Tindices"]
        axis.attr["dtype"].CopyFrom(tindices)
        make_tensor_proto(np.array(0), dtypes.from_enum(tindices.type), axis.attr["value"].tensor)
        node = self.nodes[name]
        node.Clear()
        node.name = name
        node.op = "GatherV2"
        node.input.extend([orig.input[0], orig.input[1], axis_name])
        node.attr["Tparams"].CopyFrom(orig.attr["dtype"])
        node.attr["Tindices"].CopyFrom(tindices)
        node.attr["Taxis"].CopyFrom(tindices)
        if "_class" in orig.attr:
            node.attr["_class"].CopyFrom(orig.attr["_class"])


def _called_functions(
    library: dict[str, Any], gradients: dict[str, str], nodes: Iterable[Any]
) -> list[str]:
    """Functions of ``library`` the nodes call (as an op or through a func attr), transitively,
    plus the gradient functions registered for them."""
    if not library:
        return []
    kept: set[str] = set()
    todo: list[str] = []

    def visit(node: Any) -> None:
        todo.extend(node_calls(node, library))

    for node in nodes:
        visit(node)
    while todo:
        fname = todo.pop()
        if fname in kept or fname not in library:
            continue
        kept.add(fname)
        if fname in gradients:
            todo.append(gradients[fname])
        for node in library[fname].node_def:
            visit(node)
    return sorted(kept)


def plan_freeze(request: FreezeRequest) -> FreezePlan:
    """Everything about the frozen graph except the constant values; nothing is written.

    Problems that make the result unusable are listed in ``problems`` (apply refuses); errors
    that make even a preview impossible (no graph, unreadable files) raise.
    """
    loaded = _load(request)
    meta_graph = loaded.meta_graph
    index = GraphIndex(meta_graph, path=loaded.where)
    outputs = _node_names(request.outputs) or _node_names(loaded.default_outputs)
    problems: list[str] = []
    if not outputs:
        raise CoreError(f"{loaded.where}: say which outputs to freeze (--outputs NAME[,NAME...])")
    for name in outputs:
        if name not in index:
            problems.append(f"output {name!r} is not a node of the graph")
    present = [n for n in outputs if n in index]
    keep = _reachable(index, present)
    missing_inputs = sorted(n for n in keep if n not in index)
    problems.extend(f"a kept node reads {n!r}, which is not in the graph" for n in missing_inputs)

    src_graph = index.graph_def
    out = pb.GraphDef()
    # graph order, the first node of a duplicated name; copied by one C-level extend
    positions = sorted(index.index_of(n) for n in keep if n in index)
    src_nodes = src_graph.node
    out.node.extend(src_nodes[i] for i in positions)
    out.versions.CopyFrom(src_graph.versions)
    kept_nodes: dict[str, Any] = {}
    kept_ops: dict[str, str] = {}
    clear_devices = not request.keep_devices
    for node in out.node:  # one pass for names, ops and devices
        kept_nodes[node.name] = node
        kept_ops[node.name] = node.op
        if clear_devices and node.device:
            node.device = ""
    pipeline = _needs_pipeline(index, present, kept_ops.values())
    if pipeline:
        problems.append(
            "the outputs need an input pipeline (feed a Placeholder instead): "
            + ", ".join(pipeline)
        )
    var_nodes = [n for n, op in kept_ops.items() if op in VARIABLE_OPS]
    var_ops = {n: kept_ops[n] for n in var_nodes}

    reader: CheckpointReader | None = None
    try:
        if var_nodes and loaded.prefix is not None:
            reader = CheckpointReader(loaded.prefix)
        sources = _variable_sources(index, var_nodes, loaded.keys)
        frozen, var_problems = _check_variables(
            sources, reader, reader.prefix if reader else "(none)"
        )
    finally:
        if reader is not None:
            reader.close()
    problems.extend(var_problems)
    frozen = [
        FrozenVariable(v.node, var_ops[v.node], v.key, v.extents, v.dtype, v.shape, v.nbytes)
        for v in frozen
    ]

    library = {f.signature.name: f for f in src_graph.library.function}
    converter = _Converter(out, kept_nodes, library)
    for var in frozen:
        converter.freeze(var.node, dtypes.from_name(var.dtype).enum, var.shape)
    problems.extend(converter.problems)

    available = converter.functions()
    gradients = {g.function_name: g.gradient_func for g in src_graph.library.gradient}
    functions = _called_functions(available, gradients, out.node)
    wanted = set(functions)
    copies = {src: new for src, (new, _) in converter.copies.items()}
    for fdef in src_graph.library.function:  # source order, each copy after its original
        name = fdef.signature.name
        if name in wanted:
            out.library.function.add().CopyFrom(fdef)
        if name in copies and copies[name] in wanted:
            out.library.function.add().CopyFrom(available[copies[name]])
    for grad in src_graph.library.gradient:
        if grad.function_name in wanted:
            out.library.gradient.add().CopyFrom(grad)
    if clear_devices:  # the nodes' own were cleared above (the converter adds none)
        for fdef in out.library.function:
            for node in fdef.node_def:
                node.device = ""

    const_bytes = sum(v.nbytes for v in frozen)
    if const_bytes + out.ByteSize() > MAX_GRAPH_BYTES:
        problems.append(
            f"the frozen graph would hold {const_bytes} bytes of constants: a GraphDef cannot "
            "exceed 2 GiB"
        )
    # ops as in the source (the converter's new nodes are Consts of no interest here)
    inputs = [n for n, op in kept_ops.items() if op in _INPUT_OPS]
    unresolved = [
        f"{n} ({op}): needs its initializer run before use"
        for n, op in kept_ops.items()
        if _TABLES.search(op)
    ]
    done = {v.node for v in frozen}
    unresolved += [f"{n} ({var_ops[n]}): still a variable" for n in var_nodes if n not in done]
    return FreezePlan(
        request=request,
        outputs=outputs,
        nodes_before=len(index),
        nodes_after=len(out.node),
        variables=frozen,
        const_bytes=const_bytes,
        inputs=inputs,
        unresolved=unresolved,
        problems=problems,
        functions_kept=functions,
        functions_dropped=len(library) - len(wanted & set(library)),
        checkpoint=loaded.prefix,
        graph_def=out,
    )


# -- applying -------------------------------------------------------------------------------------


def fill_constants(plan: FreezePlan, on_step: StepCallback | None = None) -> Any:
    """The plan's GraphDef with every frozen variable's value read from the checkpoint (a copy;
    the plan stays as it was). A whole tensor stored as TF would put it in ``tensor_content``
    is copied as its checksum-verified bytes, without decoding."""
    with _filled(plan, on_step, stream=False) as (graph, _):
        return graph


@contextlib.contextmanager
def _filled(
    plan: FreezePlan, on_step: StepCallback | None, *, stream: bool
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A copy of the plan's GraphDef with the constant values, while the checkpoint is open.
    With ``stream``, a whole tensor stored as TF would put it in ``tensor_content`` is left out
    of its node and given as a :class:`StreamedValue` (its checksum-verified bytes in the
    checkpoint's map, for :func:`write_graph_def`); the rest are filled in."""
    import numpy as np

    from graphtui.formats.graph_stream import StreamedValue
    from graphtui.formats.tensor_proto import (
        make_tensor_proto,
        make_tensor_proto_raw,
        uses_tensor_content,
    )

    graph = pb.GraphDef()
    graph.CopyFrom(plan.graph_def)
    streamed: dict[str, StreamedValue] = {}
    if not plan.variables:
        yield graph, streamed
        return
    if plan.checkpoint is None:
        raise CoreError("the frozen variables need a checkpoint and there is none")
    by_name = {node.name: node for node in graph.node}
    total = len(plan.variables)
    cache: dict[str, np.ndarray] = {}
    last_use = {v.key: i for i, v in enumerate(plan.variables)}
    progress.expect(plan.const_bytes)
    header = pb.TensorProto()
    headers: dict[tuple[int, tuple[int, ...]], bytes] = {}  # (dtype, shape) -> serialised
    with CheckpointReader(plan.checkpoint) as reader:
        bundle = reader.bundle
        for i, var in enumerate(plan.variables):
            dt = dtypes.from_name(var.dtype)
            node = by_name[var.node]
            proto = node.attr["value"].tensor
            entry = (
                bundle.entry(var.key)
                if bundle is not None and bundle.little_endian and var.extents is None
                else None
            )
            if (
                entry is not None
                and not entry.is_sliced
                and uses_tensor_content(dt, math.prod(var.shape))
            ):
                raw = bundle.raw_bytes(entry)  # type: ignore[union-attr]
                if stream:
                    head = headers.get((dt.enum, var.shape))
                    if head is None:
                        make_tensor_proto_raw(b"", dt, var.shape, header)
                        head = headers[dt.enum, var.shape] = header.SerializeToString(
                            deterministic=True
                        )
                    del node.attr["value"]
                    streamed[var.node] = StreamedValue(head, raw)
                else:
                    make_tensor_proto_raw(raw, dt, var.shape, proto)
                    progress.advance(var.nbytes)
            elif var.extents is not None and reader.partitioned(var.key):
                # the slices that hold the partition, as TF's RestoreV2 reads it: others may
                # leave holes elsewhere in the tensor
                make_tensor_proto(reader.read_slice(var.key, var.extents), dt, proto)
                progress.advance(var.nbytes)
            else:
                value = cache.get(var.key)
                if value is None:
                    value = reader.read(var.key)
                    if last_use[var.key] > i:
                        cache[var.key] = value
                if var.extents is not None:
                    value = value[
                        tuple(slice(s, None if n == -1 else s + n) for s, n in var.extents)
                    ]
                make_tensor_proto(value, dt, proto)
                progress.advance(var.nbytes)
            if last_use[var.key] == i:
                cache.pop(var.key, None)
            if on_step is not None:
                on_step(i + 1, total, var.node)
        yield graph, streamed


def apply_freeze(plan: FreezePlan, on_step: StepCallback | None = None) -> FreezeResult:
    """Write the frozen graph to ``plan.request.out`` (refused when the plan has problems or the
    file exists), atomically, and read it back before reporting success.

    A binary graph is streamed: the constants' bytes go from the checkpoint's map to the file
    without being copied into the message (see :mod:`graphtui.formats.graph_stream`)."""
    from graphtui.formats.atomic import atomic_writer
    from graphtui.formats.graph_stream import write_graph_def
    from graphtui.formats.metagraph_io import serialize_message

    if plan.problems:
        raise ConflictError(
            "refused: the graph cannot be frozen, nothing was written", plan.problems
        )
    out = plan.request.out
    if not out:
        raise CoreError("freeze needs an output file (--out frozen.pb)")
    out = os.path.abspath(out)
    if os.path.lexists(out):
        raise ConflictError("refused: the output file exists (choose a new --out)", [out])
    directory = os.path.dirname(out)
    if not os.path.isdir(directory):
        raise FormatError(directory, "no such directory for the output")
    too_large = ConflictError("refused: the frozen graph is larger than 2 GiB", [out])
    with _filled(plan, on_step, stream=not plan.request.as_text) as (graph, streamed):
        names = [n.name for n in graph.node]
        if plan.request.as_text:
            data = serialize_message(graph, as_text=True)
            if len(data) > MAX_GRAPH_BYTES:
                raise too_large
        elif graph.ByteSize() + sum(len(v.content) for v in streamed.values()) > MAX_GRAPH_BYTES:
            raise too_large
        with atomic_writer(out, "wb") as fh:
            if plan.request.as_text:
                fh.write(data)
                size = len(data)
                del data
            else:
                size = write_graph_def(fh, graph, streamed, progress.advance)
        del graph, streamed
    _verify_written(out, names)
    return FreezeResult(out, len(names), len(plan.variables), size)


def _verify_written(out: str, names: list[str]) -> None:
    """Parse the written file whole (as TF will) and check it holds the nodes meant; on any
    failure the file is removed."""
    from graphtui.formats.metagraph_io import parse_message

    try:
        with open(out, "rb") as fh:
            back = parse_message(fh.read(), "GraphDef", out)
        if [n.name for n in back.node] != names:
            raise FormatError(out, "the graph read back differs from what was written")
    except GraphtuiError as exc:
        os.unlink(out)
        raise FormatError(
            out, f"written output failed verification and was removed: {exc}"
        ) from None


def freeze(
    request: FreezeRequest, on_step: StepCallback | None = None
) -> tuple[FreezePlan, FreezeResult]:
    """``graphtui freeze``: plan, refuse on problems, write."""
    plan = plan_freeze(request)
    return plan, apply_freeze(plan, on_step)
