"""``graphtui freeze``: one frozen GraphDef for serving, from a meta graph and its checkpoint or
a SavedModel signature (see :mod:`graphtui.core.freeze`)."""

from __future__ import annotations

import argparse

from graphtui.cli import EXIT_OK, _human_bytes, _out, _print_json, command


@command("freeze", "freeze variables into constants: one GraphDef (.pb) for serving")
def _freeze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "src",
        help=".meta file (its checkpoint beside it), checkpoint prefix, training directory, or "
        "SavedModel directory",
    )
    p.add_argument(
        "--outputs",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="output nodes (or tensors) to keep; default for a SavedModel: its signature outputs",
    )
    p.add_argument("--out", metavar="FILE", help="the frozen graph to write (must not exist)")
    p.add_argument("--as-text", action="store_true", help="write text format (.pbtxt)")
    p.add_argument("--keep-devices", action="store_true", help="keep device placements")
    p.add_argument("--meta", metavar="FILE", help="meta graph to use instead of SRC.meta")
    p.add_argument("--tag-set", metavar="TAGS", help="SavedModel meta graph (default: serve)")
    p.add_argument("--signature", metavar="KEY", help="SavedModel signature whose outputs to keep")
    p.add_argument(
        "--dry-run", action="store_true", help="print what would be frozen; write nothing"
    )
    p.add_argument("--json", action="store_true", help="machine-readable report")


def cmd_freeze(args: argparse.Namespace) -> int:
    from graphtui.core.freeze import FreezeRequest, apply_freeze, plan_freeze
    from graphtui.errors import ConflictError, CoreError

    if not args.out and not args.dry_run:
        raise CoreError("freeze needs --out FILE (or --dry-run)")
    request = FreezeRequest(
        source=args.src,
        outputs=tuple(args.outputs),
        out=args.out,
        as_text=args.as_text,
        keep_devices=args.keep_devices,
        meta=args.meta,
        tag_set=args.tag_set,
        signature=args.signature,
    )
    plan = plan_freeze(request)
    if plan.problems:
        raise ConflictError(
            "refused: the graph cannot be frozen, nothing was written", plan.problems
        )
    result = None if args.dry_run else apply_freeze(plan)
    if args.json:
        _print_json({"plan": plan.to_json(), "output": result.to_json() if result else None})
        return EXIT_OK
    _out(
        f"outputs {', '.join(plan.outputs)}: {plan.nodes_before} nodes -> {plan.nodes_after}; "
        f"{len(plan.variables)} variables frozen ({_human_bytes(plan.const_bytes)} of constants)"
    )
    if plan.inputs:
        _out("inputs to feed: " + ", ".join(plan.inputs))
    for line in plan.unresolved:
        _out(f"  unresolved: {line}")
    if plan.functions_kept or plan.functions_dropped:
        _out(f"functions: {len(plan.functions_kept)} kept, {plan.functions_dropped} dropped")
    if result is not None:
        _out(f"wrote {result.path} ({_human_bytes(result.bytes)}, {result.nodes} nodes; verified)")
    return EXIT_OK
