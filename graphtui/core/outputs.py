"""A node's output tensors: dtype from its op's OpDef (the meta graph's ``stripped_op_list``)
and the node's type attrs, shape from the ``_output_shapes`` attr TensorFlow adds on export.

This is what Netron and TensorBoard show for a node's outputs, and what an input edge carries:
``outputs(graph, "x")[1]`` is tensor ``x:1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphtui.core.graph import dtype_name
from graphtui.formats import dtypes

if TYPE_CHECKING:
    from graphtui.core.graph import GraphIndex


@dataclass(frozen=True)
class OutputInfo:
    """Output ``index`` of a node: its dtype (None: unknown) and shape (None: unknown; -1 for an
    unknown dimension), and the OpDef's name for it (``output``, ``y``...)."""

    index: int
    arg: str
    dtype: str | None
    shape: tuple[int, ...] | None


def _op_defs(graph: GraphIndex) -> dict[str, Any]:
    """OpDef by op name: the meta graph's op list, and each library function's signature (an
    OpDef: what a node calling it by op type outputs). A function body uses its owner graph's
    (TF's registry and library); its ``_Arg`` nodes output their ``T``."""

    def build(g: GraphIndex) -> dict[str, Any]:
        top = g.owner or g
        header = top.meta_graph_header  # not every node decoded: the op list is in the header
        found = {f.signature.name: f.signature for f in header.graph_def.library.function}
        found.update({op.name: op for op in header.meta_info_def.stripped_op_list.op})
        found["_Arg"] = _ARG
        return found

    return graph.derived("op_defs", build)


def _arg_op_def() -> Any:
    from graphtui._proto import pb

    op = pb.OpDef(name="_Arg")
    op.output_arg.add(name="output", type_attr="T")
    return op


_ARG = _arg_op_def()


def _dtype_name(value: int, is_ref: bool) -> str:
    """The name TF's importer gives an output of this type (``op.outputs[i].dtype.name``): a
    ref output arg (VariableV2's ``ref``, Assign's ``output_ref``) is ``float32_ref``."""
    ref = is_ref and dtypes.stored(value).known and value < dtypes.REF_OFFSET
    return dtype_name(value + dtypes.REF_OFFSET if ref else value)


def outputs(graph: GraphIndex, name: str) -> list[OutputInfo]:
    """The outputs of node ``name`` (empty when neither the OpDef nor ``_output_shapes`` is
    known; then nothing is guessed)."""
    node = graph.node(name)
    attr = node.attr
    shapes: list[tuple[int, ...] | None] = []
    if "_output_shapes" in attr:
        for shape in attr["_output_shapes"].list.shape:
            shapes.append(None if shape.unknown_rank else tuple(int(d.size) for d in shape.dim))
    op_def = _op_defs(graph).get(str(node.op))
    found: list[tuple[str, str | None]] = []  # (arg name, dtype) per output
    if op_def is not None:
        # an attr left out is the OpDef's default, as TF fills it in (a SavedModel's graph and
        # its functions are written with default attrs stripped: Shape's out_type int32)
        attr = {a.name: a.default_value for a in op_def.attr if a.HasField("default_value")}
        attr.update(node.attr)
        for arg in op_def.output_arg:
            if arg.type_list_attr:
                types = (
                    list(attr[arg.type_list_attr].list.type) if arg.type_list_attr in attr else []
                )
                found.extend(
                    (f"{arg.name}[{i}]", _dtype_name(t, arg.is_ref)) for i, t in enumerate(types)
                )
                continue
            if arg.type:
                dtype: str | None = _dtype_name(arg.type, arg.is_ref)
            elif arg.type_attr and arg.type_attr in attr:
                dtype = _dtype_name(attr[arg.type_attr].type, arg.is_ref)
            else:
                dtype = None
            count = int(attr[arg.number_attr].i) if arg.number_attr in attr else 1
            if arg.number_attr:
                found.extend((f"{arg.name}[{i}]", dtype) for i in range(count))
            else:
                found.append((str(arg.name), dtype))
    n = max(len(found), len(shapes))
    out = []
    for i in range(n):
        arg, dtype = found[i] if i < len(found) else ("", None)
        out.append(OutputInfo(i, arg, dtype, shapes[i] if i < len(shapes) else None))
    return out


def output(graph: GraphIndex, name: str, index: int) -> OutputInfo | None:
    """Output ``index`` of node ``name`` (what an input edge ``name:index`` carries)."""
    if name not in graph:
        return None
    found = outputs(graph, name)
    return found[index] if 0 <= index < len(found) else None
