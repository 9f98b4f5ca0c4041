"""The variables of a graph joined with a checkpoint's tensors, one row per variable.

A graph variable and its checkpoint key are one row (partitions of one variable share it);
checkpoint tensors no graph variable claims are rows of their own. TF2 object graphs give each
key its object path and say which keys are optimizer state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from graphtui.core.natural import natural_key
from graphtui.core.slot_names import looks_like_slot
from graphtui.errors import GraphtuiError
from graphtui.formats.gc_paused import gc_paused

VariableStatus = Literal["ok", "graph-only", "checkpoint-only", "mismatch", "local", "unreadable"]

if TYPE_CHECKING:
    from graphtui.core.checkpoint import CheckpointReader
    from graphtui.core.graph import GraphIndex
    from graphtui.core.objects import ObjectGraph, ObjectNode


@dataclass(frozen=True)
class VariableRow:
    """One variable of the graph and/or the active checkpoint."""

    name: str  # the graph variable's name, else the checkpoint key
    dtype: str
    shape: tuple[int, ...] | None  # None when the graph does not know it
    params: int
    nbytes: int  # bytes in the checkpoint (0 when graph-only)
    # "local": a local variable (TensorFlow never saves them); "unreadable": the checkpoint that
    # should hold it does not read
    status: VariableStatus
    detail: str = ""  # for "mismatch": what differs, e.g. "shape [4, 8] vs [8, 4] in checkpoint"
    is_slot: bool = False  # optimizer slot, moving average or beta power
    key: str | None = None  # checkpoint key (None when graph-only)
    trainable: bool | None = None  # None for checkpoint-only rows
    in_graph: bool = False
    node: str | None = None  # the graph node to show (first partition of a partitioned one)
    role: str = ""  # the graph's role: model, slot, ema, optimizer, global_step
    partitions: int = 0  # graph partitions saved under this key (0: not partitioned)
    object_path: str | None = None  # TF2: the path of the object that saved the key
    object_name: str = ""  # TF2: the attribute's full name (the Python-side name)


NAME_BASED_STRIP = ("*/Adam*", "*/ExponentialMovingAverage")


def strip_patterns(rows: list[VariableRow]) -> list[str]:
    """Glob patterns (``strip``'s) matching the optimizer state among ``rows`` and nothing
    else: TF1's slot names (the app's defaults), and for an object-based checkpoint its slot keys (Keras 2's
    ``*/.OPTIMIZER_SLOT/*``, Keras 3's ``optimizer/_variables/*`` momentums and velocities),
    a numbered sibling group as one ``*`` pattern when that matches no model weight."""
    import fnmatch

    slots = [r.key for r in rows if r.is_slot and r.key and r.object_path is not None]
    weights = [r.key for r in rows if not r.is_slot and r.key]
    out = list(NAME_BASED_STRIP)

    def safe(pattern: str) -> bool:
        return not any(fnmatch.fnmatchcase(k, pattern) for k in weights)

    if any("/.OPTIMIZER_SLOT/" in k for k in slots) and safe("*/.OPTIMIZER_SLOT/*"):
        out.append("*/.OPTIMIZER_SLOT/*")
    for key in slots:
        if any(fnmatch.fnmatchcase(key, p) for p in out):
            continue
        head, _, rest = key.partition("/.ATTRIBUTES/")
        parent, _, last = head.rpartition("/")
        group = f"{_glob_literal(parent)}/*" if last.isdigit() and parent else ""
        out.append(group if group and safe(group) else _glob_literal(key))
    return out


def _glob_literal(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _describe_mismatch(
    graph_dtype: str | None, graph_shape: tuple[int, ...] | None, info: Any
) -> str:
    what = []
    if graph_dtype and graph_dtype != info.dtype.name:
        what.append(f"dtype {graph_dtype} vs {info.dtype.name} in checkpoint")
    if graph_shape is not None and tuple(graph_shape) != tuple(info.shape):
        what.append(f"shape {list(graph_shape)} vs {list(info.shape)} in checkpoint")
    return ", ".join(what)


def _object_facts(objects: ObjectGraph | None) -> Callable[[str], tuple[str | None, str, bool]]:
    """For a checkpoint key: (object path, attribute full name, is optimizer state) from the
    object graph. Optimizer state: a slot variable, or an object only an optimizer reaches
    (Keras 3 lists the model's variables under the optimizer too; those stay model variables)."""
    if objects is None:
        return lambda key: (None, "", looks_like_slot(key))

    # Nodes reached from the root without passing through an optimizer. A Keras 3 model keeps
    # a reference to its optimizer (``model/optimizer``), so an optimizer is recognised on
    # every edge, not only among the root's children.
    def is_optimizer(edge: Any) -> bool:
        return edge.node.kind == "optimizer" or "optimizer" in edge.local_name.lower()

    outside: set[int] = set()
    stack: list[ObjectNode] = [c.node for c in objects.root.children if not is_optimizer(c)]
    while stack:
        node = stack.pop()
        if node.node_id in outside:
            continue
        outside.add(node.node_id)
        stack.extend(c.node for c in node.children if not is_optimizer(c))

    def facts(key: str) -> tuple[str | None, str, bool]:
        try:
            node = objects.node_for_key(key)
        except GraphtuiError:
            return None, "", looks_like_slot(key)
        attr = next(a for a in node.attributes if a.checkpoint_key == key)
        if node.kind == "slot":
            slot = True
        elif node.node_id in outside:
            slot = False
        else:
            slot = looks_like_slot(key) or node.kind == "optimizer"
        return node.path, attr.full_name, slot

    return facts


def _row_name(key: str, path: str | None, full_name: str, is_slot: bool) -> str:
    """A checkpoint-only row's name: its key, except for a model weight whose key runs
    through the optimizer (Keras 3 saves ``optimizer/_trainable_variables/0``): there the
    variable's own name (``sequential/dense_a/kernel``, as ``ls --objects`` shows it)."""
    if is_slot or not full_name or path is None or not path.lower().startswith("optimizer"):
        return key
    return full_name


def join_variables(
    graph: GraphIndex | None,
    reader: CheckpointReader | None,
    links: dict[str, str] | None = None,
    objects: ObjectGraph | None = None,
    *,
    unreadable: bool = False,
) -> list[VariableRow]:
    """One row per graph variable (partitions of one variable share a row, keyed by its
    checkpoint key) plus one per checkpoint tensor no graph variable claims. ``links`` maps
    graph variables to keys found through a TF2 object graph; ``objects`` gives each key its
    object path. Local variables (never saved) read ``local``; with ``unreadable`` (the
    checkpoint does not read) the others read ``unreadable``, not ``graph-only``."""
    with gc_paused():  # 20,000 rows: the cyclic collector would wake dozens of times (+25% CPU)
        return _join(graph, reader, links, objects, unreadable=unreadable)


def _join(
    graph: GraphIndex | None,
    reader: CheckpointReader | None,
    links: dict[str, str] | None,
    objects: ObjectGraph | None,
    *,
    unreadable: bool,
) -> list[VariableRow]:
    rows: list[VariableRow] = []
    # every tensor's dtype, shape and size from the index decoded in bulk (20,000 keys: one
    # pass instead of one entry decode per key)
    infos = {t.name: t for t in reader.tensors()} if reader is not None else {}
    keys = set(infos)
    used: set[str] = set()
    links = links or {}
    linked = set(links.values())
    facts = _object_facts(objects)
    if graph is not None:
        from graphtui.core.variables import VariableTable

        groups: dict[str, list[Any]] = {}
        for var in VariableTable.of(graph).variables():
            groups.setdefault(links.get(var.node, var.checkpoint_key), []).append(var)
        for key, parts in groups.items():
            var = parts[0]
            if var.save_slice is not None:
                shape: tuple[int, ...] | None = tuple(var.save_slice.full_shape)
                name = var.save_slice.full_name or key
            else:
                shape = tuple(var.shape) if var.shape is not None else None
                name = var.name
            info = infos.get(key)
            dtype = var.dtype
            status: VariableStatus
            if info is None:
                status, detail, nbytes = "graph-only", "", 0
                if var.local:
                    status, detail = "local", "a local variable: TensorFlow never saves it"
                elif unreadable:
                    status = "unreadable"
            else:
                used.add(key)
                detail = _describe_mismatch(dtype, shape, info)
                status = "mismatch" if detail else "ok"
                nbytes = info.nbytes
                if shape is None or any(d < 0 for d in shape):
                    shape = tuple(info.shape) if not detail else shape
                dtype = dtype or info.dtype.name
            known = shape is not None and all(d >= 0 for d in shape)
            is_slot = var.role in ("slot", "ema", "optimizer")
            path, full_name = None, ""
            if info is not None and key in linked:
                path, full_name, is_slot = facts(key)
            rows.append(
                VariableRow(
                    name=name,
                    dtype=dtype or "?",
                    shape=shape,
                    params=math.prod(shape) if known and shape is not None else 0,
                    nbytes=nbytes,
                    status=status,
                    detail=detail,
                    is_slot=is_slot,
                    key=key if info is not None else None,
                    trainable=var.trainable,
                    in_graph=True,
                    node=var.node,
                    role=var.role,
                    partitions=len(parts) if var.save_slice is not None else 0,
                    object_path=path,
                    object_name=full_name,
                )
            )
    if reader is not None:
        for key in keys - used:
            info = infos[key]
            path, full_name, is_slot = facts(key)
            rows.append(
                VariableRow(
                    name=_row_name(key, path, full_name, is_slot),
                    dtype=info.dtype.name,
                    shape=tuple(info.shape),
                    params=info.num_elements,
                    nbytes=info.nbytes,
                    status="checkpoint-only" if graph is not None else "ok",
                    is_slot=is_slot,
                    key=key,
                    object_path=path,
                    object_name=full_name,
                )
            )
    rows.sort(key=lambda r: natural_key(r.name))
    return rows
