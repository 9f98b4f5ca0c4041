"""graphtui: explore TensorFlow meta graphs and checkpoints without TensorFlow.

The public API is imported lazily so that ``import graphtui`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from graphtui._version import __version__

# public name -> module that defines it
_API = {
    "read_meta_graph": "graphtui.core.metagraph",
    "export_meta_graph": "graphtui.core.metagraph",
    "GraphIndex": "graphtui.core.graph",
    "load_checkpoint": "graphtui.core.checkpoint",
    "list_variables": "graphtui.core.checkpoint",
    "latest_checkpoint": "graphtui.core.checkpoint",
    "get_checkpoint_state": "graphtui.core.checkpoint",
    "CheckpointReader": "graphtui.core.checkpoint",
    "TensorArray": "graphtui.core.values",
    "load_variable": "graphtui.core.checkpoint",
    "checkpoint_exists": "graphtui.core.checkpoint",
    "get_checkpoint_mtimes": "graphtui.core.checkpoint",
    "wait_for_new_checkpoint": "graphtui.core.checkpoint",
    "checkpoints_iterator": "graphtui.core.checkpoint",
    "NotFoundError": "graphtui.errors",
    "GraphtuiError": "graphtui.errors",
    "FormatError": "graphtui.errors",
    "ChecksumError": "graphtui.errors",
    "CoreError": "graphtui.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'graphtui' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
