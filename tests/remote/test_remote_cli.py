"""The CLI and the drop-in API over URLs answer exactly what they answer for the same files on
disk (paths aside): ls, cat, verify, show, history, load_checkpoint, latest_checkpoint,
get_checkpoint_state, read_meta_graph, list_variables."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import graphtui
from graphtui.cli import main
from graphtui.formats import remote as remote_mod
from tests.remote.conftest import FIXTURES, Remote


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _unpath(obj: Any, local: str, url: str) -> Any:
    """``obj`` with the URL root written as the local root (so answers compare)."""
    text = json.dumps(obj)
    return json.loads(text.replace(url, local))


LS_CASES = [
    "train",  # a directory: its latest checkpoint
    "train/model.ckpt-40",
    "sharded/model.ckpt.index",
    "partitioned/model.ckpt",
    "dtypes/model.ckpt",
    "v1/model.ckpt-2",
    "tf2/saved_model",
]


@pytest.mark.parametrize("rel", LS_CASES)
def test_ls_equals_local(remote: Remote, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, local_out, _ = _run(capsys, "ls", str(FIXTURES / rel), "--json")
    assert code == 0
    code, far_out, err = _run(capsys, "ls", remote.url(rel), "--json")
    assert code == 0, err
    assert _unpath(json.loads(far_out), str(FIXTURES), remote.base) == json.loads(local_out)


@pytest.mark.parametrize(
    ("rel", "name"),
    [
        ("train/model.ckpt-50", "model/layer_1/dense/kernel"),
        ("partitioned/model.ckpt", "embeddings/table"),
        ("dtypes/model.ckpt", "t_string"),
        ("v1/model.ckpt-2", "part"),
    ],
)
def test_cat_equals_local(
    remote: Remote, rel: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    local = graphtui.load_checkpoint(str(FIXTURES / rel))
    if not local.has_tensor(name):
        name = local.names()[-1]
    code, local_out, _ = _run(capsys, "cat", str(FIXTURES / rel), name, "--json")
    assert code == 0
    code, far_out, err = _run(capsys, "cat", remote.url(rel), name, "--json")
    assert code == 0, err
    assert _unpath(json.loads(far_out), str(FIXTURES), remote.base) == json.loads(local_out)


@pytest.mark.parametrize("rel", ["train/model.ckpt-50", "sharded/model.ckpt", "v1/model.ckpt-2"])
def test_verify_equals_local(remote: Remote, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "verify", remote.url(rel))
    assert code == 0, err


def test_show_saved_model(remote: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    code, local_out, _ = _run(capsys, "show", str(FIXTURES / "tf2/saved_model"), "--json")
    assert code == 0
    code, far_out, err = _run(capsys, "show", remote.url("tf2/saved_model"), "--json")
    assert code == 0, err
    assert _unpath(json.loads(far_out), str(FIXTURES), remote.base) == json.loads(local_out)


def _history(capsys: pytest.CaptureFixture[str], path: str) -> list[dict[str, Any]]:
    code, out, err = _run(capsys, "history", path, "--json")
    assert code == 0, err
    data = json.loads(out)
    records = data["checkpoints"] if isinstance(data, dict) else data
    for rec in records:  # object stores have their own times
        rec.pop("timestamp", None)
    return records


@pytest.mark.parametrize("rel", ["train", "v1"])
def test_history_equals_local(store: Remote, rel: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = remote_mod.STATS.snapshot()
    far = _history(capsys, store.url(rel))
    local = _history(capsys, str(FIXTURES / rel))
    assert _unpath(far, str(FIXTURES), store.base) == local
    requests = remote_mod.STATS.snapshot()[0] - before[0]
    assert requests <= 2  # the state file (size + bytes); the listing is counted by fsspec


def test_drop_in_api(remote: Remote) -> None:
    url = remote.url("train")
    local = str(FIXTURES / "train")
    assert graphtui.latest_checkpoint(url) == remote.url("train/model.ckpt-50")
    state = graphtui.get_checkpoint_state(url)
    want = graphtui.get_checkpoint_state(local)
    assert list(state.all_model_checkpoint_paths) == [
        p.replace(local, url) for p in want.all_model_checkpoint_paths
    ]
    assert graphtui.list_variables(url) == graphtui.list_variables(local)
    reader = graphtui.load_checkpoint(url)
    local_reader = graphtui.load_checkpoint(local)
    for name in local_reader.names():
        assert np.array_equal(reader.get_tensor(name), local_reader.get_tensor(name))
    mg = graphtui.read_meta_graph(remote.url("train/model.ckpt-50.meta"))
    assert mg == graphtui.read_meta_graph(str(FIXTURES / "train/model.ckpt-50.meta"))
    text = graphtui.read_meta_graph(remote.url("train/graph.meta.txt"))
    assert len(text.graph_def.node) == len(mg.graph_def.node)


def test_errors_are_one_line(remote: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    url = remote.url("train/model.ckpt-999")
    code, out, err = _run(capsys, "ls", url)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("graphtui: error: ") and url in err


def test_ls_of_a_directory_sends_the_state_file_and_index_only(
    http_remote: Remote, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server's own count: `ls` of a training directory is its state file plus the latest
    checkpoint's index, a few KiB of slack at most (no data shard, no .meta)."""
    assert http_remote.server is not None
    before = http_remote.server.counters.snapshot()
    code, _, err = _run(capsys, "ls", http_remote.url("train"), "--json")
    assert code == 0, err
    sent = http_remote.server.counters.snapshot()[1] - before[1]
    state = (FIXTURES / "train" / "checkpoint").stat().st_size
    index = (FIXTURES / "train" / "model.ckpt-50.index").stat().st_size
    assert state + index <= sent <= state + index + 4096


def test_rescan_of_a_bucket_sees_a_new_checkpoint(store: Remote) -> None:
    """The app's History polls for new checkpoints: on a bucket the listing is cached after
    the first scan, so a rescan must ask the store again to see what training wrote since."""
    from graphtui.core.workspace import open_workspace

    scheme = store.base.split("://")[0]
    directory = f"fixtures/rescan-{store.kind}"
    for path in sorted((FIXTURES / "train").iterdir()):
        if path.name.startswith("model.ckpt-40.") or path.name == "checkpoint":
            store.fs.pipe_file(f"{directory}/{path.name}", path.read_bytes())
    store.fs.pipe_file(
        f"{directory}/checkpoint",
        b'model_checkpoint_path: "model.ckpt-40"\nall_model_checkpoint_paths: "model.ckpt-40"\n',
    )
    ws = open_workspace(f"{scheme}://{directory}")
    try:
        assert ws.history is not None and len(ws.history.records) == 1
        assert ws.rescan_history() is None  # nothing new
        import fsspec

        trainer = fsspec.filesystem(scheme, skip_instance_cache=True)  # another process's
        for path in sorted((FIXTURES / "train").iterdir()):
            if path.name.startswith("model.ckpt-50."):
                trainer.pipe_file(f"{directory}/{path.name}", path.read_bytes())
        trainer.pipe_file(
            f"{directory}/checkpoint",
            b'model_checkpoint_path: "model.ckpt-50"\n'
            b'all_model_checkpoint_paths: "model.ckpt-40"\n'
            b'all_model_checkpoint_paths: "model.ckpt-50"\n',
        )
        assert ws.rescan_history() == [f"{scheme}://{directory}/model.ckpt-50"]
    finally:
        ws.close()
