"""Paths the readers must understand as TensorFlow does (issue 18.8, 18.9): a meta graph file
not named ``*.meta`` (text or binary, told by its bytes), and ``--meta`` given a SavedModel's
``saved_model.pb`` (a clear message, not a decoding error)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graphtui.cli import main as cli_main
from graphtui.core.locate import locate
from graphtui.core.metagraph import read_meta_graph
from graphtui.formats.metagraph_io import serialize_meta_graph

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
META = DATA / "train" / "model.ckpt-50.meta"


@pytest.mark.parametrize("as_text", [True, False], ids=["text", "binary"])
def test_meta_graph_named_pb_is_a_graph(tmp_path: Path, as_text: bool) -> None:
    """18.8: ``metrics_export_meta_graph.pb`` (text) was read as a V1 checkpoint."""
    path = tmp_path / "metrics_export_meta_graph.pb"
    path.write_bytes(serialize_meta_graph(read_meta_graph(META), as_text=as_text))
    found = locate(path)
    assert (found.kind, found.meta, found.prefix) == ("meta", str(path), None)
    out = tmp_path / "out" / "m"
    assert cli_main(["export", str(path), "--out", str(out)]) == 0
    assert read_meta_graph(f"{out}.meta") == read_meta_graph(META)


def test_v1_checkpoint_file_is_still_a_checkpoint(tmp_path: Path) -> None:
    """A V1 table file without suffix stays a checkpoint (its footer says so)."""
    shutil.copy(DATA / "v1" / "model.ckpt-1", tmp_path / "export")
    found = locate(tmp_path / "export")
    assert (found.kind, found.format) == ("checkpoint", "V1")


def test_meta_given_a_saved_model_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """18.9: ``export --meta DIR/saved_model.pb`` said "string is not valid UTF-8"."""
    sm = DATA / "saved_model_v1" / "saved_model.pb"
    code = cli_main(
        ["export", "--meta", str(sm), str(DATA / "train"), "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "is a SavedModel" in err and "UTF-8" not in err
    assert not (tmp_path / "o.meta").exists()
