"""The user's keymap: a ``[keymap]`` table in ``config.toml`` rebinds keys by binding id.

Every binding of the app and its panes has an ``id=``; the table maps ids to keys (a comma
separated list binds several), as posting does::

    # ~/.config/graphtui/config.toml  ($XDG_CONFIG_HOME/graphtui, or $GRAPHTUI_CONFIG)
    [keymap]
    help = "f1"
    search = "ctrl+f,slash"

The help screen and the command palette read the live bindings, so they show the keys in use.
A file that does not read, or an id no binding has, is a warning; the defaults stay.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Keymap = dict[str, str]


def config_path() -> Path:
    """``$GRAPHTUI_CONFIG``, else ``$XDG_CONFIG_HOME/graphtui/config.toml`` (``~/.config``)."""
    explicit = os.environ.get("GRAPHTUI_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "graphtui" / "config.toml"


def load_keymap(path: Path | None = None, known: Iterable[str] = ()) -> tuple[Keymap, list[str]]:
    """The ``[keymap]`` table of ``path`` (default :func:`config_path`) and one warning per
    problem; no file is an empty keymap. ``known``: the binding ids that exist (others warn)."""
    path = config_path() if path is None else path
    try:
        with open(path, "rb") as fh:
            data = _toml().load(fh)
    except FileNotFoundError:
        return {}, []
    except (OSError, ValueError) as exc:  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return {}, [f"{path}: not read ({exc}); the default keys are used"]
    table = data.get("keymap", {})
    if not isinstance(table, dict):
        return {}, [f'{path}: [keymap] must be a table of binding id = "keys"']
    known_ids = set(known)
    keymap: Keymap = {}
    problems: list[str] = []
    for binding_id, keys in table.items():
        if not isinstance(keys, str) or not keys.strip():
            problems.append(f"{path}: keymap {binding_id!r}: give the keys as a string")
        elif known_ids and binding_id not in known_ids:
            problems.append(f"{path}: keymap {binding_id!r}: no binding has this id")
        else:
            keymap[binding_id] = keys.replace(" ", "")
    return keymap, problems


def _toml() -> Any:
    """The TOML reader, imported when a config file exists (~10 ms of start-up otherwise)."""
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    import tomli  # pragma: no cover - Python 3.10

    return tomli  # pragma: no cover
