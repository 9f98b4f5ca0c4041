"""Command line: ``graphtui [PATH]`` opens the app; subcommands print data (``--json`` for scripts).

stdout is data, stderr is diagnostics. Exit codes: 0 ok, 1 error (or problems found), 2 usage,
130 interrupted. Errors are one line: ``graphtui: error: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from graphtui._version import __version__
from graphtui.core.units import human_bytes as _human_bytes
from graphtui.errors import GraphtuiError
from graphtui.formats.visible import visible

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Handler = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(
    name: str, help_text: str
) -> Callable[[Callable[[argparse.ArgumentParser], None]], Any]:
    """Register ``add_arguments`` for subcommand ``name``; the handler is ``cmd_<name>``."""

    def register(add_arguments: Callable[[argparse.ArgumentParser], None]) -> Any:
        _COMMANDS[name] = (help_text, add_arguments, "cmd_" + name.replace("-", "_"))
        return add_arguments

    return register


def _out(text: str = "") -> None:
    """One or more lines of text output; names in them cannot reach the terminal as escapes."""
    sys.stdout.write("\n".join(visible(line) for line in text.split("\n")) + "\n")


def _err(text: str) -> None:
    """One diagnostic line on stderr (``graphtui: error: ...``), control characters escaped."""
    sys.stderr.write(visible(text) + "\n")


def _print_json(data: Any) -> None:
    sys.stdout.write(_json_text(data) + "\n")


_SCALARS = (str, int, float, bool, type(None))


def _is_leaf(value: Any) -> bool:
    """A scalar, a list of scalars, or a dict of those: printed on one line."""
    if isinstance(value, _SCALARS):
        return True
    if isinstance(value, list):
        return all(isinstance(v, _SCALARS) for v in value)
    if isinstance(value, dict):
        return all(
            isinstance(v, _SCALARS)
            or (isinstance(v, list) and all(isinstance(x, _SCALARS) for x in v))
            for v in value.values()
        )
    return False


def _json_text(value: Any, level: int = 0) -> str:
    """Indented JSON with each leaf (a tensor's row, a list of numbers) on one line.

    ``json.dumps(indent=...)`` runs the pure-Python encoder and takes longer than reading a
    2,000-tensor checkpoint; leaves go through the C encoder instead.
    """
    if _is_leaf(value) or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    pad = "  " * (level + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(str(k))}: {_json_text(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
    items = [pad + _json_text(v, level + 1) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"


def _table(rows: Sequence[Sequence[str]], align_right: set[int] | None = None) -> None:
    if not rows:
        return
    align_right = align_right or set()
    rows = [[visible(cell) for cell in row] for row in rows]  # a name's newline stays in its cell
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in align_right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        _out("  ".join(cells).rstrip())


# -- ls ------------------------------------------------------------------------------------------


@command("ls", "list a checkpoint's tensors: name, dtype, shape, bytes, parameter count")
def _ls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="checkpoint prefix, .index file, V1 file or directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--objects",
        action="store_true",
        help="TF2 object-based checkpoints: print the object tree with each attribute's key",
    )


def cmd_ls(args: argparse.Namespace) -> int:
    from graphtui.core.checkpoint import load_checkpoint

    if args.objects:
        from graphtui.cli_tf2 import print_object_tree

        return print_object_tree(args.path, as_json=args.json)
    with load_checkpoint(args.path) as reader:
        infos = reader.tensors()
        fmt, prefix = reader.format, reader.prefix
    params = sum(i.num_elements for i in infos if i.dtype.name != "string")
    total_bytes = sum(i.nbytes for i in infos)
    if args.json:
        _print_json(
            {
                "checkpoint": prefix,
                "format": fmt,
                "tensors": [
                    {
                        "name": i.name,
                        "dtype": i.dtype.name,
                        "shape": list(i.shape),
                        "num_elements": i.num_elements,
                        "bytes": i.nbytes,
                        "partitions": i.num_slices,
                    }
                    for i in infos
                ],
                "total_parameters": params,
                "total_bytes": total_bytes,
            }
        )
        return EXIT_OK
    rows = [["NAME", "DTYPE", "SHAPE", "BYTES"]]
    for i in infos:
        shape = "[" + ",".join(map(str, i.shape)) + "]"
        if i.num_slices:
            shape += f" ({i.num_slices} parts)"
        rows.append([i.name, i.dtype.name, shape, str(i.nbytes)])
    _table(rows, align_right={3})
    _out(
        f"{len(infos)} tensors, {params:,} parameters, {_human_bytes(total_bytes)} ({fmt}: {prefix})"
    )
    return EXIT_OK


# -- cat -----------------------------------------------------------------------------------------


@command("cat", "print one tensor's value (numpy style), or write it to .npy")
def _cat_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="checkpoint prefix, .index file, V1 file or directory")
    p.add_argument("name", help="tensor name as listed by 'ls'")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--full", action="store_true", help="print every element (no summary)")
    p.add_argument("--npy", metavar="OUT", help="write the value to this .npy file (atomically)")


_JSON_ELEMENT_LIMIT = 1000


def _bytes_text(value: bytes, limit: int | None) -> str:
    shown = (
        repr(value) if limit is None or len(value) <= limit else repr(value[:limit])[:-1] + "...'"
    )
    return shown if limit is None or len(value) <= limit else f"{shown} ({len(value)} bytes)"


def _json_value(arr: Any) -> Any:
    """A JSON-ready nested list: strings as UTF-8 text (else {"base64": ...}), complex as
    [re, im], low-precision floats widened, non-finite floats as strings ("nan", "inf")."""
    import base64

    import numpy as np

    if arr.dtype == object:

        def conv(x: bytes) -> Any:
            try:
                return x.decode("utf-8")
            except UnicodeDecodeError:
                return {"base64": base64.b64encode(x).decode()}

        return _nested(arr, conv)
    if np.iscomplexobj(arr):
        arr = np.stack([arr.real, arr.imag], axis=-1)
    if arr.dtype.kind in "iub":
        return arr.tolist()
    wide = arr.astype(np.float64)
    return _nested(wide, lambda v: float(v) if math.isfinite(v) else str(v))


def _nested(arr: Any, conv: Callable[[Any], Any]) -> Any:
    if arr.ndim == 0:
        return conv(arr[()])
    if arr.ndim == 1:
        return [conv(x) for x in arr.tolist()]
    return [_nested(sub, conv) for sub in arr]


def _format_value(value: Any, full: bool) -> str:
    import numpy as np

    threshold = sys.maxsize if full else 1000
    if value.dtype == object:
        limit = None if full else 60
        return np.array2string(
            value,
            threshold=threshold,
            separator=", ",
            max_line_width=100,
            formatter={"all": lambda b: _bytes_text(b, limit)},  # type: ignore[arg-type]
        )
    return np.array2string(value, threshold=threshold, separator=", ", max_line_width=100)


def cmd_cat(args: argparse.Namespace) -> int:
    import numpy as np

    from graphtui.core.checkpoint import load_checkpoint

    with load_checkpoint(args.path) as reader:
        info = reader.tensor_info(args.name)
        value = reader.read(args.name)
        if args.npy:
            from graphtui.formats.atomic import atomic_write

            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=value.dtype == object)
            atomic_write(args.npy, buf.getvalue())
        if args.json:
            data: dict[str, Any] = {
                "name": info.name,
                "dtype": info.dtype.name,
                "shape": list(info.shape),
                "num_elements": info.num_elements,
            }
            if args.full or value.size <= _JSON_ELEMENT_LIMIT:
                data["value"] = _json_value(value)
            else:
                data["truncated"] = True
                data["head"] = _json_value(value.reshape(-1)[:_JSON_ELEMENT_LIMIT])
            if args.npy:
                data["npy"] = os.path.abspath(args.npy)
            _print_json(data)
            return EXIT_OK
        if args.npy:
            _out(f"wrote {args.npy} ({info.dtype.name} {list(info.shape)})")
            return EXIT_OK
        _out(f"{visible(info.name)}  {info.dtype.name}  {list(info.shape)}")
        _out(_format_value(value, args.full))
    return EXIT_OK


# -- history -------------------------------------------------------------------------------------


@command("history", "list a directory's checkpoints: step, time, size, latest, complete")
def _history_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="training directory (with or without a 'checkpoint' state file)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _fmt_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def cmd_history(args: argparse.Namespace) -> int:
    from graphtui.core.history import scan_history

    hist = scan_history(args.dir)
    if args.json:
        head = {
            "directory": hist.directory,
            "state_file": hist.state_file,
            "state_error": hist.state_error or None,
            "last_preserved_timestamp": hist.last_preserved_timestamp,
            "latest": hist.latest.prefix if hist.latest else None,
        }
        # one line per checkpoint, each by the C encoder: 10,000 records in a fraction of
        # what the indented encoder takes for their nested file lists
        lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
        records = ",\n".join("    " + json.dumps(r.to_json()) for r in hist.records)
        body = "[\n" + records + "\n  ]" if records else "[]"
        sys.stdout.write("{\n" + ",\n".join([*lines, f'  "checkpoints": {body}']) + "\n}\n")
        return EXIT_OK
    if hist.state_error:
        _err(f"graphtui: warning: {hist.state_error}")
    rows = [["", "STEP", "NAME", "TIME", "SIZE", "FMT", "STATUS"]]
    for r in hist.records:
        status = "ok" if r.complete else (r.problem or "incomplete")
        if not r.in_state:
            status += ", not in state file"
        if r.outside:
            status += ", outside directory"
        rows.append(
            [
                "*" if r.latest else "",
                "-" if r.step is None else str(r.step),
                r.name,
                f"invalid ({r.bad_timestamp})" if r.bad_timestamp else _fmt_time(r.timestamp),
                _human_bytes(r.size),
                r.format,
                status,
            ]
        )
    _table(rows, align_right={1, 4})
    _out(
        f"{len(hist.records)} checkpoints in {hist.directory}"
        + ("" if hist.state_file else " (no state file)")
    )
    return EXIT_OK


# -- verify --------------------------------------------------------------------------------------


@command("verify", "check every checksum of every tensor and block; exit 1 if any is bad")
def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="checkpoint prefix, .index file, V1 file or directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_verify(args: argparse.Namespace) -> int:
    from graphtui.core.checkpoint import load_checkpoint

    with load_checkpoint(args.path) as reader:
        problems = reader.verify()
        count = len(reader.names())
        prefix = reader.prefix
    if args.json:
        _print_json(
            {
                "checkpoint": prefix,
                "tensors": count,
                "ok": not problems,
                "problems": [str(p) for p in problems],
            }
        )
    else:
        for problem in problems:
            _out(f"BAD  {problem}")
        _out(
            f"{prefix}: {count} tensors, "
            + ("all checksums ok" if not problems else f"{len(problems)} problems")
        )
    return EXIT_OK if not problems else EXIT_ERROR


# -- entry point ---------------------------------------------------------------------------------


def build_parser() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The subcommand parser and the app parser (``graphtui [PATH]``)."""
    main = argparse.ArgumentParser(
        prog="graphtui",
        description="Explore TensorFlow meta graphs and checkpoints (no TensorFlow needed). "
        "With no command, opens the app on PATH (the bundled demo when PATH is omitted).",
    )
    main.add_argument("--version", action="version", version=f"graphtui {__version__}")
    sub = main.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_arguments, _) in _COMMANDS.items():
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    app = argparse.ArgumentParser(prog="graphtui", description=main.description)
    app.add_argument("--version", action="version", version=f"graphtui {__version__}")
    app.add_argument(
        "path",
        nargs="?",
        help=".meta file, checkpoint prefix/.index, training or SavedModel directory",
    )
    return main, app


_EXTENSIONS = (
    "graphtui.cli_write",
    "graphtui.cli_tf2",
    "graphtui.cli_freeze",
    "graphtui.cli_dot",
    "graphtui.cli_convert",
)


def _load_write_commands() -> None:
    """Import the modules that register more subcommands (writes; SavedModel and TF2)."""
    import importlib

    for name in _EXTENSIONS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        # names in checkpoints need not be valid text: never fail on printing one
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="backslashreplace")
    _load_write_commands()
    main_parser, app_parser = build_parser()
    try:
        first = next((a for a in argv if not a.startswith("-")), None)
        if first in _COMMANDS or any(a in ("-h", "--help") for a in argv[:1]):
            args = main_parser.parse_args(argv)
            if args.command is None:
                main_parser.print_help()
                return EXIT_USAGE
            handler = _resolve_handler(_COMMANDS[args.command][2])
            return handler(args)
        args = app_parser.parse_args(argv)
        return _run_app(args.path)
    except GraphtuiError as exc:
        _err(f"graphtui: error: {exc}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("graphtui: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `graphtui ls ... | head`: the reader went away; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except MemoryError:
        _err("graphtui: error: out of memory")
        return EXIT_ERROR
    except OSError as exc:  # the disk is full, a permission is missing: say which file
        where = f"{exc.filename}: " if exc.filename else ""
        _err(f"graphtui: error: {where}{exc.strerror or exc}")
        return EXIT_ERROR
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, unless debugging
        if os.environ.get("GRAPHTUI_DEBUG"):
            raise
        _err(
            f"graphtui: internal error: {type(exc).__name__}: {exc} "
            "(set GRAPHTUI_DEBUG=1 for a traceback)"
        )
        return EXIT_ERROR


def _resolve_handler(name: str) -> Handler:
    handler = globals().get(name)
    if handler is None:
        for module in _EXTENSIONS:
            mod = sys.modules.get(module)
            if mod is not None and hasattr(mod, name):
                handler = getattr(mod, name)
                break
    assert handler is not None, name
    return handler


def _run_app(path: str | None) -> int:
    if path is not None:
        from graphtui.core.locate import locate
        from graphtui.formats import storage

        if not locate(path).found and not storage.exists(path):
            _err(f"graphtui: error: {path}: no such file, checkpoint or directory")
            return EXIT_ERROR
    from graphtui.tui.app import run_app

    return run_app(path)


if __name__ == "__main__":
    raise SystemExit(main())
