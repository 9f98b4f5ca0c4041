"""Writes with a URL on either side: export/rename/strip/restore to a bucket (uploaded data
first, index last, read back and verified, then the state file), from a bucket to disk; a fault
between uploads leaves no state file naming a missing checkpoint and removes what was uploaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import graphtui
from graphtui.cli import main
from graphtui.core.export import export
from graphtui.formats.state_file import read_state
from tests.counting_meter import CountingMeter
from tests.remote.conftest import FIXTURES, Remote


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _same_checkpoint(a: str, b: str) -> None:
    ra, rb = graphtui.load_checkpoint(a), graphtui.load_checkpoint(b)
    assert ra.names() == rb.names()
    for name in ra.names():
        assert np.array_equal(ra.get_tensor(name), rb.get_tensor(name)), name


def _objects(store: Remote, directory: str) -> list[str]:
    fs = store.fs
    fs.invalidate_cache()
    try:
        return sorted(p.rsplit("/", 1)[1] for p in fs.ls(directory, detail=False))
    except FileNotFoundError:
        return []


def test_export_bucket_to_bucket(store: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    scheme = store.base.split("://")[0]
    out = f"{scheme}://fixtures/out-{store.kind}/export/model.ckpt"
    code, stdout, err = _run(capsys, "export", store.url("train"), "--out", out, "--json")
    assert code == 0, err
    result = json.loads(stdout)["output"]
    assert result["prefix"] == out and result["verified"]
    assert result["state_file"] == f"{scheme}://fixtures/out-{store.kind}/export/checkpoint"
    assert _objects(store, f"fixtures/out-{store.kind}/export") == [
        "checkpoint",
        "model.ckpt.data-00000-of-00001",
        "model.ckpt.index",
        "model.ckpt.meta",
    ]
    _same_checkpoint(out, str(FIXTURES / "train" / "model.ckpt-50"))
    assert graphtui.latest_checkpoint(out.rsplit("/", 1)[0]) == out
    # the same target again is refused, nothing touched
    code, _, err = _run(capsys, "export", store.url("train"), "--out", out)
    assert code == 1 and "already has files" in err


def test_export_from_one_bucket_to_another(
    store: Remote, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's `graphtui export s3://a/run --out s3://b/out`: a run directory in one
    bucket, the result in another; the source bucket is left as it was."""
    scheme = store.base.split("://")[0]
    other = f"graphtui-out-{store.kind}"
    store.fs.mkdir(other, exist_ok=True)
    before = _objects(store, "fixtures/train")
    out = f"{scheme}://{other}/out/model.ckpt"
    code, stdout, err = _run(capsys, "export", store.url("train"), "--out", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["output"]["verified"]
    assert _objects(store, f"{other}/out") == [
        "checkpoint",
        "model.ckpt.data-00000-of-00001",
        "model.ckpt.index",
        "model.ckpt.meta",
    ]
    _same_checkpoint(out, str(FIXTURES / "train" / "model.ckpt-50"))
    assert graphtui.latest_checkpoint(f"{scheme}://{other}/out") == out
    assert _objects(store, "fixtures/train") == before


def test_export_bucket_to_disk_and_back(
    store: Remote, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = tmp_path / "down" / "model.ckpt"
    code, _, err = _run(capsys, "export", store.url("partitioned/model.ckpt"), "--out", str(local))
    assert code == 0, err
    _same_checkpoint(str(local), str(FIXTURES / "partitioned" / "model.ckpt"))
    scheme = store.base.split("://")[0]
    up = f"{scheme}://fixtures/out-{store.kind}/up/model.ckpt"
    code, _, err = _run(capsys, "export", str(local), "--out", up)
    assert code == 0, err
    _same_checkpoint(up, str(FIXTURES / "partitioned" / "model.ckpt"))


def test_rename_and_strip_to_bucket(store: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    scheme = store.base.split("://")[0]
    out = f"{scheme}://fixtures/out-{store.kind}/renamed/model.ckpt"
    code, _, err = _run(
        capsys, "rename", store.url("train/model.ckpt-50"), "--map", "model/=net/", "--out", out
    )
    assert code == 0, err
    names = graphtui.load_checkpoint(out).names()
    assert any(n.startswith("net/") for n in names) and not any(
        n.startswith("model/") for n in names
    )
    out2 = f"{scheme}://fixtures/out-{store.kind}/stripped/model.ckpt"
    code, _, err = _run(
        capsys, "strip", store.url("train/model.ckpt-50"), "--drop", "*/Adam*", "--out", out2
    )
    assert code == 0, err
    assert not any("Adam" in n for n in graphtui.load_checkpoint(out2).names())


@pytest.mark.parametrize(
    "fail_at",
    [
        "upload model.ckpt-2.data-00000-of-00001",
        "upload model.ckpt-2.meta",
        "upload model.ckpt-2.index",
        "upload checkpoint",
    ],
)
def test_fault_between_uploads_leaves_no_state_naming_a_missing_checkpoint(
    store: Remote, fail_at: str
) -> None:
    scheme = store.base.split("://")[0]
    directory = f"fixtures/out-{store.kind}/fault-{fail_at.split()[-1].replace('.', '-')}"
    # a directory that already has a checkpoint and a state file naming it
    ok = f"{scheme}://{directory}/model.ckpt-1"
    export(store.url("sharded/model.ckpt"), ok)
    state_before = store.fs.cat_file(f"{directory}/checkpoint")

    def fault(step: str) -> None:
        if step == fail_at:
            raise OSError(f"injected fault at {step}")

    with pytest.raises(OSError):
        export(store.url("train"), f"{scheme}://{directory}/model.ckpt-2", on_step=fault)
    assert _objects(store, directory) == [
        "checkpoint",
        "model.ckpt-1.data-00000-of-00001",
        "model.ckpt-1.index",
        "model.ckpt-1.meta",
    ]
    assert store.fs.cat_file(f"{directory}/checkpoint") == state_before
    state = read_state(f"{scheme}://{directory}/checkpoint")
    assert state.model_checkpoint_path == "model.ckpt-1"


def test_restore_from_and_to_a_bucket(store: Remote, capsys: pytest.CaptureFixture[str]) -> None:
    scheme = store.base.split("://")[0]
    out = f"{scheme}://fixtures/out-{store.kind}/restored/model.ckpt"
    code, _, err = _run(
        capsys,
        "restore",
        store.url("restore/target_a_scope.meta"),
        "--from",
        store.url("restore/src/model.ckpt"),
        "--map",
        "old_scope/=new_scope/",
        "--out",
        out,
        "--allow-missing",
    )
    assert code == 0, err
    got = graphtui.load_checkpoint(out)
    want = graphtui.load_checkpoint(str(FIXTURES / "restore" / "src" / "model.ckpt"))
    assert np.array_equal(got.get_tensor("new_scope/var1"), want.get_tensor("old_scope/var1"))


def test_state_edits_on_a_bucket_are_one_error_line(
    store: Remote, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["rollback", store.url("train"), "40"], ["fix-paths", store.url("train")]):
        code, out, err = _run(capsys, *argv)
        assert code == 1 and err.count("\n") == 1 and err.startswith("graphtui: error: "), err
        assert "does not work on URLs" in err


def test_an_upload_reports_its_bytes_to_the_progress_meter(store: Remote) -> None:
    """Issue 17.4: with a meter watching (the CLI's bar on a terminal), the upload's bytes
    count too (fsspec's put_file callback): the local write's, then every uploaded byte."""
    from graphtui.formats import progress

    scheme = store.base.split("://")[0]
    out = f"{scheme}://fixtures/out-{store.kind}/metered/model.ckpt"
    meter = CountingMeter()
    with progress.metered(meter):
        export(str(FIXTURES / "train" / "model.ckpt-50"), out)
    uploaded = sum(
        store.fs.info(f"fixtures/out-{store.kind}/metered/{name}")["size"]
        for name in ("model.ckpt.index", "model.ckpt.data-00000-of-00001", "model.ckpt.meta")
    )
    copied = sum(i.nbytes for i in graphtui.load_checkpoint(out).tensors())
    assert meter.done == meter.total
    assert meter.total >= copied + uploaded  # the local copy, then the upload (and read-back)
    assert uploaded > 0


def test_no_room_to_stage_is_one_line_naming_tmpdir(
    store: Remote, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write to a bucket is staged in TMPDIR first: a TMPDIR without room is refused before
    anything is uploaded, in one line naming the target and TMPDIR."""
    import os
    import tempfile
    from types import SimpleNamespace

    real = os.statvfs

    def full_staging(path: str) -> object:
        if "graphtui-upload-" in str(path):
            return SimpleNamespace(f_bavail=0, f_frsize=4096)
        return real(path)

    monkeypatch.setattr(os, "statvfs", full_staging)
    scheme = store.base.split("://")[0]
    out = f"{scheme}://fixtures/out-{store.kind}/no-room/model.ckpt"
    code, stdout, err = _run(capsys, "export", store.url("train"), "--out", out)
    assert code == 1 and stdout == "" and err.count("\n") == 1, err
    assert err.startswith(f"graphtui: error: {out}: staging the checkpoint in ")
    assert tempfile.gettempdir() in err and "not enough free space" in err
    assert "set TMPDIR to a disk with room" in err
    assert _objects(store, f"fixtures/out-{store.kind}/no-room") == []
