"""Every write path interrupted at every step: the target is untouched or complete and valid
(verified without TensorFlow), the sources are byte-identical, and no ``.tmp`` file is left.

The steps are the ``on_step=`` labels of the writers plus, beneath them, every ``os.fsync`` and
``os.replace`` (so ``atomic_write`` users without a ``on_step=`` -- ``cat --npy``, the state file
edits -- are covered too). tests/unit/test_write_unit.py already raises an ordinary exception
at every ``on_step=`` label of rename, strip, export (V1) and restore; here those paths get the
simulated kills (KeyboardInterrupt and a bare BaseException), and the other paths (export of a
V2 checkpoint and of a meta graph alone, rename's two partial modes, strip of a partitioned
checkpoint, rollback, fix-paths, ``cat --npy``) get all three. Two cases kill a real child
process with SIGKILL mid-commit and check what the readers make of the leftovers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphtui.cli import main
from graphtui.core.checkpoint import CheckpointReader, load_checkpoint
from graphtui.core.export import export
from graphtui.core.history import scan_history
from graphtui.core.names import ScopeMap
from graphtui.core.output import existing_files
from graphtui.core.rename import rename
from graphtui.core.restore import restore
from graphtui.core.state_ops import fix_paths, rollback
from graphtui.core.strip import strip
from graphtui.errors import GraphtuiError
from graphtui.formats.state_file import read_state
from tests.fixtures.shared import DATA

ROOT = Path(__file__).resolve().parents[2]


class Boom(Exception):
    """An ordinary failure (disk full, a bug)."""


class Killed(BaseException):
    """A kill that no ``except Exception`` catches."""


KINDS: dict[str, type[BaseException]] = {
    "error": Boom,
    "interrupt": KeyboardInterrupt,
    "kill": Killed,
}
Fault = Callable[[str], None]


# -- steps ----------------------------------------------------------------------------------------

_TMP = re.compile(r"^\.(.+)\.[0-9a-f]{8}\.tmp$")


def _name(path: str | os.PathLike[str] | int) -> str:
    """A stable label for a path or an fd: temporaries named after their target."""
    if isinstance(path, int):
        try:
            path = os.readlink(f"/proc/self/fd/{path}")
        except OSError:
            return "fd"
    base = os.path.basename(os.fspath(path)) or os.fspath(path)
    match = _TMP.match(base)
    return f"tmp of {match.group(1)}" if match else base


@contextlib.contextmanager
def os_steps(fault: Fault) -> Iterator[None]:
    """Route every os.fsync and os.replace through ``fault`` (called before the real call)."""
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: Any) -> None:
        fault(f"os.fsync {_name(fd if isinstance(fd, int) else fd.fileno())}")
        real_fsync(fd)

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        fault(f"os.replace {_name(src)} -> {_name(dst)}")
        real_replace(src, dst, *args, **kwargs)

    os.fsync, os.replace = fsync, replace  # type: ignore[assignment]
    try:
        yield
    finally:
        os.fsync, os.replace = real_fsync, real_replace  # type: ignore[assignment]


class Steps:
    """Numbers repeated labels (``os.fsync out`` #2) so a run can be stopped at any one."""

    def __init__(self, stop_at: str | None = None, kind: type[BaseException] = Boom) -> None:
        self.seen: list[str] = []
        self._counts: Counter[str] = Counter()
        self.stop_at = stop_at
        self.kind = kind

    def __call__(self, label: str) -> None:
        self._counts[label] += 1
        step = f"{label} #{self._counts[label]}"
        self.seen.append(step)
        if step == self.stop_at:
            raise self.kind(step)


def digest(*roots: Path) -> dict[str, str]:
    files = sorted(p for root in roots for p in ([root] if root.is_file() else root.rglob("*")))
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def temp_files(*roots: Path) -> list[Path]:
    return [
        p for root in roots if root.exists() for p in root.rglob("*") if p.name.endswith(".tmp")
    ]


def checkpoint_content(prefix: Path) -> dict[str, Any]:
    """Every tensor's value of a checkpoint that must verify clean, TF-free."""
    with CheckpointReader(prefix) as reader:
        assert reader.verify() == []
        out = {}
        for name in reader.names():
            value = reader.get_tensor(name)
            out[name] = (
                value.tolist() if value.dtype == object else (value.dtype.str, value.tobytes())
            )
        return out


# -- the write paths ------------------------------------------------------------------------------


@dataclass
class WritePath:
    source: str  # fixture directory copied into the case
    run: Callable[[Path, Path, Fault], Any]  # (source copy, output dir, fault)
    kinds: tuple[str, ...]  # which kinds of stop to inject
    target: str  # "checkpoint" (out/model.ckpt), "meta", "state" or "npy"
    prepare: Callable[[Path], None] | None = None  # edits the source copy before the run


def _export_v2(src: Path, out: Path, fault: Fault) -> Any:
    return export(str(src / "model.ckpt"), str(out / "model.ckpt"), clear_devices=True, on_step=fault)


def _meta_alone(src: Path) -> None:
    (src / "model.ckpt.meta").rename(src / "graph.meta")  # no checkpoint beside it


def _export_meta_only(src: Path, out: Path, fault: Fault) -> Any:
    return export(str(src / "graph.meta"), str(out / "model.ckpt"), as_text=True, on_step=fault)


def _export_v1(src: Path, out: Path, fault: Fault) -> Any:
    return export(str(src / "model.ckpt-2"), str(out / "model.ckpt"), on_step=fault)


def _rename_all(src: Path, out: Path, fault: Fault) -> Any:
    return rename(
        str(src / "model.ckpt"), str(out / "model.ckpt"), ScopeMap([("tower_0", "t0")]), on_step=fault
    )


def _rename_checkpoint_only(src: Path, out: Path, fault: Fault) -> Any:
    return rename(
        str(src / "model.ckpt-50"),
        str(out / "model.ckpt"),
        ScopeMap([("model/layer_1", "model/first")]),
        mode="checkpoint",
        on_step=fault,
    )


def _rename_graph_only(src: Path, out: Path, fault: Fault) -> Any:
    return rename(
        str(src / "model.ckpt"),
        str(out / "model.ckpt"),
        ScopeMap([("tower_1", "t1")]),
        mode="graph",
        on_step=fault,
    )


def _strip_partitioned(src: Path, out: Path, fault: Fault) -> Any:
    return strip(str(src / "model.ckpt"), str(out / "model.ckpt"), ["embeddings/wide"], on_step=fault)


def _strip_train(src: Path, out: Path, fault: Fault) -> Any:
    return strip(str(src / "model.ckpt-50"), str(out / "model.ckpt"), ["*/Adam*"], on_step=fault)


def _restore(src: Path, out: Path, fault: Fault) -> Any:
    return restore(
        str(src / "target_c_root.meta"),
        str(src / "src" / "model.ckpt"),
        {"/": "new_scope/"},
        str(out / "model.ckpt"),
        on_step=fault,
    )


def _rollback(src: Path, out: Path, fault: Fault) -> Any:
    return rollback(str(src), "40", on_step=fault)


def _fix_paths(src: Path, out: Path, fault: Fault) -> Any:
    return fix_paths(str(src), on_step=fault)


NPY_OLD = b"old file, replaced only by a complete one"
NPY_TENSORS = ("t_string_2d", "t_float32_3d")


def _npy_states() -> set[bytes]:
    """What value.npy may hold: the old file or one of the complete results."""
    import io

    states = {NPY_OLD}
    with load_checkpoint(DATA / "dtypes" / "model.ckpt") as reader:
        for name in NPY_TENSORS:
            value = reader.get_tensor(name)
            buf = io.BytesIO()
            np.save(buf, value, allow_pickle=value.dtype == object)
            states.add(buf.getvalue())
    return states


NPY_STATES = _npy_states()


def _cat_npy(src: Path, out: Path, fault: Fault) -> Any:
    out.mkdir(exist_ok=True)
    (out / "value.npy").write_bytes(NPY_OLD)
    for name in NPY_TENSORS:
        rc = main(["cat", str(src / "model.ckpt"), name, "--npy", str(out / "value.npy")])
        if rc == 130:
            raise KeyboardInterrupt("the CLI reported the interrupt")
        if rc:
            raise Boom(f"cat --npy exited {rc}")
    return None


ALL = ("error", "kill")  # KeyboardInterrupt takes the kill's path in the API (no handler
KILLS = ("kill",)  # catches either); the CLI cases below send KeyboardInterrupt
PATHS: dict[str, WritePath] = {
    "export V2 + meta": WritePath("sharded", _export_v2, ALL, "checkpoint"),
    "export meta only": WritePath("sharded", _export_meta_only, ALL, "meta", _meta_alone),
    "export V1 to V2": WritePath("v1", _export_v1, KILLS, "checkpoint"),
    "rename": WritePath("sharded", _rename_all, KILLS, "checkpoint"),
    "rename --checkpoint-only": WritePath("train", _rename_checkpoint_only, ALL, "checkpoint"),
    "rename --graph-only": WritePath("sharded", _rename_graph_only, ALL, "checkpoint"),
    "strip partitioned": WritePath("partitioned", _strip_partitioned, ALL, "checkpoint"),
    "strip": WritePath("train", _strip_train, KILLS, "checkpoint"),
    "restore": WritePath("restore", _restore, KILLS, "checkpoint"),
    "rollback": WritePath("train", _rollback, ALL, "state"),
    "fix-paths": WritePath("moved", _fix_paths, ALL, "state"),
    "cat --npy": WritePath("dtypes", _cat_npy, ("error", "interrupt", "kill"), "npy"),
}


def _distinct(steps: list[str]) -> list[str]:
    """Drop OS steps that stop a transaction in the same state as its own neighbouring label
    (``rename X`` comes right before the os.replace of X; ``fsync X`` right after its fsync)."""
    out = []
    for i, step in enumerate(steps):
        match = re.match(r"os\.(replace|fsync) tmp of (\S+)", step)
        if match:
            near = (
                steps[i - 1] if match.group(1) == "replace" else steps[min(i + 1, len(steps) - 1)]
            )
            label = "rename" if match.group(1) == "replace" else "fsync"
            if near.startswith(f"{label} {match.group(2)} #"):
                continue
        out.append(step)
    return out


def _outcome(path: WritePath, src: Path, out: Path) -> dict[str, Any]:
    """What the write produced, in a form to compare with a clean run's."""
    if path.target == "state":
        return {"state": (src / "checkpoint").read_bytes()}
    if path.target == "npy":
        return {"npy": (out / "value.npy").read_bytes()}
    prefix = out / "model.ckpt"
    files = sorted(os.path.basename(p) for p in existing_files(str(prefix)))
    result: dict[str, Any] = {"files": files}
    if Path(f"{prefix}.meta").exists():
        result["meta"] = Path(f"{prefix}.meta").read_bytes()
    if Path(f"{prefix}.index").exists():
        result["tensors"] = checkpoint_content(prefix)
    state = out / "checkpoint"
    result["state names"] = read_state(str(state)).model_checkpoint_path if state.exists() else None
    return result


def _case(tmp_path: Path, path: WritePath, label: str) -> tuple[Path, Path]:
    case = tmp_path / label.replace("/", "_").replace(" ", "_")
    src = case / "src"
    shutil.copytree(DATA / path.source, src)
    if path.prepare is not None:
        path.prepare(src)
    return src, case / "out"


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_step_of_every_write_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    path = PATHS[name]
    # a clean run: the reference result, and the steps it takes
    src, out = _case(tmp_path, path, "reference")
    before_src = digest(src)
    recorder = Steps()
    with os_steps(recorder):
        path.run(src, out, recorder)
    capsys.readouterr()
    steps = recorder.seen
    reference = _outcome(path, src, out)
    if path.target == "checkpoint":
        assert reference["tensors"] and reference["state names"] == "model.ckpt"
        assert digest(src) == before_src
    kinds_of_step = {s.split(" ")[0] for s in steps}
    assert "os.replace" in kinds_of_step and "os.fsync" in kinds_of_step, steps
    assert temp_files(src, out) == []

    for i, step in enumerate(_distinct(steps)):
        for kind in path.kinds:
            src, out = _case(tmp_path, path, f"{i}-{kind}")
            if path.target == "npy":
                out.mkdir()
            sources_before = (
                digest(src)
                if path.target != "state"
                else digest(*[p for p in src.iterdir() if p.name != "checkpoint"])
            )
            state_before = (
                (src / "checkpoint").read_bytes() if (src / "checkpoint").exists() else None
            )
            stop = Steps(step, KINDS[kind])
            with pytest.raises((Boom, KeyboardInterrupt, Killed)), os_steps(stop):
                path.run(src, out, stop)
            err = capsys.readouterr().err
            where = f"{name}: {kind} at {step}"
            assert stop.seen[-1] == step, where  # it really stopped there
            assert temp_files(src, out) == [], where
            if path.target == "state":
                now = (src / "checkpoint").read_bytes()
                assert now in (state_before, reference["state"]), where
                assert (
                    digest(*[p for p in src.iterdir() if p.name != "checkpoint"]) == sources_before
                )
                continue
            assert digest(src) == sources_before, where
            if path.target == "npy":
                assert err.count("\n") <= 1 and "Traceback" not in err, where
                assert (out / "value.npy").read_bytes() in NPY_STATES, where
                continue
            got = _outcome(path, src, out)
            if got["files"]:  # complete: the same checkpoint as the clean run
                assert got["files"] == reference["files"], where
                assert got.get("meta") == reference.get("meta"), where
                assert got.get("tensors") == reference.get("tensors"), where
                assert got["state names"] in (None, "model.ckpt"), where
            else:  # untouched: no file, no state file, no directory left behind
                assert got["state names"] is None, where
                assert not out.exists() or not any(out.iterdir()), where


def test_cli_interrupted_mid_write_is_one_line_and_exit_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    shutil.copytree(DATA / "sharded", src)
    before = digest(src)
    recorder = Steps()
    with os_steps(recorder):
        assert main(["export", str(src / "model.ckpt"), "--out", str(tmp_path / "ref" / "m")]) == 0
    capsys.readouterr()
    commit = [s for s in recorder.seen if s.startswith("os.replace")]
    assert len(commit) >= 4  # data, meta, index, state file
    for i, step in enumerate(commit):
        out = tmp_path / f"o{i}" / "m"
        with os_steps(Steps(step, KeyboardInterrupt)):
            rc = main(["export", str(src / "model.ckpt"), "--out", str(out)])
        err = capsys.readouterr().err
        assert rc == 130 and err == "graphtui: interrupted\n", (step, err)
        assert temp_files(tmp_path) == [] and digest(src) == before
        if existing_files(str(out)):  # only the state file step comes after the checkpoint
            assert step == commit[-1]
            checkpoint_content(out)
        with os_steps(Steps(step, OSError)):
            rc = main(["export", str(src / "model.ckpt"), "--out", str(tmp_path / f"e{i}" / "m")])
        err = capsys.readouterr().err
        assert rc == 1 and err.count("\n") == 1 and "Traceback" not in err, (step, err)


# -- a real SIGKILL mid-commit --------------------------------------------------------------------

_KILLER = r"""
import os, signal, sys
from graphtui.core.export import export
stop = sys.argv[3]
def fault(step):
    if step == stop:
        os.kill(os.getpid(), signal.SIGKILL)
export(sys.argv[1], sys.argv[2], on_step=fault)
"""


@pytest.mark.parametrize("stop", ["rename model.ckpt.index", "rename checkpoint"])
def test_sigkill_mid_commit_leaves_nothing_a_reader_takes_for_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stop: str
) -> None:
    src = tmp_path / "src"
    shutil.copytree(DATA / "sharded", src)
    before = digest(src)
    out = tmp_path / "out" / "model.ckpt"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLER, str(src / "model.ckpt"), str(out), stop],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert digest(src) == before
    leftovers = sorted(p.name for p in out.parent.iterdir())
    hist = scan_history(out.parent)
    if stop == "rename model.ckpt.index":
        # data and meta renamed, the index (the commit point) not: no checkpoint yet
        assert not Path(f"{out}.index").exists()
        with pytest.raises(GraphtuiError) as exc_info:
            load_checkpoint(out)
        assert "\n" not in str(exc_info.value)
        assert hist.records == [], leftovers
        assert temp_files(out.parent), "a real kill cannot clean up its temporary files"
    else:
        # the checkpoint committed, the state file not: a complete checkpoint, not yet latest
        checkpoint_content(out)
        assert [(r.name, r.complete, r.in_state) for r in hist.records] == [
            ("model.ckpt", True, False)
        ]
        assert hist.state_file is None
    # whatever is left, the temporary files are never mistaken for checkpoint files
    assert all(r.prefix == str(out) for r in hist.records)
    rc = main(["history", str(out.parent)])
    assert rc == 0 and "Traceback" not in capsys.readouterr().err
