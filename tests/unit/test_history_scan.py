"""History of a training directory: state-file times that are no time (issue 11.5), step numbers
of V1 shard patterns, and one directory listing per history (issue 11.6)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from graphtui.cli import main as cli_main
from graphtui.core import history
from graphtui.core.history import scan_history, step_of

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"


def _train_copy(tmp_path: Path, stamps: list[str], preserved: str = "1.5") -> Path:
    run = tmp_path / "run"
    shutil.copytree(DATA / "train", run)
    lines = ['model_checkpoint_path: "model.ckpt-50"']
    lines += [f'all_model_checkpoint_paths: "model.ckpt-{s}"' for s in (30, 40, 50)]
    lines += [f"all_model_checkpoint_timestamps: {t}" for t in stamps]
    lines.append(f"last_preserved_timestamp: {preserved}")
    (run / "checkpoint").write_text("\n".join(lines) + "\n")
    return run


@pytest.mark.parametrize("bad", ["nan", "1e18", "-inf", "-1e300"])
def test_invalid_state_timestamps_are_shown_as_invalid(
    tmp_path: Path, bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _train_copy(tmp_path, ["1700000000.5", bad, "1700000100.25"], preserved=bad)
    hist = scan_history(run)
    stamps = [(r.name, r.timestamp, r.bad_timestamp) for r in hist.records]
    assert stamps == [
        ("model.ckpt-30", 1700000000.5, ""),
        ("model.ckpt-40", None, repr(float(bad))),
        ("model.ckpt-50", 1700000100.25, ""),
    ]
    assert hist.last_preserved_timestamp is None
    assert hist.records[1].age() is None
    assert cli_main(["history", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"invalid ({float(bad)!r})" in out
    assert cli_main(["history", str(run), "--json"]) == 0
    assert f'"invalid_timestamp": "{float(bad)!r}"' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("prefix", "step"),
    [
        ("/d/model.ckpt-150", 150),
        ("/d/model.ckpt-5-?????-of-00002", 5),
        ("/d/model.ckpt-5-00001-of-00002", 5),
        ("/d/model.ckpt", None),
        ("/d/export-?????-of-00001", None),
    ],
)
def test_step_of_v1_shard_names(prefix: str, step: int | None) -> None:
    assert step_of(prefix) == step


def test_one_listing_per_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """11.6: a history lists its directory once (it globbed it once per checkpoint)."""
    run = _train_copy(tmp_path, ["1", "2", "3"])
    calls: list[str] = []
    real = os.scandir

    def counting(path: str) -> object:
        calls.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(history.os, "scandir", counting)
    monkeypatch.setattr(history, "glob", None, raising=False)  # no glob left to call
    hist = scan_history(run)
    assert [r.name for r in hist.records] == ["model.ckpt-30", "model.ckpt-40", "model.ckpt-50"]
    assert all(r.complete for r in hist.records)
    assert calls == [str(run)]


def test_app_workspace_opens_a_directory_with_invalid_times(tmp_path: Path) -> None:
    """11.5: the app's workspace opens the directory (it crashed on nan) and keeps the
    invalid times apart (the history pane shows them as "invalid (nan)")."""
    from graphtui.core.workspace import open_workspace

    run = _train_copy(tmp_path, ["nan", "1e18", "1700000100.25"], preserved="nan")
    ws = open_workspace(run)
    assert ws.history is not None
    assert [r.bad_timestamp for r in ws.history.records] == ["nan", "1e+18", ""]
    assert ws.active is not None and ws.active.prefix.endswith("model.ckpt-50")
