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


def _hinted(directory: Path) -> str:
    with pytest.raises(NotFoundError) as info:
        locate(directory).checkpoint()
    return str(info.value)


def test_a_directory_without_a_state_file_names_what_it_holds(tmp_path: Path) -> None:
    # TF's message stops at "couldn't find"; the next step is the prefix or the SavedModel
    lone = tmp_path / "lone"
    shutil.copytree(SHARDED, lone)
    (lone / "checkpoint").unlink()
    message = _hinted(lone)
    assert message.endswith(f"it holds the checkpoint 'model.ckpt': give its prefix {lone}/model.ckpt")
    assert resolve_checkpoint(lone / "model.ckpt")[1] == str(lone / "model.ckpt")

    many = tmp_path / "many"
    many.mkdir()
    for step in (9, 10, 100, 20):
        (many / f"model.ckpt-{step}.index").write_bytes(b"")
    assert _hinted(many).endswith(
        "it holds the 4 checkpoints 'model.ckpt-9', 'model.ckpt-10', 'model.ckpt-20', ...: "
        f"give one's prefix, e.g. {many}/model.ckpt-100"
    )

    exports = tmp_path / "exports"
    (exports / "00000123").mkdir(parents=True)
    (exports / "00000123" / "saved_model.pb").write_bytes(b"")
    (exports / "notes").mkdir()
    assert _hinted(exports).endswith(f"it holds a SavedModel in '00000123/': give {exports}/00000123")

    below = tmp_path / "below"
    (below / "variables").mkdir(parents=True)
    (below / "variables" / "variables.index").write_bytes(b"")
    assert _hinted(below).endswith(
        f"it holds the checkpoint 'variables/variables': give its prefix {below}/variables/variables"
    )

    v1 = tmp_path / "v1"  # TF 0.x single-file V1 checkpoints, known by their table footer
    v1.mkdir()
    shutil.copy(DATA / "v1" / "model.ckpt-1", v1 / "model.ckpt-1")
    shutil.copy(DATA / "v1" / "model.ckpt-2", v1 / "weights")
    (v1 / "notes").write_bytes(b"not a checkpoint, no footer" * 4)
    assert _hinted(v1).endswith(
        f"it holds the 2 checkpoints 'model.ckpt-1', 'weights': give one's prefix, e.g. {v1}/weights"
    )
    assert resolve_checkpoint(v1 / "weights") == ("V1", str(v1 / "weights"))

    empty = tmp_path / "empty"
    empty.mkdir()
    assert _hinted(empty).endswith("couldn't find 'checkpoint' file or checkpoints in directory")


REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"
_SETS = sorted(p for p in REALWORLD.iterdir() if p.is_dir()) if REALWORLD.is_dir() else []


@pytest.mark.skipif(not _SETS, reason=f"{REALWORLD}: the real-world sets are not here")
def test_every_hint_on_real_directories_names_a_path_that_opens() -> None:
    """Other people's export and training directories (TF 0.12 to 2.15 layouts): where a
    directory names no checkpoint and holds one, the path the message gives reads."""
    hinted = 0
    for directory in _SETS:
        try:
            resolve_checkpoint(directory)
            continue
        except NotFoundError as exc:
            message = str(exc)
        except MissingFileError:
            continue  # a SavedModel without variables: its own message
        if "give " not in message:
            continue
        path = message.rsplit(" ", 1)[1]
        fmt, prefix = resolve_checkpoint(path)
        assert load_checkpoint(prefix).listing().names, directory
        hinted += 1
    assert hinted >= 5  # lone prefixes, V1 exports beside their .meta, SavedModel parents
