"""``graphtui freeze``: one frozen GraphDef for serving, from a meta graph and its checkpoint or
a SavedModel signature (see :mod:`graphtui.core.freeze`)."""

from __future__ import annotations

import argparse

from graphtui.cli.output import out, print_json
from graphtui.cli.progress import add_quiet, progress
from graphtui.cli.registry import EXIT_OK, command
from graphtui.core.units import human_bytes


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
    add_quiet(p)


@command("freeze", "freeze variables into constants: one GraphDef (.pb) for serving", _freeze_args)
def cmd_freeze(args: argparse.Namespace) -> int:
    from graphtui.core.operations import FreezeRequest, apply, plan
    from graphtui.errors import CoreError

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
    planned = plan(request)
    planned.refuse()
    result = None
    if not args.dry_run:
        with progress(args, "freeze") as on_step:
            result = apply(planned, on_step).report
    frozen = planned.report
    if args.json:
        print_json({"plan": frozen.to_json(), "output": result.to_json() if result else None})
        return EXIT_OK
    out(
        f"outputs {', '.join(frozen.outputs)}: {frozen.nodes_before} nodes -> {frozen.nodes_after}; "
        f"{len(frozen.variables)} variables frozen ({human_bytes(frozen.const_bytes)} of constants)"
    )
    if frozen.inputs:
        out("inputs to feed: " + ", ".join(frozen.inputs))
    for line in frozen.unresolved:
        out(f"  unresolved: {line}")
    if frozen.functions_kept or frozen.functions_dropped:
        out(f"functions: {len(frozen.functions_kept)} kept, {frozen.functions_dropped} dropped")
    if result is not None:
        out(f"wrote {result.path} ({human_bytes(result.bytes)}, {result.nodes} nodes; verified)")
    return EXIT_OK
