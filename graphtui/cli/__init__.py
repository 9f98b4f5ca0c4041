"""Command line: ``graphtui [PATH]`` opens the app; subcommands print data (``--json`` for scripts).

stdout is data, stderr is diagnostics. Exit codes: 0 ok, 1 error (or problems found), 2 usage,
130 interrupted. Errors are one line: ``graphtui: error: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from graphtui._version import __version__
from graphtui.cli.output import err
from graphtui.cli.registry import (
    COMMANDS,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    Command,
)
from graphtui.errors import GraphtuiError

GROUPS = ("read", "write", "savedmodel", "freeze", "dot", "convert")  # their order in --help


def _load_commands() -> None:
    """Import the command modules: each registers its commands with ``@command``."""
    from graphtui.cli import convert, dot, freeze, read, savedmodel, write  # noqa: F401


def _group(cmd: Command) -> int:
    return GROUPS.index(cmd.handler.__module__.rsplit(".", 1)[-1])


def build_parser(
    command: str | None = None,
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The subcommand parser and the app parser (``graphtui [PATH]``). With ``command``, only
    that subcommand's arguments are added (a run parses one; the others' help lines stay)."""
    main = argparse.ArgumentParser(
        prog="graphtui",
        description="Explore TensorFlow meta graphs and checkpoints (no TensorFlow needed). "
        "With no command, opens the app on PATH (the bundled demo when PATH is omitted).",
    )
    main.add_argument("--version", action="version", version=f"graphtui {__version__}")
    sub = main.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in sorted(COMMANDS.values(), key=_group):
        parser = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        if command is None or cmd.name == command:
            cmd.add_arguments(parser)
    app = argparse.ArgumentParser(prog="graphtui", description=main.description)
    app.add_argument("--version", action="version", version=f"graphtui {__version__}")
    app.add_argument(
        "path",
        nargs="?",
        help=".meta file, checkpoint prefix/.index, training or SavedModel directory",
    )
    return main, app


# what OpenBLAS reads for its thread count, in its order of precedence
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _one_blas_thread() -> None:
    """Ask numpy's OpenBLAS for one thread, unless the user chose a count or numpy is loaded.

    At import OpenBLAS starts a worker thread per core, which then spins waiting for work:
    ~60 ms of CPU in every command that imports numpy (a bare ``import numpy``: 145 -> 88 ms of
    CPU with one thread, load ~3), and a core taken from the app's opening thread while it
    starts. graphtui's BLAS work is a dot product or two in the diff statistics."""
    if "numpy" not in sys.modules and not any(v in os.environ for v in _BLAS_THREAD_VARIABLES):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _one_blas_thread()
    for stream in (sys.stdout, sys.stderr):
        # names in checkpoints need not be valid text: never fail on printing one
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
    _load_commands()
    first = next((a for a in argv if not a.startswith("-")), None)
    main_parser, app_parser = build_parser(first if first in COMMANDS else "")
    try:
        if first in COMMANDS or any(a in ("-h", "--help") for a in argv[:1]):
            args = main_parser.parse_args(argv)
            if args.command is None:
                main_parser.print_help()
                return EXIT_USAGE
            return COMMANDS[args.command].handler(args)
        args = app_parser.parse_args(argv)
        return _run_app(args.path)
    except GraphtuiError as exc:
        err(f"graphtui: error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        err("graphtui: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `graphtui ls ... | head`: the reader went away; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except MemoryError:
        err("graphtui: error: out of memory")
        return EXIT_ERROR
    except OSError as exc:  # the disk is full, a permission is missing: say which file
        where = f"{exc.filename}: " if exc.filename else ""
        err(f"graphtui: error: {where}{exc.strerror or exc}")
        return EXIT_ERROR
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, unless debugging
        if os.environ.get("GRAPHTUI_DEBUG"):
            raise
        err(
            f"graphtui: internal error: {type(exc).__name__}: {exc} "
            "(set GRAPHTUI_DEBUG=1 for a traceback)"
        )
        return EXIT_ERROR


def _run_app(path: str | None) -> int:
    if path is not None:
        from graphtui.core.locate import locate
        from graphtui.formats import storage

        if not locate(path).found and not storage.exists(path):
            err(f"graphtui: error: {path}: no such file, checkpoint or directory")
            return EXIT_ERROR
    from graphtui.tui.launch import launch

    return launch(path)


if __name__ == "__main__":
    raise SystemExit(main())
