"""The ``checkpoint`` state file: a text-format CheckpointState naming the latest checkpoint."""

from __future__ import annotations

import os
import re
from typing import Any

from graphtui.errors import FormatError

DEFAULT_NAME = "checkpoint"
MAX_STATE_FILE_BYTES = 16 << 20


_LINE = re.compile(
    r'[ \t]*(model_checkpoint_path|all_model_checkpoint_paths)[ \t]*:[ \t]*"([^"\\\n]*)"[ \t]*'
    r"|[ \t]*(all_model_checkpoint_timestamps|last_preserved_timestamp)[ \t]*:[ \t]*"
    r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|-?(?:nan|inf|infinity))[ \t]*",
    re.IGNORECASE,
)


def _parse_plain(text: str) -> Any:
    """The state file as TensorFlow writes it (one field a line, plain strings and numbers)
    without the generic text-format parser, which takes seconds for 10,000 checkpoints; None
    for anything else (escapes, comments, other fields), which the full parser then reads."""
    from graphtui._proto import pb

    scalars: dict[str, Any] = {}
    paths: list[str] = []
    stamps: list[float] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            return None
        if m.group(1) is not None:
            field, value = m.group(1), m.group(2)
            if field != m.group(1).lower():
                return None
            if field == "all_model_checkpoint_paths":
                paths.append(value)
                continue
        else:
            field, number = m.group(3), m.group(4)
            if field != field.lower():
                return None
            if field == "all_model_checkpoint_timestamps":
                stamps.append(float(number))
                continue
            value = float(number)
        if field in scalars:  # text format lets the last one win; leave that to the parser
            return None
        scalars[field] = value
    state = pb.CheckpointState(**scalars)
    state.all_model_checkpoint_paths.extend(paths)
    state.all_model_checkpoint_timestamps.extend(stamps)
    return state


def parse_state(text: str, path: str) -> Any:
    """Parse a state file's text into a CheckpointState message (paths as written)."""
    from google.protobuf import text_format

    from graphtui._proto import POOL, pb

    plain = _parse_plain(text)
    if plain is not None:
        return plain
    state = pb.CheckpointState()
    try:
        text_format.Parse(text, state, descriptor_pool=POOL)
    except text_format.ParseError as exc:
        raise FormatError(path, f"not a checkpoint state file: {exc}") from None
    return state


def read_state(path: str | os.PathLike[str]) -> Any:
    """Read and parse a state file; FormatError if it is unreadable or malformed."""
    path = os.fspath(path)
    from graphtui.formats.byte_source import read_file

    data = read_file(
        path,
        limit=MAX_STATE_FILE_BYTES,
        too_large="state file is larger than 16 MiB: not a checkpoint state file",
        missing="no checkpoint state file",
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(path, "state file is not UTF-8 text") from None
    return parse_state(text, path)


def format_state(state: Any) -> str:
    """The text TensorFlow writes for a CheckpointState."""
    from google.protobuf import text_format

    return str(text_format.MessageToString(state))


def make_state(
    model_checkpoint_path: str,
    all_model_checkpoint_paths: list[str],
    all_model_checkpoint_timestamps: list[float] | None = None,
    last_preserved_timestamp: float | None = None,
) -> Any:
    from graphtui._proto import pb

    state = pb.CheckpointState(model_checkpoint_path=model_checkpoint_path)
    state.all_model_checkpoint_paths.extend(all_model_checkpoint_paths)
    if all_model_checkpoint_timestamps:
        state.all_model_checkpoint_timestamps.extend(all_model_checkpoint_timestamps)
    if last_preserved_timestamp is not None:
        state.last_preserved_timestamp = last_preserved_timestamp
    return state
