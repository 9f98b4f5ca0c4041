"""``graphtui convert``: a checkpoint to ``.safetensors`` / ``.npz`` and back (see
:mod:`graphtui.core.convert`)."""

from __future__ import annotations

import argparse

from graphtui.cli.output import err, out, print_json
from graphtui.cli.progress import add_quiet, progress
from graphtui.cli.registry import EXIT_OK, command
from graphtui.core.units import human_bytes


def _convert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="checkpoint (prefix, .index or directory), .safetensors or .npz")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="FILE", help="FILE.safetensors or FILE.npz to write")
    target.add_argument(
        "--to-checkpoint", metavar="PREFIX", help="write a V2 checkpoint (from .safetensors/.npz)"
    )
    p.add_argument(
        "--map", action="append", default=[], metavar="OLD=NEW", help="rename a scope (repeatable)"
    )
    p.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out tensors, e.g. '*/Adam*' (repeatable)",
    )
    p.add_argument(
        "--dtype",
        choices=["float16", "bfloat16", "float32"],
        help="cast floating-point tensors to this",
    )
    p.add_argument(
        "--meta", metavar="GRAPH.meta", help="with --to-checkpoint: check against this graph"
    )
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="with --meta: graph variables without a value are left to their initializers",
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be written")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    add_quiet(p)


@command(
    "convert",
    "convert a checkpoint to .safetensors / .npz, or one of those to a checkpoint",
    _convert_args,
)
def cmd_convert(args: argparse.Namespace) -> int:
    from graphtui.core.operations import ConvertRequest, apply, plan

    request = ConvertRequest(
        source=args.src,
        out=args.to or args.to_checkpoint,
        target="checkpoint" if args.to_checkpoint else None,
        maps=tuple(args.map),
        drop=tuple(args.drop),
        dtype=args.dtype,
        meta=args.meta,
        allow_missing=args.allow_missing,
    )
    planned = plan(request)
    conv = planned.report
    if conv.skipped:
        err(
            f"graphtui: warning: skipped {len(conv.skipped)} tensors the target cannot hold: "
            + ", ".join(conv.skipped)
        )
    planned.refuse()
    result = None
    if not args.dry_run:
        with progress(args, "convert") as on_step:
            result = apply(planned, on_step).report
    if args.json:
        print_json({"plan": conv.to_json(), "output": result.to_json() if result else None})
        return EXIT_OK
    verb = "would write" if result is None else "wrote"
    out(
        f"{verb} {len(conv.items)} tensors ({human_bytes(conv.total_bytes)}) as {conv.target}"
        + (f"; dropped {len(conv.dropped)}" if conv.dropped else "")
    )
    report = conv.report
    if report is not None:
        out(
            f"graph check: matched {len(report.matched)}, missing {len(report.missing)}, unused "
            f"{len(report.unused)}, mismatched {len(report.mismatched)}"
        )
        for name in report.missing:
            out(f"  missing: {name}")
        for name in report.unused:
            out(f"  unused: {name}")
    if result is not None:
        out(f"wrote {result.path} (verified)")
    return EXIT_OK
