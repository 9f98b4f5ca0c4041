"""``restore`` writes DST.meta as the source file's own bytes when the graph goes out unchanged
(a binary ``.meta``, every variable given a value, a V2 saver): no second serialization of a
big graph. Whenever the graph is changed on the way (variables left to their initializers drop
out of the saver; a V1 saver is rewritten) or the source is text, the message is serialized as
before. Either way the output is what the graph says, read back and checked."""

from __future__ import annotations

import shutil
from pathlib import Path

from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.graph import GraphIndex
from graphtui.core.metagraph import read_meta_graph, read_meta_graph_bytes
from graphtui.core.restore import restore
from graphtui.core.variables import saver_info
from graphtui.formats.metagraph_io import serialize_meta_graph
from tests.fixtures.shared import DATA

RESTORE = DATA / "restore"
SRC = RESTORE / "src" / "model.ckpt"


def test_unchanged_graph_is_written_as_its_bytes(tmp_path: Path) -> None:
    """The source written with its fields out of order (the saver first: what a merge of two
    messages gives) is the same graph, but serializing it again would give other bytes: the
    output is a copy of the file."""
    graph = read_meta_graph(RESTORE / "target_c_root.meta")
    saver_only = type(graph)()
    saver_only.saver_def.CopyFrom(graph.saver_def)
    rest = type(graph)()
    rest.CopyFrom(graph)
    rest.ClearField("saver_def")
    meta = tmp_path / "graph.meta"
    meta.write_bytes(saver_only.SerializeToString() + rest.SerializeToString())
    assert read_meta_graph(meta) == graph
    assert meta.read_bytes() != serialize_meta_graph(graph)
    report, result = restore(str(meta), str(SRC), {"/": "new_scope/"}, str(tmp_path / "o" / "m"))
    assert not report.missing and not result.notes
    assert Path(result.meta or "").read_bytes() == meta.read_bytes()


def test_text_source_is_written_binary(tmp_path: Path) -> None:
    """A text .meta's bytes are never the output: the graph is serialized (binary)."""
    graph = read_meta_graph(RESTORE / "target_c_root.meta")
    text = tmp_path / "graph.meta"
    text.write_bytes(serialize_meta_graph(graph, as_text=True))
    assert read_meta_graph_bytes(text)[1] is None
    _, result = restore(str(text), str(SRC), {"/": "new_scope/"}, str(tmp_path / "out" / "m"))
    written = Path(result.meta or "").read_bytes()
    assert written == serialize_meta_graph(graph)
    assert read_meta_graph(result.meta or "") == graph


def test_graph_changed_by_missing_variables_is_serialized(tmp_path: Path) -> None:
    """--allow-missing drops the missing variables from the saver: the output is the changed
    graph, not the source's bytes."""
    meta = RESTORE / "target_c_root.meta"
    with CheckpointReader(str(SRC)) as reader:
        one = reader.names()[0]
    graph = read_meta_graph(meta)
    report, result = restore(
        str(meta),
        str(SRC),
        [(one, _first_variable(graph))],
        str(tmp_path / "m"),
        allow_missing=True,
    )
    assert report.missing
    written = Path(result.meta or "").read_bytes()
    assert written != meta.read_bytes()
    saver = saver_info(GraphIndex(read_meta_graph(result.meta or "")))
    assert saver is not None and not set(saver.keys) & set(report.missing)


def test_v1_saver_is_rewritten_not_copied(tmp_path: Path) -> None:
    """A graph whose saver must be rewritten for the V2 checkpoint is serialized after the
    rewrite (the source's bytes would keep the V1 saver)."""
    src = tmp_path / "src"
    shutil.copytree(DATA / "v1", src)
    meta = src / "model.ckpt-2.meta"
    _, result = restore(
        str(meta), str(src / "model.ckpt-2"), {"v1/": "v1/"}, str(tmp_path / "o" / "m")
    )
    assert result.notes
    written = Path(result.meta or "").read_bytes()
    assert written != meta.read_bytes()
    saver = saver_info(GraphIndex(read_meta_graph(result.meta or "")))
    assert saver is not None and saver.version == "V2"


def _variables(index: GraphIndex) -> list:
    from graphtui.core.variables import VariableTable

    return [v for v in VariableTable.of(index).variables() if v.key_from_saver]


def _first_variable(graph: object) -> str:
    return "new_scope/" + _variables(GraphIndex(graph))[0].name.split("/", 1)[1]
