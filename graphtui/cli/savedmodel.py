"""The CLI's SavedModel command: ``graphtui show DIR`` (tag-sets, signatures as saved_model_cli
prints them, functions, object graph, assets, variables). ``graphtui ls PATH --objects`` (the
TF2 object tree) lives in :mod:`graphtui.core.objects`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from graphtui.cli.output import err, out, print_json
from graphtui.cli.registry import EXIT_ERROR, EXIT_OK, command
from graphtui.core.units import human_bytes

_NAMES_SHOWN = 20  # function names listed per meta graph without --full


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="SavedModel directory (or its saved_model.pb / .pbtxt)")
    p.add_argument(
        "--tag-set", metavar="TAGS", help="only the meta graph with these tags, e.g. 'serve'"
    )
    p.add_argument("--signature", metavar="KEY", help="only this signature")
    p.add_argument("--full", action="store_true", help="list every function name")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _variables_summary(sm: Any) -> dict[str, Any]:
    problem = sm.variables_problem()
    data: dict[str, Any] = {"prefix": sm.variables_prefix, "error": problem}
    if problem is None and sm.has_variables:
        infos = [i for i in sm.variables() if i.name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
        data.update(
            count=len(infos),
            parameters=sum(i.num_elements for i in infos if i.dtype.name != "string"),
            bytes=sum(i.nbytes for i in infos),
            object_based=sm.open_variables().has_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"),
            tensors=[
                {"name": i.name, "dtype": i.dtype.name, "shape": list(i.shape)} for i in infos
            ],
        )
    else:
        data.update(count=0, parameters=0, bytes=0, object_based=False, tensors=[])
    return data


def _tensor_lines(direction: str, specs: list[Any]) -> None:
    out(f"  The given SavedModel SignatureDef contains the following {direction}(s):")
    label = "inputs" if direction == "input" else "outputs"
    for spec in specs:
        out(f"    {label}['{spec.key}'] tensor_info:")
        out(f"        dtype: {spec.dtype_enum}")
        out(f"        shape: {spec.shape_text}")
        out(f"        name: {spec.name}")


def _composite_lines(sigs: list[Any]) -> None:
    """Composite (sparse, ragged, ...) signature tensors and their components, and inputs with
    a default value: below the signatures, so the signature block stays what
    ``saved_model_cli show --all`` prints."""
    for sig in sigs:
        for line in sig.default_lines():
            out(f"  {sig.key}: {line}")
        for label, specs in (("inputs", sig.inputs), ("outputs", sig.outputs)):
            for spec in specs:
                if spec.encoding == "name":
                    continue
                parts = " ".join(f"{k}={v}" for k, v in spec.components.items())
                kind = spec.encoding + (f" {spec.type_spec}" if spec.type_spec else "")
                out(f"  {sig.key}: {label}['{spec.key}'] is {kind}: {parts}".rstrip())


def _print_meta_graph(mg: Any, signature_key: str | None, full: bool) -> None:
    out(
        f"\nMetaGraphDef with tag-set: '{', '.join(mg.tags)}' contains the following SignatureDefs:"
    )
    sigs = [mg.signature(signature_key)] if signature_key else mg.signatures
    for sig in sigs:
        out(f"\nsignature_def['{sig.key}']:")
        _tensor_lines("input", sig.inputs)
        _tensor_lines("output", sig.outputs)
        out(f"  Method name is: {sig.method_name}")
    if signature_key:
        _composite_lines(sigs)
        return
    version = mg.tensorflow_version or "unknown"
    out(f"\n  TensorFlow {version}; {len(mg.graph)} graph nodes; {len(mg.op_names())} op types")
    names = sorted(mg.function_names())
    out(f"  functions: {len(names)}")
    shown = names if full else names[:_NAMES_SHOWN]
    for name in shown:
        out(f"    {name}")
    if len(shown) < len(names):
        out(f"    ... {len(names) - len(shown)} more (--full lists all)")
    _composite_lines(sigs)
    summary = mg.object_graph_summary()
    if summary is not None:
        kinds = ", ".join(f"{k or 'unset'} {n}" for k, n in summary.kinds.items())
        out(
            f"  object graph: {summary.nodes} objects ({kinds}); "
            f"{summary.concrete_functions} concrete functions"
        )
    assets = mg.assets()
    for asset in assets:
        state = human_bytes(asset.size) if asset.size is not None else "MISSING"
        out(f"  asset: {asset.filename} -> {asset.tensor_name} ({state})")
    if mg.has_object_graph:
        out("\n" + "\n".join(mg.callable_functions().lines()))


@command(
    "show", "describe a SavedModel: tag-sets, signatures, functions, objects, variables", _show_args
)
def cmd_show(args: argparse.Namespace) -> int:
    from graphtui.core.savedmodel import open_saved_model

    with open_saved_model(args.dir) as sm:
        # sorted by tags, as `saved_model_cli show --all` lists them
        graphs = (
            [sm.meta_graph(args.tag_set)]
            if args.tag_set
            else sorted(sm.meta_graphs, key=lambda mg: list(mg.tags))
        )
        if args.signature:
            having = [mg for mg in graphs if args.signature in {s.key for s in mg.signatures}]
            if not having:
                graphs[0].signature(args.signature)  # NotFoundError naming the keys there are
            graphs = having
        variables = _variables_summary(sm)
        if args.json:
            data = sm.to_json()
            data["meta_graphs"] = [mg.to_json() for mg in graphs]
            if args.signature:
                for entry in data["meta_graphs"]:
                    entry["signatures"] = [
                        s for s in entry["signatures"] if s["key"] == args.signature
                    ]
            data["variables"] = variables
            print_json(data)
        else:
            out(
                f"SavedModel {sm.directory} ({sm.format} {os.path.basename(sm.path)}, "
                f"schema {sm.schema_version}); tag-sets: "
                + "; ".join(repr(",".join(t)) for t in sm.tag_sets)
            )
            for mg in graphs:
                _print_meta_graph(mg, args.signature, args.full)
            if variables["error"] is None and not sm.has_variables:
                out("\nvariables: none")
            elif variables["error"] is None:
                kind = "object-based" if variables["object_based"] else "name-based"
                out(
                    f"\nvariables: {variables['count']} tensors, {variables['parameters']:,} "
                    f"parameters, {human_bytes(variables['bytes'])} ({kind}: "
                    f"{variables['prefix']})"
                )
        if variables["error"] is not None:
            # The signatures were shown (TF's saved_model_cli shows them too): a warning, as
            # the app gives; loading the model in TF would fail on the variables.
            err(f"graphtui: warning: {variables['error']}")
    return EXIT_OK


def print_object_tree(path: str, as_json: bool = False) -> int:
    """``graphtui ls PATH --objects``: the object tree (or JSON), line by line; exit 1 with a
    warning on stderr when keys the object graph names are missing from the checkpoint."""
    from graphtui.core.objects import format_tree, load_object_graph, open_object_reader

    with open_object_reader(path) as reader:
        graph = load_object_graph(reader)
        missing = graph.missing_keys()
        if as_json:
            print_json(graph.to_json())
        else:
            for line in format_tree(graph):
                out(line)
            variables = sum(1 for n in graph.nodes if n.kind in ("variable", "slot"))
            out(
                f"{len(graph)} objects, {variables} variables ({len(graph.slot_links)} slot), "
                f"{len(graph.attributes())} saved tensors ({reader.prefix})"
            )
            unnamed = graph.unnamed_keys_note(_NAMES_SHOWN)
            if unnamed is not None:
                out(unnamed)
        if missing:
            err(
                f"graphtui: warning: {len(missing)} keys named by the object graph are missing "
                f"from {reader.prefix} (first: {missing[0]!r})"
            )
    return EXIT_OK if not missing else EXIT_ERROR
