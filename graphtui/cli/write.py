"""The CLI's writing commands: rename, restore, export, strip, rollback, fix-paths.

Each refuses (exit 1, one line) before writing anything when the result would be inconsistent,
writes atomically, and reads the result back to verify it before reporting success.
"""

from __future__ import annotations

import argparse

from graphtui.cli.output import err, out, print_json
from graphtui.cli.progress import add_quiet, progress
from graphtui.cli.registry import EXIT_OK, command
from graphtui.core.units import human_bytes


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable report")
    add_quiet(p)


def _rename_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="checkpoint prefix (SRC.meta is used when present)")
    p.add_argument(
        "--map",
        action="append",
        required=True,
        metavar="OLD=NEW",
        help="scope rename, applied in the order given (repeatable)",
    )
    p.add_argument("--out", required=True, metavar="DST", help="output prefix (must not exist)")
    p.add_argument("--meta", metavar="FILE", help="meta graph to use instead of SRC.meta")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--graph-only",
        action="store_true",
        help="rename the graph only; checkpoint keys stay (like import_scope)",
    )
    mode.add_argument(
        "--checkpoint-only",
        action="store_true",
        help="rename checkpoint keys only (no meta graph needed)",
    )
    _common(p)


@command("rename", "rename scopes in a meta graph and its checkpoint, consistently", _rename_args)
def cmd_rename(args: argparse.Namespace) -> int:
    from graphtui.core.names import ScopeMap
    from graphtui.core.operations import RenameMode, RenameRequest, apply, plan

    mode: RenameMode = (
        "graph" if args.graph_only else "checkpoint" if args.checkpoint_only else "all"
    )
    pairs = tuple(ScopeMap.parse(args.map).pairs)
    planned = plan(RenameRequest(args.src, args.out, pairs, mode=mode, meta=args.meta))
    with progress(args, "rename") as on_step:
        result = apply(planned, on_step)
    renamed = result.report
    if args.json:
        print_json(
            {
                "mode": mode,
                "changes": renamed.report.to_json(),
                "renamed_keys": renamed.renamed_keys,
                "output": result.to_json(),
            }
        )
        return EXIT_OK
    r = renamed.report
    out(
        f"renamed ({mode}): {r.nodes} nodes, {r.inputs} inputs, {r.collection_items} collection "
        f"items, {r.saver_fields} saver fields, {r.signature_tensors} signature tensors, "
        f"{r.frame_names} loop frame names, {r.checkpoint_keys} checkpoint keys"
    )
    _wrote(result)
    return EXIT_OK


def _wrote(result: object) -> None:
    from graphtui.core.output import WriteResult

    assert isinstance(result, WriteResult)
    what = (
        f"{result.tensors} tensors, {human_bytes(result.bytes)}" if result.tensors else "meta graph"
    )
    for line in result.cleaned:
        err(f"graphtui: note: {line}")
    for note in result.notes:
        out(f"saver rewritten for the V2 checkpoint: {note}")
    out(f"wrote {result.prefix} ({what}; verified)")
    if result.state_file:
        out(f"updated {result.state_file}")


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("meta", help="the graph (.meta) whose variables get values")
    p.add_argument(
        "--from",
        dest="ckpt",
        required=True,
        metavar="CKPT",
        help="checkpoint with the values (prefix, .index or directory)",
    )
    p.add_argument(
        "--map",
        action="append",
        required=True,
        metavar="CKPT_SCOPE=GRAPH_SCOPE",
        help="assignment map entry: 'old/'='new/', 'old/v'='new/v', '/'='new/'",
    )
    p.add_argument("--out", required=True, metavar="DST", help="output prefix (must not exist)")
    p.add_argument(
        "--allow-missing",
        action="store_true",
        help="variables without a value are left to their initializers",
    )
    p.add_argument(
        "--reshape",
        action="store_true",
        help="accept a shape difference when the element count matches",
    )
    _common(p)


@command(
    "restore",
    "bind a checkpoint's values to a graph's variables (init_from_checkpoint maps)",
    _restore_args,
)
def cmd_restore(args: argparse.Namespace) -> int:
    from graphtui.core.operations import RestoreRequest, run
    from graphtui.core.restore_map import parse_map

    request = RestoreRequest(
        args.meta,
        args.ckpt,
        tuple(parse_map(args.map)),
        args.out,
        allow_missing=args.allow_missing,
        reshape=args.reshape,
    )
    with progress(args, "restore") as on_step:
        result = run(request, on_step)
    report = result.report
    if args.json:
        print_json({"report": report.to_json(), "output": result.to_json()})
        return EXIT_OK
    out(
        f"matched {len(report.matched)} variables; {len(report.missing)} without a value; "
        f"{len(report.initialized)} from constant initializers; {len(report.unused)} checkpoint "
        f"tensors unused; {len(report.reshaped)} reshaped"
    )
    for a in report.matched:
        part = "" if a.extents is None else f" slice {list(a.extents)}"
        out(f"  {a.variable} <- {a.key}{part}")
    for name in report.missing:
        out(f"  {name}: no value (left to its initializer)")
    for name in report.unused:
        out(f"  unused: {name}")
    for name in report.not_in_store:
        out(f"  not mapped by scope: {name} (a plain tf.Variable; TF's scope maps skip it)")
    if report.assumed_in_store:
        out(
            f"  {len(report.assumed_in_store)} variables mapped by scope although the graph does "
            "not show whether tf.get_variable made them (treated as if it did): "
            + ", ".join(report.assumed_in_store)
        )
    _wrote(result)
    return EXIT_OK


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="checkpoint prefix (with SRC.meta), or a .meta file alone")
    p.add_argument("--out", required=True, metavar="DST", help="output prefix (must not exist)")
    p.add_argument("--as-text", action="store_true", help="write the .meta in text format")
    p.add_argument("--clear-devices", action="store_true", help="drop device placements")
    p.add_argument(
        "--strip-default-attrs",
        action="store_true",
        help="drop node attrs equal to their op's default (from the graph's stripped_op_list)",
    )
    p.add_argument(
        "--collection",
        action="append",
        metavar="NAME",
        help="keep only these collections (repeatable)",
    )
    p.add_argument("--meta", metavar="FILE", help="meta graph to use instead of SRC.meta")
    _common(p)


@command(
    "export",
    "re-export a meta graph and checkpoint (text/binary, clear devices, V1 to V2)",
    _export_args,
)
def cmd_export(args: argparse.Namespace) -> int:
    from graphtui.core.operations import ExportRequest, apply, plan

    request = ExportRequest(
        args.src,
        args.out,
        as_text=args.as_text,
        clear_devices=args.clear_devices,
        collections=tuple(args.collection) if args.collection else None,
        strip_default_attrs=args.strip_default_attrs,
        meta=args.meta,
    )
    with progress(args, "export") as on_step:
        result = apply(plan(request), on_step)
    if args.json:
        print_json({"output": result.to_json()})
        return EXIT_OK
    _wrote(result)
    return EXIT_OK


def _strip_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help="checkpoint prefix (SRC.meta is used when present)")
    p.add_argument(
        "--drop",
        action="append",
        required=True,
        metavar="GLOB",
        help="checkpoint keys to drop, e.g. '*/Adam*' (repeatable)",
    )
    p.add_argument("--out", required=True, metavar="DST", help="output prefix (must not exist)")
    p.add_argument("--meta", metavar="FILE", help="meta graph to use instead of SRC.meta")
    _common(p)


@command(
    "strip",
    "drop variables (e.g. optimizer slots) from a checkpoint and its graph's saver",
    _strip_args,
)
def cmd_strip(args: argparse.Namespace) -> int:
    from graphtui.core.operations import StripRequest, apply, plan

    planned = plan(StripRequest(args.src, args.out, tuple(args.drop), meta=args.meta))
    with progress(args, "strip") as on_step:
        result = apply(planned, on_step)
    report = result.report
    if args.json:
        print_json({"report": report.to_json(), "output": result.to_json()})
        return EXIT_OK
    out(
        f"dropped {len(report.dropped)} tensors ({human_bytes(report.bytes_dropped)}), kept "
        f"{report.kept} ({human_bytes(report.bytes_kept)})"
    )
    if report.graph_variables_dropped:
        out(
            f"removed {len(report.graph_variables_dropped)} variables from the saver and "
            f"{report.collection_items_dropped} collection items"
        )
    _wrote(result)
    return EXIT_OK


def _rollback_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="training directory with a 'checkpoint' state file")
    p.add_argument("target", metavar="STEP_OR_PREFIX", help="global step or checkpoint name")
    _common(p)


@command(
    "rollback", "make an older checkpoint of DIR the latest (edits the state file)", _rollback_args
)
def cmd_rollback(args: argparse.Namespace) -> int:
    from graphtui.core.operations import RollbackRequest, apply, plan

    change = apply(plan(RollbackRequest(args.dir, args.target))).report
    if args.json:
        print_json(change.to_json())
    else:
        out(f"{change.state_file}: " + "; ".join(change.changes))
    return EXIT_OK


def _fix_paths_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="training directory with a 'checkpoint' state file")
    _common(p)


@command(
    "fix-paths",
    "rewrite DIR's state file paths as relative (after moving a directory)",
    _fix_paths_args,
)
def cmd_fix_paths(args: argparse.Namespace) -> int:
    from graphtui.core.operations import FixPathsRequest, apply, plan

    change = apply(plan(FixPathsRequest(args.dir))).report
    if args.json:
        print_json(change.to_json())
    else:
        for line in change.changes:
            out(line)
        out(
            f"{change.state_file}: "
            + ("rewritten" if change.after != change.before else "unchanged")
        )
    return EXIT_OK
