"""The ``checkpoint`` state file: a text-format CheckpointState naming the latest checkpoint."""

from __future__ import annotations

import os
from typing import Any

from graphtui.errors import FormatError

DEFAULT_NAME = "checkpoint"
MAX_STATE_FILE_BYTES = 16 << 20


def parse_state(text: str, path: str) -> Any:
    """Parse a state file's text into a CheckpointState message (paths as written)."""
    from google.protobuf import text_format

    from graphtui._proto import POOL, pb

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
