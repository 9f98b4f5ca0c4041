"""The read commands (ls, cat, history, verify) against the fixtures and TensorFlow's facts."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main
from graphtui.demo import demo_path
from tests.fixtures.shared import DATA, FACTS, hashing

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CKPTS: dict[str, Any] = FACTS["checkpoints"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _params(facts: dict[str, Any]) -> int:
    return sum(math.prod(t["shape"]) for t in facts["tensors"].values() if t["dtype"] != "string")


# -- ls ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prefix",
    [
        "partitioned/model.ckpt",
        "sharded/model.ckpt",
        "dtypes/model.ckpt",
        "v1/model.ckpt-2",
        "tf2/keras/ckpt-1",
        "train/model.ckpt-50",
    ],
)
def test_ls_json_matches_facts(capsys: pytest.CaptureFixture[str], prefix: str) -> None:
    facts = CKPTS[prefix]
    code, out, err = _run(capsys, "ls", str(DATA / prefix), "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert report["format"] == facts["format"]
    assert report["checkpoint"] == str(DATA / prefix)
    rows = {t["name"]: t for t in report["tensors"]}
    assert sorted(rows) == sorted(facts["dtypes"])
    for name, t in facts["tensors"].items():
        row = rows[name]
        assert row["dtype"] == t["dtype"] and row["shape"] == t["shape"]
        assert row["num_elements"] == math.prod(t["shape"])
    assert report["total_parameters"] == _params(facts)
    assert report["total_bytes"] == sum(t["bytes"] for t in report["tensors"])


def test_ls_json_partitions_and_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "ls", str(DATA / "partitioned"), "--json")
    rows = {t["name"]: t for t in json.loads(out)["tensors"]}
    assert rows["embeddings/wide"]["partitions"] == 5
    assert rows["embeddings/wide"]["bytes"] == 11 * 2 * 4
    assert rows["dense/bias"]["partitions"] == 0
    assert rows["embeddings/ids"]["bytes"] == 7 * 8


def test_ls_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "ls", str(DATA / "sharded" / "model.ckpt.index"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "DTYPE", "SHAPE", "BYTES"]
    body = {line.split()[0]: line.split() for line in lines[1:-1]}
    assert body["tower_0/weights"][1:] == ["float32", "[3,4]", "48"]
    facts = CKPTS["sharded/model.ckpt"]
    assert lines[-1].startswith(f"{len(facts['dtypes'])} tensors, {_params(facts):,} parameters")


def test_ls_text_escapes_a_lone_newline_in_a_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A name whose only unprintable character is a newline stays inside its row, escaped,
    and the columns stay aligned (the table checks the names in one pass)."""
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    prefix = tmp_path / "m"
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for name in ("a", "two\nlines", "zz"):
            writer.add(name, np.zeros(3, np.float32))
        writer.finish()
    code, out, _ = _run(capsys, "ls", str(prefix))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 5  # header, three rows, the summary
    assert lines[2].split() == ["two\\nlines", "float32", "[3]", "12"]
    assert len({len(line) for line in lines[:4]}) == 1, lines


def test_ls_of_a_directory_uses_its_latest_checkpoint(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "ls", str(demo_path()), "--json")
    report = json.loads(out)
    assert report["checkpoint"] == str(demo_path() / "model.ckpt-300")
    facts = FACTS["demo"]["checkpoints"]["model.ckpt-300"]
    assert report["total_parameters"] == _params(facts)


def test_ls_json_subprocess() -> None:
    """The installed entry point, end to end: `python -m graphtui ls PREFIX --json`."""
    prefix = DATA / "partitioned" / "model.ckpt"
    proc = subprocess.run(
        [sys.executable, "-m", "graphtui", "ls", str(prefix), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    report = json.loads(proc.stdout)
    facts = CKPTS["partitioned/model.ckpt"]
    assert {t["name"]: t["shape"] for t in report["tensors"]} == {
        n: t["shape"] for n, t in facts["tensors"].items()
    }
    assert report["total_parameters"] == _params(facts)


# -- cat -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "name"),
    [
        ("partitioned/model.ckpt", "embeddings/table"),
        ("dtypes/model.ckpt", "t_bfloat16"),
        ("dtypes/model.ckpt", "t_int4"),
        ("dtypes/model.ckpt", "t_complex64"),
        ("dtypes/model.ckpt", "t_string_2d"),
        ("dtypes/model.ckpt", "scalar_string"),
        ("dtypes/model.ckpt", "empty_float64_0x2x3"),
        ("v1/model.ckpt-2", "v1/names"),
    ],
)
def test_cat_npy_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], prefix: str, name: str
) -> None:
    out_file = tmp_path / "value.npy"
    code, out, err = _run(capsys, "cat", str(DATA / prefix), name, "--npy", str(out_file))
    assert code == 0 and err == ""
    assert str(out_file) in out
    tensor = CKPTS[prefix]["tensors"][name]
    # plain numpy loads it: no pickle (t_string_2d has a string ending in NUL, which numpy's
    # fixed-width bytes would drop: that one is a pickled object array)
    loaded = np.load(out_file, allow_pickle=name == "t_string_2d")
    assert list(loaded.shape) == tensor["shape"]
    if tensor["dtype"] == "string":
        items = np.array(list(loaded.ravel()), object)
        assert hashing.tensor_sha256(items) == tensor["sha256"]
    else:
        # ml_dtypes types (bfloat16, int4, ...) are widened losslessly to a plain numpy type
        dtype = np.dtype(_numpy_of(tensor["dtype"]))
        assert loaded.dtype.type.__module__ == "numpy"
        assert hashing.tensor_sha256(loaded.astype(dtype)) == tensor["sha256"]


def _numpy_of(name: str) -> Any:
    from graphtui.formats import dtypes

    dt = dtypes.from_name(name).numpy
    assert dt is not None
    return dt


def test_cat_json_values(capsys: pytest.CaptureFixture[str]) -> None:
    prefix = "dtypes/model.ckpt"
    for name in ("t_float32", "t_int64", "t_bool", "t_float16", "scalar_float32"):
        code, out, _ = _run(capsys, "cat", str(DATA / prefix), name, "--json")
        assert code == 0
        report = json.loads(out)
        tensor = CKPTS[prefix]["tensors"][name]
        assert report["dtype"] == tensor["dtype"] and report["shape"] == tensor["shape"]
        flat = np.array(report["value"], dtype=object).ravel().tolist()
        assert flat == tensor["values"]
    _, out, _ = _run(capsys, "cat", str(DATA / prefix), "t_string", "--json")
    assert all(isinstance(v, (str, dict)) for v in json.loads(out)["value"])


def test_cat_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "cat", str(DATA / "sharded" / "model.ckpt"), "tower_1/counter")
    assert code == 0
    assert out.splitlines() == ["tower_1/counter  int64  []", "42"]


@pytest.mark.parametrize("extra", [[], ["--json"], ["--npy", "never.npy"]])
def test_cat_missing_tensor(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "cat", str(DATA / "sharded" / "model.ckpt"), "no/such", *extra)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("graphtui: error: ")
    assert "'no/such'" in err and "Traceback" not in err
    assert not (tmp_path / "never.npy").exists()


def test_cat_missing_checkpoint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, "cat", str(tmp_path / "model.ckpt"), "x")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert str(tmp_path / "model.ckpt") in err


def test_cat_variant_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "cat", str(DATA / "dtypes" / "variant.ckpt"), "t_variant")
    assert code == 1 and err.count("\n") == 1 and "t_variant" in err


# -- history -------------------------------------------------------------------------------------


def test_history_json_train(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "history", str(DATA / "train"), "--json")
    assert code == 0
    report = json.loads(out)
    state = FACTS["states"]["train"]["file"]
    names = [c["name"] for c in report["checkpoints"]]
    assert names == state["all_model_checkpoint_paths"]
    latest = [c for c in report["checkpoints"] if c["latest"]]
    assert [c["name"] for c in latest] == [state["model_checkpoint_path"]]
    assert report["latest"] == str(DATA / "train" / state["model_checkpoint_path"])
    for c in report["checkpoints"]:
        assert c["in_state"] and c["complete"] and not c["missing"] and c["format"] == "V2"
        assert c["bytes"] == sum(f["bytes"] for f in c["files"]) > 0
        assert all(Path(f["path"]).stat().st_size == f["bytes"] for f in c["files"])
    assert [c["step"] for c in report["checkpoints"]] == [30, 40, 50]


def test_history_json_marks_kept_and_unlisted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint on disk that the state file no longer keeps is listed, marked not kept."""
    work = tmp_path / "run"
    shutil.copytree(DATA / "train", work)
    (work / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-40"\nall_model_checkpoint_paths: "model.ckpt-40"\n'
        'all_model_checkpoint_paths: "model.ckpt-60"\n'
    )
    code, out, _ = _run(capsys, "history", str(work), "--json")
    assert code == 0
    rows = {c["name"]: c for c in json.loads(out)["checkpoints"]}
    assert list(rows) == ["model.ckpt-40", "model.ckpt-60", "model.ckpt-30", "model.ckpt-50"]
    assert [n for n, c in rows.items() if c["latest"]] == ["model.ckpt-40"]
    assert [n for n, c in rows.items() if c["in_state"]] == ["model.ckpt-40", "model.ckpt-60"]
    assert rows["model.ckpt-60"]["missing"] and not rows["model.ckpt-60"]["complete"]
    assert rows["model.ckpt-30"]["complete"] and not rows["model.ckpt-30"]["in_state"]


def test_history_json_demo_and_moved(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "history", str(demo_path()), "--json")
    report = json.loads(out)
    assert [c["step"] for c in report["checkpoints"]] == [150, 200, 250, 300]
    assert [c["latest"] for c in report["checkpoints"]] == [False, False, False, True]
    _, out, _ = _run(capsys, "history", str(DATA / "moved"), "--json")
    rows = json.loads(out)["checkpoints"]
    stale = [c for c in rows if c["in_state"]]
    assert stale and all(c["missing"] and c["outside_directory"] for c in stale)
    assert sorted(c["name"] for c in rows if not c["in_state"]) == ["model.ckpt-1", "model.ckpt-2"]


def test_history_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "history", str(DATA / "v1"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["STEP", "NAME", "TIME", "SIZE", "FMT", "STATUS"]
    assert lines[2].startswith("*") and "model.ckpt-2" in lines[2] and "V1" in lines[2]
    assert lines[-1].startswith("2 checkpoints in ")


def test_history_of_a_file_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "history", str(DATA / "v1" / "model.ckpt-1"))
    assert code == 1 and out == "" and err.count("\n") == 1


# -- verify --------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", sorted(CKPTS))
def test_verify_every_fixture(capsys: pytest.CaptureFixture[str], prefix: str) -> None:
    code, out, err = _run(capsys, "verify", str(DATA / prefix), "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report == {
        "checkpoint": str(DATA / prefix),
        "tensors": len(CKPTS[prefix]["dtypes"]),
        "ok": True,
        "problems": [],
    }


def test_verify_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "verify", str(DATA / "v1"))
    assert code == 0
    assert out.splitlines() == [f"{DATA / 'v1' / 'model.ckpt-2'}: 7 tensors, all checksums ok"]


def test_a_run_builds_only_its_commands_arguments_with_the_same_help() -> None:
    """Issue 17: ``main`` adds the arguments of the command it runs only (the others cost
    start-up time); the main help and each command's help are those of the full parser."""
    import argparse

    from graphtui import cli

    cli._load_commands()

    def helps(parser: argparse.ArgumentParser) -> dict[str, str]:
        (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return {name: p.format_help() for name, p in sub.choices.items()}

    full, _ = cli.build_parser()
    assert cli.build_parser("")[0].format_help() == full.format_help()
    for name in cli.COMMANDS:
        assert helps(cli.build_parser(name)[0])[name] == helps(full)[name], name
