"""``graphtui dot SRC``: Graphviz DOT of the dataflow view's selections (around a node, a
scope, collapsed or not, a function body), on stdout or into a file."""

from __future__ import annotations

import argparse
import sys

from graphtui.cli.output import err
from graphtui.cli.registry import EXIT_ERROR, EXIT_OK, command


def _dot_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("src", help=".meta file, checkpoint prefix, training or SavedModel directory")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--around", metavar="NODE", help="the node and its neighbourhood")
    where.add_argument("--scope", metavar="S", help="the nodes under scope S ('' for the root)")
    p.add_argument("--depth", type=int, default=2, metavar="N", help="levels up and down (2)")
    p.add_argument(
        "--fanout", type=int, default=8, metavar="K", help="neighbours per node and side (8)"
    )
    p.add_argument(
        "--collapse",
        action="store_true",
        help="sub-scopes as one box each, edges between them aggregated (with --around: "
        "neighbours outside the node's scope folded per scope)",
    )
    p.add_argument("--function", metavar="F", help="draw the body of library function F")
    p.add_argument("--no-control", action="store_true", help="leave out control edges")
    p.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")


@command(
    "dot", "write Graphviz DOT of a graph: around a node, a scope, or the whole graph", _dot_args
)
def cmd_dot(args: argparse.Namespace) -> int:
    from graphtui.core.dataflow import select
    from graphtui.core.dot import to_dot
    from graphtui.core.workspace import open_workspace

    if args.depth < 0 or args.fanout < 1:
        err("graphtui: error: --depth must be >= 0 and --fanout >= 1")
        return EXIT_ERROR
    ws = open_workspace(args.src)
    try:
        graph = ws.graph
        if graph is None:
            err(f"graphtui: error: {args.src}: no graph (no .meta found)")
            return EXIT_ERROR
        if args.function:
            graph = graph.function_graph(args.function)
        view = select(
            graph,
            around_node=args.around,
            depth=args.depth,
            scope=args.scope,
            collapsed=args.collapse,
            control=not args.no_control,
            fanout=args.fanout,
        )
        text = to_dot(view)
    finally:
        ws.close()
    if args.out:
        from graphtui.formats.atomic import atomic_write

        atomic_write(args.out, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return EXIT_OK
