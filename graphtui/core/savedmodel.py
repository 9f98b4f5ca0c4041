"""SavedModel directories without TensorFlow: meta graphs by tag-set, signatures, functions,
the TF2 object graph, assets, and the variables checkpoint.

Layout read (TensorFlow's): ``saved_model.pb`` (or ``saved_model.pbtxt``; the binary file wins
when both exist, as in TensorFlow) holding a ``SavedModel`` message with one MetaGraphDef per
tag-set; ``variables/variables.index`` + ``.data-*`` (a V2 checkpoint; TF2 ones carry an object
graph); ``assets/`` (files named by AssetFileDefs); ``assets.extra/`` (not read by TensorFlow).

Usage::

    with open_saved_model("export/1") as sm:
        mg = sm.meta_graph("serve")
        for sig in mg.signatures: print(sig.key, [i.name for i in sig.inputs])
        sm.variables()            # TensorInfo of each variable tensor
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphtui._proto import pb
from graphtui.core.checkpoint import CheckpointReader, TensorInfo
from graphtui.core.graph import FunctionInfo, GraphIndex, dtype_name, shape_list
from graphtui.core.locate import (  # noqa: F401 (re-exported: where a SavedModel's files are)
    SAVED_MODEL_PB,
    SAVED_MODEL_PBTXT,
    VARIABLES_DIR,
    VARIABLES_NAME,
    find_saved_model_file,
    saved_model_of,
    variables_prefix,
)
from graphtui.errors import FormatError, GraphtuiError, MissingFileError, NotFoundError
from graphtui.formats import storage
from graphtui.formats.byte_source import read_file

if TYPE_CHECKING:
    from graphtui.core.objects import TreePaths
    from graphtui.core.savedmodel_functions import FunctionCatalog, FunctionListing

ASSETS_DIR = "assets"
ASSETS_EXTRA_DIR = "assets.extra"
FINGERPRINT_FILE = "fingerprint.pb"
ASSETS_COLLECTION = "saved_model_assets"  # TF1 builders store AssetFileDefs here
INIT_OP_SIGNATURE_KEY = "__saved_model_init_op"
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")

__all__ = [
    "AssetInfo",
    "MetaGraphInfo",
    "ObjectGraphSummary",
    "SavedModelInfo",
    "SavedObjectInfo",
    "Signature",
    "TensorSpec",
    "find_saved_model_file",
    "is_saved_model_dir",
    "open_saved_model",
    "variables_prefix",
]


def is_saved_model_dir(path: str | os.PathLike[str]) -> bool:
    raw = os.fspath(path)
    return storage.isdir(raw) and find_saved_model_file(raw) is not None


# -- signatures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a signature (a TensorInfo).

    ``encoding`` is ``name`` (a dense tensor, ``name`` is ``"node:0"``), ``coo_sparse``
    (``components`` maps ``values``/``indices``/``dense_shape`` to tensor names),
    ``composite_tensor`` (``components`` maps ``"0"``, ``"1"``, ... to component names,
    ``type_spec`` names the TypeSpec class) or ``none``. ``dtype`` is TensorFlow's name
    (``float32``; ``DT_INVALID`` when unset), ``dtype_enum`` the enum name saved_model_cli
    prints (``DT_FLOAT``); ``shape`` has -1 for unknown dims, None for unknown rank.
    """

    key: str
    name: str
    dtype: str
    dtype_enum: str
    shape: list[int] | None
    encoding: str = "name"
    components: dict[str, str] = field(default_factory=dict)
    type_spec: str = ""

    @property
    def shape_text(self) -> str:
        """The shape as saved_model_cli prints it: ``(-1, 3)``, ``()``, ``unknown_rank``."""
        if self.shape is None:
            return "unknown_rank"
        return "(" + ", ".join(str(d) for d in self.shape) + ")"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "name": self.name,
            "dtype": self.dtype,
            "shape": self.shape,
            "encoding": self.encoding,
        }
        if self.components:
            data["components"] = dict(self.components)
        if self.type_spec:
            data["type_spec"] = self.type_spec
        return data


def _dtype_names(enum: int) -> tuple[str, str]:
    try:
        enum_text = pb.DataType.Name(enum)
    except ValueError:
        enum_text = dtype_name(enum)  # saved_model_cli fails on it (KeyError)
    return ("DT_INVALID" if enum == 0 else dtype_name(enum)), enum_text


def tensor_spec(key: str, info: Any) -> TensorSpec:
    """A TensorSpec from a ``tensorflow.TensorInfo`` message."""
    dtype, dtype_enum = _dtype_names(info.dtype)
    encoding = info.WhichOneof("encoding") or "none"
    components: dict[str, str] = {}
    type_spec = ""
    if encoding == "coo_sparse":
        sparse = info.coo_sparse
        components = {
            "values": sparse.values_tensor_name,
            "indices": sparse.indices_tensor_name,
            "dense_shape": sparse.dense_shape_tensor_name,
        }
    elif encoding == "composite_tensor":
        composite = info.composite_tensor
        type_spec = composite.type_spec.type_spec_class_name or str(
            composite.type_spec.type_spec_class
        )
        components = {str(i): c.name for i, c in enumerate(composite.components)}
    return TensorSpec(
        key=key,
        name=info.name,
        dtype=dtype,
        dtype_enum=dtype_enum,
        shape=shape_list(info.tensor_shape),
        encoding=encoding,
        components=components,
        type_spec=type_spec,
    )


@dataclass(frozen=True)
class Signature:
    """A SignatureDef: inputs and outputs sorted by key, as saved_model_cli lists them."""

    key: str
    method_name: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    defaults: list[str] = field(default_factory=list)  # input keys with a default value
    # each default's value as text (``1.5``, ``[1, 2]``, ``b'x'``), by input key
    default_values: dict[str, str] = field(default_factory=dict)

    @property
    def is_init_op(self) -> bool:
        """The ``__saved_model_init_op`` pseudo-signature TF2 writes (not callable)."""
        return self.key == INIT_OP_SIGNATURE_KEY

    def default_lines(self) -> list[str]:
        """Each input with a default value as ``graphtui show`` and the app say it:
        ``inputs['y'] defaults to 1.5``."""
        return [f"inputs['{k}'] defaults to {self.default_values[k]}" for k in self.defaults]

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "method_name": self.method_name,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "defaults": list(self.defaults),
            "default_values": dict(self.default_values),
        }


_DEFAULT_ELEMENTS = 16  # elements of a default value shown


def _default_text(proto: Any) -> str:
    """A default input value (a TensorProto) as short text: a scalar as Python writes it, an
    array as a list (``...`` past the first elements)."""
    import numpy as np

    from graphtui.formats.tensor_proto import TensorProtoError, to_numpy

    try:
        value = to_numpy(proto)
    except TensorProtoError as exc:
        return f"<{exc}>"
    if value.ndim == 0:
        return repr(value.item())
    return np.array2string(value, separator=", ", threshold=_DEFAULT_ELEMENTS, edgeitems=3)


def signature(key: str, message: Any) -> Signature:
    defaults = sorted(message.defaults)
    return Signature(
        key=key,
        method_name=message.method_name,
        inputs=[tensor_spec(k, message.inputs[k]) for k in sorted(message.inputs)],
        outputs=[tensor_spec(k, message.outputs[k]) for k in sorted(message.outputs)],
        defaults=defaults,
        default_values={k: _default_text(message.defaults[k]) for k in defaults},
    )


# -- objects and assets -------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedObjectInfo:
    """One node of a SavedModel's SavedObjectGraph.

    ``kind`` is the ``SavedObject.kind`` field set (``user_object``, ``variable``, ``function``,
    ``bare_concrete_function``, ``asset``, ``constant``, ``resource``, ``captured_tensor``;
    ``""`` when none), ``detail`` a one-line description (the user object's identifier, a
    variable's ``dtype[shape] name``, a function's concrete functions, ...).
    """

    node_id: int
    paths: TreePaths = field(repr=False, compare=False)  # the path is built when asked for
    kind: str
    detail: str
    children: list[tuple[str, int]]
    variable_name: str = ""  # SavedVariable.name
    dtype: str = ""  # variables only
    shape: list[int] | None = None  # variables only
    concrete_functions: list[str] = field(default_factory=list)

    @property
    def path(self) -> str | None:
        """The node's path from the root (None when no child edge reaches it)."""
        return self.paths.path(self.node_id)

    def to_json(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "path": self.path,
            "kind": self.kind,
            "detail": self.detail,
            "children": [[node_id, name] for name, node_id in self.children],
        }


@dataclass(frozen=True)
class ObjectGraphSummary:
    """Counts over a SavedObjectGraph."""

    nodes: int
    kinds: dict[str, int]
    user_objects: dict[str, int]  # identifier -> count
    concrete_functions: int

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": self.nodes,
            "kinds": dict(self.kinds),
            "user_objects": dict(self.user_objects),
            "concrete_functions": self.concrete_functions,
        }


@dataclass(frozen=True)
class AssetInfo:
    """An asset file the meta graph feeds to ``tensor_name`` (``path`` under ``assets/``)."""

    filename: str
    tensor_name: str
    path: str
    exists: bool
    size: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "tensor_name": self.tensor_name,
            "path": self.path,
            "exists": self.exists,
            "size": self.size,
        }


def _saved_object(node_id: int, paths: TreePaths, obj: Any, assets: Sequence[Any]) -> Any:
    kind = obj.WhichOneof("kind") or ""
    children = [(c.local_name, c.node_id) for c in obj.children]
    detail = ""
    extra: dict[str, Any] = {}
    if kind == "user_object":
        detail = obj.user_object.identifier
    elif kind == "variable":
        var = obj.variable
        dtype, _ = _dtype_names(var.dtype)
        shape = shape_list(var.shape)
        dims = "?" if shape is None else ",".join(str(d) for d in shape)
        detail = f"{dtype}[{dims}] {var.name}" + ("" if var.trainable else " (not trainable)")
        extra = {"variable_name": var.name, "dtype": dtype, "shape": shape}
    elif kind == "function":
        names = list(obj.function.concrete_functions)
        detail = ", ".join(names)
        extra = {"concrete_functions": names}
    elif kind == "bare_concrete_function":
        name = obj.bare_concrete_function.concrete_function_name
        detail = name
        extra = {"concrete_functions": [name]}
    elif kind == "asset":
        index = obj.asset.asset_file_def_index
        detail = assets[index].filename if 0 <= index < len(assets) else f"asset #{index}"
    elif kind == "constant":
        detail = obj.constant.operation
    elif kind == "resource":
        detail = obj.resource.device
    elif kind == "captured_tensor":
        detail = obj.captured_tensor.name
    if obj.registered_name:
        detail = f"{detail} [{obj.registered_name}]" if detail else obj.registered_name
    return SavedObjectInfo(node_id, paths, kind, detail, children, **extra)


def _object_paths(nodes: Sequence[Any]) -> TreePaths:
    """Each node's path from the root, breadth-first over children (TensorFlow's naming)."""
    from graphtui.core.objects import breadth_first_paths

    return breadth_first_paths(
        len(nodes), lambda i: ((c.local_name, c.node_id) for c in nodes[i].children)
    )


# -- one meta graph ----------------------------------------------------------------------------


class MetaGraphInfo:
    """One MetaGraphDef of a SavedModel (one tag-set). Derived views are built on first use."""

    def __init__(self, model: SavedModelInfo, index: int, meta: Any) -> None:
        self.model = model
        self.index = index
        self.meta_graph = meta
        self.tags: tuple[str, ...] = tuple(meta.meta_info_def.tags)
        self._graph: GraphIndex | None = None
        self._signatures: list[Signature] | None = None

    def __repr__(self) -> str:
        return f"MetaGraphInfo({self.model.directory!r}, tags={list(self.tags)!r})"

    @property
    def tag_set(self) -> str:
        """The tags joined by ``,`` (how saved_model_cli's ``--tag_set`` takes them)."""
        return ",".join(self.tags)

    @property
    def tensorflow_version(self) -> str:
        return str(self.meta_graph.meta_info_def.tensorflow_version)

    @property
    def tensorflow_git_version(self) -> str:
        return str(self.meta_graph.meta_info_def.tensorflow_git_version)

    # -- signatures ------------------------------------------------------------------------------

    @property
    def signatures(self) -> list[Signature]:
        """Every SignatureDef, sorted by key (``__saved_model_init_op`` included)."""
        if self._signatures is None:
            defs = self.meta_graph.signature_def
            self._signatures = [signature(k, defs[k]) for k in sorted(defs)]
        return self._signatures

    def signature(self, key: str) -> Signature:
        for sig in self.signatures:
            if sig.key == key:
                return sig
        known = ", ".join(s.key for s in self.signatures) or "none"
        raise NotFoundError(
            f"{self.model.path}: no signature {key!r} in tag-set {self.tag_set!r} (has: {known})"
        )

    # -- graph and functions -----------------------------------------------------------------------

    @property
    def graph(self) -> GraphIndex:
        """The meta graph's nodes as a :class:`GraphIndex` (built once)."""
        if self._graph is None:
            self._graph = GraphIndex(self.meta_graph, path=self.model.path)
        return self._graph

    def functions(self) -> list[FunctionInfo]:
        """The function library, in natural order of name."""
        return self.graph.functions()

    def function_names(self) -> list[str]:
        return [f.signature.name for f in self.meta_graph.graph_def.library.function]

    def function_graph(self, fname: str) -> GraphIndex:
        """Function ``fname``'s body as a graph of its own (see
        :meth:`GraphIndex.function_graph`)."""
        return self.graph.function_graph(fname)

    def op_names(self) -> list[str]:
        """The ops the meta graph uses, sorted: graph nodes and the bodies of the functions they
        call (by op name or ``PartitionedCall`` ``f``), function names left out, as
        saved_model_cli reports them."""
        library = {f.signature.name: f for f in self.meta_graph.graph_def.library.function}
        used: set[str] = set()
        pending: list[Any] = []

        def mark(op: str) -> None:
            if op not in used and op in library:
                pending.append(library[op])
            used.add(op)

        def visit(nodes: Iterable[Any]) -> None:
            for node in nodes:
                mark(node.op)
                if node.op in _CALL_OPS:
                    mark(node.attr["f"].func.name)

        visit(self.meta_graph.graph_def.node)
        while pending:
            visit(pending.pop().node_def)
        return sorted(op for op in used if op not in library)

    # -- objects and assets --------------------------------------------------------------------

    @property
    def has_object_graph(self) -> bool:
        return bool(self.meta_graph.HasField("object_graph_def"))

    def saved_objects(self) -> list[SavedObjectInfo]:
        """The SavedObjectGraph's nodes (empty for a TF1 SavedModel)."""
        if not self.has_object_graph:
            return []
        nodes = self.meta_graph.object_graph_def.nodes
        assets = self.meta_graph.asset_file_def
        paths = _object_paths(nodes)
        return [_saved_object(i, paths, n, assets) for i, n in enumerate(nodes)]

    def object_graph_summary(self) -> ObjectGraphSummary | None:
        """Node, kind and concrete function counts, or None without an object graph."""
        if not self.has_object_graph:
            return None
        og = self.meta_graph.object_graph_def
        kinds: Counter[str] = Counter()
        users: Counter[str] = Counter()
        for node in og.nodes:
            kind = node.WhichOneof("kind") or ""
            kinds[kind] += 1
            if kind == "user_object":
                users[node.user_object.identifier] += 1
        return ObjectGraphSummary(
            nodes=len(og.nodes),
            kinds=dict(sorted(kinds.items())),
            user_objects=dict(sorted(users.items())),
            concrete_functions=len(og.concrete_functions),
        )

    def callable_functions(self) -> FunctionListing:
        """The root object's functions and what each concrete function is callable with (what
        saved_model_cli lists under "Concrete Functions:"), or why they could not be listed;
        no functions for a TF1 SavedModel. Decoded on each call (callers keep it)."""
        from graphtui.core.savedmodel_functions import FunctionListing, list_root_functions

        if not self.has_object_graph:
            return FunctionListing([])
        return list_root_functions(self.meta_graph.object_graph_def)

    def function_catalog(self) -> FunctionCatalog:
        """The root object's functions listed without decoding their input signatures, each
        decoded when looked up (the app's Signatures tab: thousands of functions)."""
        from graphtui.core.savedmodel_functions import FunctionCatalog

        if not self.has_object_graph:
            return FunctionCatalog(pb.SavedObjectGraph())
        return FunctionCatalog(self.meta_graph.object_graph_def)

    def asset_file_defs(self) -> list[Any]:
        """The AssetFileDefs TensorFlow's loader uses: the ``asset_file_def`` field, else (TF1
        builders) the ``saved_model_assets`` collection."""
        if self.meta_graph.asset_file_def:
            return list(self.meta_graph.asset_file_def)
        collection = self.meta_graph.collection_def.get(ASSETS_COLLECTION)
        if collection is None:
            return []
        from graphtui._proto import unpack_any

        out = []
        for i, item in enumerate(collection.any_list.value):
            try:
                asset = unpack_any(item)
            except Exception as exc:  # noqa: BLE001 - LookupError / DecodeError: say which item
                raise FormatError(
                    self.model.path, f"collection {ASSETS_COLLECTION!r} item {i}: {exc}"
                ) from None
            if asset.DESCRIPTOR.full_name != "tensorflow.AssetFileDef":
                raise FormatError(
                    self.model.path,
                    f"collection {ASSETS_COLLECTION!r} item {i} is a "
                    f"{asset.DESCRIPTOR.full_name}, expected tensorflow.AssetFileDef",
                )
            out.append(asset)
        return out

    def assets(self) -> list[AssetInfo]:
        """Each asset: file name, the tensor fed its path, and whether the file is there."""
        out = []
        for asset in self.asset_file_defs():
            path = os.path.join(self.model.directory, ASSETS_DIR, asset.filename)
            exists = os.path.isfile(path)
            size = os.path.getsize(path) if exists else None
            out.append(AssetInfo(asset.filename, asset.tensor_info.name, path, exists, size))
        return out

    def to_json(self) -> dict[str, Any]:
        summary = self.object_graph_summary()
        listing = self.callable_functions()
        return {
            "tags": list(self.tags),
            "tensorflow_version": self.tensorflow_version,
            "signatures": [s.to_json() for s in self.signatures],
            "node_count": len(self.graph),
            "functions": sorted(self.function_names()),
            "object_graph": None if summary is None else summary.to_json(),
            "concrete_functions": [f.to_json() for f in listing.functions],
            "concrete_functions_problem": listing.problem,
            "assets": [a.to_json() for a in self.assets()],
        }


# -- the directory -----------------------------------------------------------------------------


class SavedModelInfo:
    """A SavedModel directory: its meta graphs and (opened on first use) its variables.

    Close it (or use ``with``) to release the variables checkpoint's files.
    """

    def __init__(self, directory: str, path: str, message: Any) -> None:
        self.directory = directory
        self.path = path
        self.format = "text" if path.endswith(".pbtxt") else "binary"
        self.message = message
        self.schema_version = int(message.saved_model_schema_version)
        self.meta_graphs = [MetaGraphInfo(self, i, m) for i, m in enumerate(message.meta_graphs)]
        self._reader: CheckpointReader | None = None
        self._variables: list[TensorInfo] | None = None

    def __repr__(self) -> str:
        return f"SavedModelInfo({self.directory!r}, tag_sets={self.tag_sets!r})"

    def __enter__(self) -> SavedModelInfo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def tag_sets(self) -> list[list[str]]:
        return [list(m.tags) for m in self.meta_graphs]

    def meta_graph(self, tags: str | Iterable[str] | None = None) -> MetaGraphInfo:
        """The meta graph with exactly these tags (``"serve"``, ``"train,gpu"`` or a list; order
        does not matter). None: the only meta graph, else the one tagged ``serve``."""
        if tags is None:
            if len(self.meta_graphs) == 1:
                return self.meta_graphs[0]
            wanted = frozenset({"serve"})
        elif isinstance(tags, str):
            wanted = frozenset(t.strip() for t in tags.split(",") if t.strip())
        else:
            wanted = frozenset(tags)
        for mg in self.meta_graphs:
            if frozenset(mg.tags) == wanted:
                return mg
        known = "; ".join(repr(m.tag_set) for m in self.meta_graphs)
        raise NotFoundError(
            f"{self.path}: no meta graph with tag-set {','.join(sorted(wanted))!r} (has: {known})"
        )

    # -- variables -------------------------------------------------------------------------------

    @property
    def variables_prefix(self) -> str:
        return variables_prefix(self.directory)

    @property
    def has_variables(self) -> bool:
        """True when ``variables/variables.index`` exists, or (a TF 0.12-era SavedModel) a V1
        checkpoint ``variables/variables`` or its shards (contents are not checked)."""
        if storage.isfile(self.variables_prefix + ".index"):
            return True
        from graphtui.formats.v1_shards import v1_files

        return bool(v1_files(self.variables_prefix))

    def expects_variables(self) -> bool:
        """True when the model needs a variables checkpoint to load: a saver or a variable."""
        for mg in self.meta_graphs:
            if mg.meta_graph.saver_def.restore_op_name:
                return True
            if any(o.kind == "variable" for o in mg.saved_objects()):
                return True
        return False

    def open_variables(self) -> CheckpointReader:
        """The variables checkpoint (kept open until :meth:`close`).

        MissingFileError when ``variables/variables.index`` (or a V1 ``variables/variables``)
        is absent; FormatError when it does not read.
        """
        if self._reader is None:
            index = self.variables_prefix + ".index"
            if not self.has_variables:
                raise MissingFileError(
                    index, "no such file: the SavedModel's variables are missing"
                )
            self._reader = CheckpointReader(self.variables_prefix)
        return self._reader

    def variables(self) -> list[TensorInfo]:
        """Every tensor of the variables checkpoint (the object graph key included)."""
        if self._variables is None:
            self._variables = self.open_variables().tensors()
        return self._variables

    def variables_problem(self) -> str | None:
        """Why the variables cannot be read (one line), or None when they can or are not
        needed."""
        if not self.has_variables and not self.expects_variables():
            return None
        try:
            self.variables()
        except GraphtuiError as exc:
            return str(exc)
        return None

    def object_graph(self) -> Any:
        """The variables checkpoint's object graph (:class:`graphtui.core.objects.ObjectGraph`);
        CoreError for a TF1 SavedModel, whose checkpoint has none."""
        from graphtui.core.objects import load_object_graph

        return load_object_graph(self.open_variables())

    # -- other files -----------------------------------------------------------------------------

    def asset_files(self) -> list[str]:
        """Files under ``assets/`` and ``assets.extra/`` (relative to the directory), sorted."""
        out = []
        for sub in (ASSETS_DIR, ASSETS_EXTRA_DIR):
            top = os.path.join(self.directory, sub)
            for root, _dirs, files in os.walk(top):
                for name in files:
                    out.append(os.path.relpath(os.path.join(root, name), self.directory))
        return sorted(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": self.directory,
            "file": self.path,
            "format": self.format,
            "schema_version": self.schema_version,
            "meta_graphs": [m.to_json() for m in self.meta_graphs],
            "variables_prefix": self.variables_prefix,
        }


def open_saved_model(path: str | os.PathLike[str]) -> SavedModelInfo:
    """Read a SavedModel directory (or its ``saved_model.pb`` / ``.pbtxt`` file).

    NotFoundError when there is no such directory or no saved_model.pb(txt) in it; FormatError
    when the file does not decode or holds no meta graph. The variables are opened later, on
    first use (see :meth:`SavedModelInfo.open_variables`).
    """
    raw = os.fspath(path)
    saved = saved_model_of(raw)
    if saved is not None:
        directory, file = saved
    elif storage.isdir(raw):
        raise NotFoundError(
            f"{raw}: not a SavedModel directory (no {SAVED_MODEL_PB} or {SAVED_MODEL_PBTXT})"
        )
    elif storage.exists(raw):
        raise NotFoundError(f"{raw}: not a SavedModel directory or {SAVED_MODEL_PB} file")
    else:
        raise NotFoundError(f"{raw}: no such directory")
    from graphtui.formats.metagraph_io import MAX_MESSAGE_BYTES, TOO_LARGE, parse_message

    data = read_file(file, limit=MAX_MESSAGE_BYTES, too_large=TOO_LARGE)
    message = parse_message(data, "tensorflow.SavedModel", file)
    if not message.meta_graphs:
        raise FormatError(file, "SavedModel holds no meta graph")
    return SavedModelInfo(directory, file, message)
