"""Re-export: a new ``DST.meta`` (binary or text, devices cleared, a subset of collections) and
``DST.index`` + data (tensors copied as raw bytes; V1 checkpoints become V2) + state file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphtui.core.ckpt_write import copy_tensors
from graphtui.core.metagraph import prepare_export
from graphtui.core.output import WriteResult, write_checkpoint
from graphtui.core.sources import open_source
from graphtui.core.write_check import Expected
from graphtui.formats.transaction import OnStep


def export(
    src: str,
    out: str,
    *,
    as_text: bool = False,
    clear_devices: bool = False,
    collections: Sequence[str] | None = None,
    strip_default_attrs: bool = False,
    meta: str | None = None,
    on_step: OnStep | None = None,
) -> WriteResult:
    """``graphtui export``: write SRC's meta graph and checkpoint under the new prefix ``out``."""
    source = open_source(src, meta)
    graph = None
    if source.meta_graph is not None:
        graph = prepare_export(
            source.meta_graph,
            clear_devices=clear_devices,
            collection_list=list(collections) if collections else None,
            strip_default_attrs=strip_default_attrs,
        )
    if source.prefix is None:
        return write_checkpoint(
            out, sources=source.paths, meta_graph=graph, as_text=as_text, on_step=on_step
        )
    with source.reader() as reader:
        plan = {name: name for name in reader.names()}

        def fill(writer: Any) -> dict[str, Expected]:
            return copy_tensors(reader, writer, plan)

        return write_checkpoint(
            out, sources=source.paths, fill=fill, meta_graph=graph, as_text=as_text, on_step=on_step
        )
