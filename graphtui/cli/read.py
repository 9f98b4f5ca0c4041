"""The CLI's reading commands: ``ls``, ``cat``, ``history``, ``verify``."""

from __future__ import annotations

import argparse
import io
import json
import math
import operator
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

from graphtui.cli.output import EncodedRows, err, keyed_table, out, print_json, table
from graphtui.cli.progress import add_quiet, progress
from graphtui.cli.registry import EXIT_ERROR, EXIT_OK, command
from graphtui.core.units import human_bytes
from graphtui.formats.visible import visible

# -- ls ------------------------------------------------------------------------------------------


def _ls_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="checkpoint prefix, .index file, V1 file or directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--objects",
        action="store_true",
        help="TF2 object-based checkpoints: print the object tree with each attribute's key",
    )


@command("ls", "list a checkpoint's tensors: name, dtype, shape, bytes, parameter count", _ls_args)
def cmd_ls(args: argparse.Namespace) -> int:
    from json.encoder import encode_basestring_ascii

    import numpy as np

    from graphtui.core.checkpoint import load_checkpoint

    if args.objects:
        from graphtui.cli.savedmodel import print_object_tree

        return print_object_tree(args.path, as_json=args.json)
    with load_checkpoint(args.path) as reader:
        listing = reader.listing()
        fmt, prefix = reader.format, reader.prefix
    codes, kinds = listing.distinct()
    counts = np.bincount(codes, minlength=len(kinds)).tolist()
    params = sum(
        count * kind[4]
        for count, kind in zip(counts, kinds, strict=True)
        if kind[0].name != "string"
    )
    total_bytes = sum(count * kind[2] for count, kind in zip(counts, kinds, strict=True))
    if args.json:
        rests = [
            json.dumps(
                {
                    "name": "",
                    "dtype": dt.name,
                    "shape": list(shape),
                    "num_elements": num_elements,
                    "bytes": nbytes,
                    "partitions": slices,
                }
            )[len('{"name": ""') :]
            for dt, shape, nbytes, slices, num_elements in kinds
        ]
        tails = np.array(rests or [""], dtype=object)

        def rows(start: int, stop: int) -> Iterable[str]:
            names = map(encode_basestring_ascii, listing.names[start:stop])
            return map(operator.add, map('{"name": '.__add__, names), tails[codes[start:stop]])

        print_json(
            {
                "checkpoint": prefix,
                "format": fmt,
                "tensors": EncodedRows(len(listing), rows),
                "total_parameters": params,
                "total_bytes": total_bytes,
            }
        )
        return EXIT_OK
    cells = []
    for dt, shape, nbytes, slices, _ in kinds:
        text = "[" + ",".join(map(str, shape)) + "]"
        if slices:
            text += f" ({slices} parts)"
        cells.append([dt.name, text, str(nbytes)])
    keyed_table(["NAME", "DTYPE", "SHAPE", "BYTES"], listing.names, cells, codes, align_right={3})
    out(
        f"{len(listing)} tensors, {params:,} parameters, {human_bytes(total_bytes)} ({fmt}: {visible(prefix)})"
    )
    return EXIT_OK


# -- cat -----------------------------------------------------------------------------------------


def _cat_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="checkpoint prefix, .index file, V1 file or directory")
    p.add_argument("name", help="tensor name as listed by 'ls'")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--full", action="store_true", help="print every element (no summary)")
    p.add_argument("--npy", metavar="OUT", help="write the value to this .npy file (atomically)")
    add_quiet(p)


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


@command("cat", "print one tensor's value (numpy style), or write it to .npy", _cat_args)
def cmd_cat(args: argparse.Namespace) -> int:

    from graphtui.core.checkpoint import load_checkpoint

    with load_checkpoint(args.path) as reader:
        info = reader.tensor_info(args.name)
        if not args.npy:
            value = reader.read(args.name)
        else:
            with progress(args, "cat"):
                value = _write_npy(reader, args.name, info, args.npy)
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
            print_json(data)
            return EXIT_OK
        if args.npy:
            out(f"wrote {args.npy} ({info.dtype.name} {list(info.shape)})")
            return EXIT_OK
        out(f"{visible(info.name)}  {info.dtype.name}  {list(info.shape)}")
        out(_format_value(value, args.full))
    return EXIT_OK


_NPY_CHUNK = 16 << 20


def _write_npy(reader: Any, name: str, info: Any, path: str) -> Any:
    """Read tensor ``name`` (``info`` its TensorInfo) and write it to ``path`` as .npy (the
    file the app's ``e`` writes, which plain numpy loads), atomically, a chunk at a time (so a
    progress bar moves and Ctrl+C stops within a chunk; the temporary file goes)."""
    import numpy as np

    from graphtui.core.export_npy import npy_array
    from graphtui.formats import progress as meter
    from graphtui.formats.atomic import atomic_writer

    meter.expect(info.nbytes)
    value = reader.read(name)
    meter.advance(info.nbytes)
    buf = io.BytesIO()
    arr, pickle = npy_array(value, info.dtype)
    np.save(buf, arr, allow_pickle=pickle)
    data = buf.getbuffer()
    meter.expect(len(data))
    with atomic_writer(path, "wb") as fh:
        for pos in range(0, len(data), _NPY_CHUNK):
            chunk = data[pos : pos + _NPY_CHUNK]
            fh.write(chunk)
            meter.advance(len(chunk))
    return value


# -- history -------------------------------------------------------------------------------------


def _history_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="training directory (with or without a 'checkpoint' state file)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _fmt_time(ts: float | None) -> str:
    if ts is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@command(
    "history", "list a directory's checkpoints: step, time, size, latest, complete", _history_args
)
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
        err(f"graphtui: warning: {hist.state_error}")
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
                human_bytes(r.size),
                r.format,
                status,
            ]
        )
    table(rows, align_right={1, 4})
    out(
        f"{len(hist.records)} checkpoints in {hist.directory}"
        + ("" if hist.state_file else " (no state file)")
    )
    return EXIT_OK


# -- verify --------------------------------------------------------------------------------------


def _verify_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", help="checkpoint prefix, .index file, V1 file or directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_quiet(p)


@command(
    "verify", "check every checksum of every tensor and block; exit 1 if any is bad", _verify_args
)
def cmd_verify(args: argparse.Namespace) -> int:
    from graphtui.core.checkpoint import load_checkpoint

    with load_checkpoint(args.path) as reader, progress(args, "verify"):
        problems = reader.verify()
        count = len(reader.names())
        prefix = reader.prefix
    if args.json:
        print_json(
            {
                "checkpoint": prefix,
                "tensors": count,
                "ok": not problems,
                "problems": [str(p) for p in problems],
            }
        )
    else:
        for problem in problems:
            out(f"BAD  {problem}")
        out(
            f"{visible(prefix)}: {count} tensors, "
            + ("all checksums ok" if not problems else f"{len(problems)} problems")
        )
    return EXIT_OK if not problems else EXIT_ERROR
