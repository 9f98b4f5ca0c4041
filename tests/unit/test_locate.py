"""One answer to "what does this PATH name": locate() and every caller that relies on it agree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graphtui.core.checkpoint import load_checkpoint, resolve_checkpoint
from graphtui.core.locate import locate
from graphtui.core.savedmodel import open_saved_model
from graphtui.core.sources import open_source
from graphtui.core.workspace import open_workspace
from graphtui.errors import FormatError, MissingFileError, NotFoundError
from tests.fixtures.shared import DATA

TRAIN = DATA / "train"
SHARDED = DATA / "sharded"


@pytest.mark.parametrize(
    "path",
    [
        SHARDED / "model.ckpt",
        SHARDED / "model.ckpt.index",
        SHARDED / "model.ckpt.data-00001-of-00002",
        SHARDED / "model.ckpt.meta",
    ],
    ids=["prefix", "index", "data", "meta"],
)
def test_every_file_of_a_checkpoint_names_it_and_its_graph(path: Path) -> None:
    located = locate(path)
    assert located.prefix == str(SHARDED / "model.ckpt") and located.format == "V2"
    assert located.meta == str(SHARDED / "model.ckpt.meta")
    assert located.directory == str(SHARDED)
    assert resolve_checkpoint(path) == ("V2", str(SHARDED / "model.ckpt"))


def test_a_directory_names_the_state_files_latest_and_its_graph() -> None:
    located = locate(TRAIN)
    assert located.kind == "directory"
    assert located.prefix == str(TRAIN / "model.ckpt-50")
    assert located.meta == str(TRAIN / "model.ckpt-50.meta")
    with open_workspace(TRAIN) as ws:
        assert ws.active is not None and ws.active.prefix == located.prefix
        assert ws.meta_path == located.meta


def test_a_text_graph_is_a_graph_to_the_app_and_to_the_writes() -> None:
    """Before locate, open_source refused the ``.pbtxt``/``.meta.txt`` graph the app opened."""
    text_graph = TRAIN / "graph.meta.txt"
    located = locate(text_graph)
    assert located.kind == "meta" and located.meta == str(text_graph) and located.prefix is None
    source = open_source(str(text_graph))
    assert source.prefix is None and source.meta_path == str(text_graph)
    assert source.meta_graph is not None and len(source.meta_graph.graph_def.node) > 0
    with open_workspace(text_graph) as ws:
        assert ws.meta_path == str(text_graph) and ws.graph is not None
    with pytest.raises(MissingFileError, match="no checkpoint here"):
        resolve_checkpoint(text_graph)


@pytest.mark.parametrize("name", ["", "saved_model.pb"], ids=["directory", "file"])
def test_a_saved_model_names_its_variables(name: str) -> None:
    directory = DATA / "saved_model_v1"
    located = locate(directory / name if name else directory)
    assert located.kind == "saved_model"
    assert Path(located.saved_model_dir or "") == directory
    assert located.prefix == str(directory / "variables" / "variables")
    assert located.meta is None  # a SavedModel is no MetaGraphDef file
    with load_checkpoint(directory) as reader:
        assert reader.prefix == located.prefix
    with open_saved_model(directory / name if name else directory) as sm:
        assert Path(sm.directory) == directory


def test_a_saved_model_without_variables_says_so(tmp_path: Path) -> None:
    shutil.copy(DATA / "saved_model_v1" / "saved_model.pb", tmp_path / "saved_model.pb")
    located = locate(tmp_path)
    assert located.kind == "saved_model" and located.prefix is None
    with pytest.raises(MissingFileError, match="the SavedModel's variables are missing"):
        resolve_checkpoint(tmp_path)


def test_nothing_there(tmp_path: Path) -> None:
    located = locate(tmp_path / "nope" / "model.ckpt")
    assert not located.found
    with pytest.raises(MissingFileError, match="no checkpoint here"):
        located.checkpoint()
    with pytest.raises(NotFoundError, match="no such file, directory or checkpoint prefix"):
        open_workspace(tmp_path / "nope" / "model.ckpt")
    with pytest.raises(NotFoundError, match="couldn't find 'checkpoint' file or checkpoints"):
        locate(tmp_path).checkpoint()  # TF's words (and a ValueError, as TF's)


def test_a_malformed_state_file_is_the_directorys_problem_not_a_crash(tmp_path: Path) -> None:
    shutil.copytree(SHARDED, tmp_path / "d")
    (tmp_path / "d" / "checkpoint").write_text("model_checkpoint_path: ")
    located = locate(tmp_path / "d")
    assert located.kind == "directory" and located.prefix is None
    assert located.meta == str(tmp_path / "d" / "model.ckpt.meta")  # the graph is still there
    with pytest.raises(FormatError):
        located.checkpoint()
