"""``verify`` of a checkpoint of many small tensors (issue 17.3): entries decoded in bulk, tiny
tensors' checksums side by side (numpy), the rest one C call each, and whatever fails checked
again alone. The problems are those of checking every tensor one by one
(tests/verify_reference.py), in the same order, naming the right tensor; the progress bar's
counts and Ctrl+C (exit 130) are kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from graphtui.cli import main
from graphtui.errors import ChecksumError, FormatError
from graphtui.formats import bundle_verify, dtypes, progress
from graphtui.formats.bundle import BundleReader, data_path
from graphtui.formats.bundle_writer import BundleWriter
from graphtui.formats.transaction import FileTransaction
from tests.counting_meter import CountingMeter
from tests.verify_reference import bundle_problems, described

REPO = Path(__file__).resolve().parents[2]
COUNT = 100_000


def _name(i: int) -> str:
    return f"layer_{i // 1000:03d}/block_{(i // 10) % 100:02d}/var_{i % 10}"


def _value(i: int) -> np.ndarray:
    """Mostly float32 scalars; every 97th another small kind, a few bigger ones."""
    if i % 97:
        return np.float32(i)
    kind = (i // 97) % 7
    return [
        np.array([b"s%d" % i, b""], dtype=object),  # strings: their own checksum
        np.int8(i % 100),
        np.arange(3, dtype=np.float64) + i,  # 24 bytes
        np.full(16, i, dtype=np.float32),  # 64 bytes: the largest done side by side
        np.full(17, i, dtype=np.float32),  # 68 bytes: one C call
        np.full((40, 50), i, dtype=np.float64),  # 16,000 bytes
        np.array(i % 2 == 0),
    ][kind]


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint of COUNT small tensors, one partitioned among them."""
    prefix = tmp_path_factory.mktemp("many") / "model.ckpt"
    _write(prefix, COUNT, partitioned=True)
    return prefix


def _write(prefix: Path, count: int, *, partitioned: bool) -> None:
    """``count`` tensors of every kind ``_value`` makes, and ``partitioned/w`` in two slices."""
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        for i in range(count):
            writer.add(_name(i), _value(i))
        if partitioned:
            part = np.arange(12, dtype=np.float32).reshape(4, 3)
            writer.add_sliced(
                "partitioned/w",
                dtypes.from_numpy(part.dtype),
                (4, 3),
                [(((0, 2), (0, -1)), part[:2]), (((2, 2), (0, -1)), part[2:])],
            )
        writer.finish()


def _copy(many: Path, tmp_path: Path) -> Path:
    prefix = tmp_path / "model.ckpt"
    for src in many.parent.iterdir():
        (tmp_path / src.name).write_bytes(src.read_bytes())
    return prefix


def _flip(prefix: Path, offsets: list[int]) -> None:
    data = prefix.parent / Path(data_path(str(prefix), 0, 1)).name
    raw = bytearray(data.read_bytes())
    for at in offsets:
        raw[at] ^= 0x5A
    data.write_bytes(bytes(raw))


def _agree(prefix: Path, *, data: bool = True) -> list[FormatError]:
    """verify's problems, after checking they equal the one-by-one reference's."""
    with BundleReader(prefix) as reader, BundleReader(prefix) as reference:
        got = reader.verify(data=data)
        assert described(got) == described(bundle_problems(reference, data=data))
    return got


@pytest.mark.parametrize("length", [0, 1, 3, 4, 8, 17, 64])
def test_side_by_side_crc_is_each_rows_own(length: int) -> None:
    from graphtui.formats.crc import masked_crc32c, masked_crc32c_rows

    rng = np.random.default_rng(length)
    data = rng.integers(0, 256, 5000, dtype=np.uint8)
    starts = rng.integers(0, len(data) - length, 300).astype(np.int64)
    got = masked_crc32c_rows(data, starts, length)
    assert got.tolist() == [masked_crc32c(data[s : s + length].tobytes()) for s in starts.tolist()]


def test_intact_checkpoint_is_fine(many: Path) -> None:
    meter = CountingMeter()
    with BundleReader(many) as reader, progress.metered(meter):
        assert reader.verify() == []
        assert len(reader) == COUNT + 1
    assert (
        meter.total == meter.done == (many.parent / "model.ckpt.data-00000-of-00001").stat().st_size
    )


def test_bad_crc_among_100k_scalars_names_the_tensor(
    many: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = _copy(many, tmp_path)
    victim = _name(54_321)
    with BundleReader(prefix) as reader:
        entry = reader.entry(victim)
    assert entry.size == 4
    _flip(prefix, [entry.offset + 2])
    (problem,) = _agree(prefix)
    assert isinstance(problem, ChecksumError)
    assert problem.offset == entry.offset
    assert f"checksum mismatch in tensor {victim!r} (data corrupt)" in str(problem)
    assert main(["verify", "--quiet", str(prefix)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"BAD  {problem}"
    assert out[1:] == [f"{prefix}: {COUNT + 1} tensors, 1 problems"]
    assert main(["verify", str(prefix), "--json"]) == 1
    got = json.loads(capsys.readouterr().out)
    assert got["problems"] == [str(problem)] and got["ok"] is False


@pytest.mark.parametrize("step", [1 << 16, 997])
def test_damage_of_every_kind_agrees_with_one_by_one(
    many: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: int
) -> None:
    """Bytes flipped in tensors of every kind (scalars side by side, strings, one-call ones,
    a slice), steps of ``step`` tensors (997: and of 1,000 bytes, tensors over 1,000 bytes
    checked alone): the same problems in the same order."""
    prefix = _copy(many, tmp_path)
    monkeypatch.setattr(bundle_verify, "_STEP_ROWS", step)
    if step == 997:
        monkeypatch.setattr(bundle_verify, "_STEP_BYTES", 1000)
        monkeypatch.setattr(bundle_verify, "_CRC_CHUNK", 1000)
    rng = np.random.default_rng(step)
    with BundleReader(prefix) as reader:
        victims = [_name(int(i)) for i in rng.choice(COUNT, 40, replace=False)]
        victims += [_name(97 * k) for k in range(1, 9)]  # one of each other kind, and more
        victims += [_name(3), _name(4)]  # neighbours
        entries = [reader.entry(v) for v in victims]
        first = reader.slice_entries(reader.entry("partitioned/w"))[1][1]
    offsets = [e.offset + int(rng.integers(e.size)) for e in entries if e.size] + [first.offset]
    _flip(prefix, offsets)
    problems = _agree(prefix)
    named = {v for v in victims if any(repr(v) in str(p) for p in problems)}
    sized = {v for v, e in zip(victims, entries, strict=True) if e.size}
    assert named == sized  # every damaged tensor, by name
    assert any("partitioned/w slice" in str(p) for p in problems)
    assert _agree(prefix, data=False) == []  # nothing outside its shard


def test_truncated_shard_agrees_with_one_by_one(many: Path, tmp_path: Path) -> None:
    prefix = _copy(many, tmp_path)
    data = Path(data_path(str(prefix), 0, 1))
    os.truncate(data, data.stat().st_size - 100)
    problems = _agree(prefix)
    assert problems and all("truncated" in str(p) for p in problems)
    assert described(_agree(prefix, data=False)) == described(problems)


def test_shard_shrunk_while_open_agrees_with_one_by_one(many: Path, tmp_path: Path) -> None:
    """A shard cut short after it was mapped: touching its lost pages would kill the process
    (SIGBUS); each tensor past the new end is reported, as one by one."""
    prefix = _copy(many, tmp_path)
    data = Path(data_path(str(prefix), 0, 1))
    with BundleReader(prefix) as reader, BundleReader(prefix) as reference:
        reader.shard_source(0)
        reference.shard_source(0)
        os.truncate(data, data.stat().st_size - 2000)
        problems = reader.verify()
        assert described(problems) == described(bundle_problems(reference))
    assert len(problems) > 10 and all("shrank" in str(p) for p in problems)


def test_verify_does_not_import_numpy_ma(many: Path) -> None:
    """``np.unique`` imports numpy.ma (30 ms, most of a small checkpoint's verify)."""
    code = (
        "import sys\nfrom graphtui.cli import main\n"
        f"assert main(['verify', '--quiet', {str(many)!r}]) == 0\n"
        "assert 'numpy.ma' not in sys.modules, 'numpy.ma imported'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()


def test_ctrl_c_during_verify_exits_130(many: Path, tmp_path: Path) -> None:
    """A real SIGINT while the small tensors are being checked: exit 130, one line."""
    marker = tmp_path / "checking"
    child = textwrap.dedent(
        f"""
        import signal, sys, time
        # Python's own Ctrl+C handler, as on a terminal: a child of a shell's background job
        # (CI started with `&`, no job control) inherits SIGINT ignored, and Python keeps it so
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from graphtui.formats import bundle_verify
        real = bundle_verify._checked
        def slow(*a):
            good = real(*a)
            open({str(marker)!r}, "w").close()
            time.sleep(60)
            return good
        bundle_verify._checked = slow
        from graphtui.cli import main
        sys.exit(main(sys.argv[1:]))
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, "verify", str(many)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.decode().splitlines() == ["graphtui: interrupted"]
    assert stdout == b""


def _small(tmp_path: Path, damage: str, *, partitioned: bool = True) -> Path:
    """700 tensors of every kind ``_value`` makes and a partitioned one (an index of ~40 KB,
    walked without numpy in a fresh process; the slices' tiling check imports it), damaged as
    ``damage`` says."""
    prefix = tmp_path / "small" / "model.ckpt"
    prefix.parent.mkdir()
    _write(prefix, 700, partitioned=partitioned)
    if damage == "flipped":
        with BundleReader(prefix) as reader:
            hit = [reader.entry(_name(i)) for i in (0, 1, 97, 194, 388, 485, 699)]
            if partitioned:
                hit.append(reader.slice_entries(reader.entry("partitioned/w"))[0][1])
        _flip(prefix, [e.offset + e.size // 2 for e in hit if e.size])
    elif damage == "truncated":
        data = Path(data_path(str(prefix), 0, 1))
        os.truncate(data, data.stat().st_size - 5000)
    return prefix


@pytest.mark.parametrize("damage", ["intact", "flipped", "truncated"])
def test_small_checkpoint_walked_without_numpy_agrees_with_bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    """Issue 17: a fresh ``graphtui verify`` of a small checkpoint imports no numpy (~50 ms of
    a ~200 ms run): the index is walked entry by entry and each tensor checked alone. The
    entries, values and problems are the bulk path's (numpy loaded, as in the app)."""
    from graphtui.formats import sstable

    prefix = _small(tmp_path, damage)
    with BundleReader(prefix) as reader:
        scan = reader.table.scan()
        bulk_entries = [(k, scan.value(i)) for i, k in enumerate(scan.keys)]
        bulk = described(reader.verify())
    monkeypatch.setattr(sstable, "numpy_unneeded", lambda size: True)  # as before numpy loads

    def no_bulk(*args: object) -> None:
        raise AssertionError("the bulk check ran")

    monkeypatch.setattr(bundle_verify, "stored_extents", no_bulk)
    with BundleReader(prefix) as reader, BundleReader(prefix) as reference:
        scan = reader.table.scan()
        assert isinstance(scan.starts, list)  # walked
        assert [(k, scan.value(i)) for i, k in enumerate(scan.keys)] == bulk_entries
        walked = described(reader.verify())
        assert walked == bulk == described(bundle_problems(reference))
    assert (damage == "intact") == (walked == [])


def test_fresh_verify_of_a_small_checkpoint_imports_no_numpy(tmp_path: Path) -> None:
    """The command's output and exit code are those of the same run with numpy imported first
    (the bulk path)."""
    prefix = _small(tmp_path, "flipped", partitioned=False)

    def run(first: str, args: list[str]) -> tuple[int, str, str]:
        code = f"import sys\n{first}\nfrom graphtui.cli import main\nrc = main(sys.argv[1:])\n"
        code += "print('numpy' in sys.modules, file=sys.stderr)\nsys.exit(rc)\n"
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
        return proc.returncode, proc.stdout, proc.stderr.splitlines()[-1]

    for args in (["verify", str(prefix)], ["verify", "--json", str(prefix)]):
        walked, bulk = run("", args), run("import numpy", args)
        assert walked[2] == "False" and bulk[2] == "True"
        assert walked[:2] == bulk[:2]
        assert walked[0] == 1 and ("BAD" in walked[1] or '"ok": false' in walked[1])
