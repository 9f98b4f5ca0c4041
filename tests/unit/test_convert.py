"""Convert without TensorFlow: checkpoint <-> .safetensors / .npz on the committed fixtures,
the safetensors package's and numpy's own loaders as readers, and bad files refused in one
line (a damaged safetensors header, an .npz holding a pickle). TensorFlow judges the round trips
in tests/interop/test_convert_vs_tf.py."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from graphtui.cli import main as cli_main
from graphtui.core.checkpoint import CheckpointReader
from graphtui.core.convert import ConvertRequest, apply_convert, plan_convert
from graphtui.errors import ConflictError, CoreError, FormatError, WriteError
from graphtui.formats.npz import NpzFile
from graphtui.formats.safetensors import open_safetensors, parse_header

safetensors_numpy = pytest.importorskip("safetensors.numpy")

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
TRAIN = DATA / "train" / "model.ckpt-50"
PARTITIONED = DATA / "partitioned" / "model.ckpt"
DTYPES = DATA / "dtypes" / "model.ckpt"


def same(a: object, b: object) -> bool:
    x, y = np.asarray(a), np.asarray(b)
    return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def test_checkpoint_to_safetensors_read_by_the_package(tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    plan = plan_convert(ConvertRequest(str(TRAIN), str(out)))
    assert plan.ok and plan.target == "safetensors" and plan.source_kind == "checkpoint"
    result = apply_convert(plan)
    assert result.path == str(out)
    loaded = safetensors_numpy.load_file(str(out))
    with CheckpointReader(TRAIN) as reader:
        names = [n for n in reader.names() if n != "_CHECKPOINTABLE_OBJECT_GRAPH"]
        assert sorted(loaded) == sorted(names)
        for name in names:
            assert same(loaded[name], reader.get_tensor(name)), name
    from safetensors import safe_open

    with safe_open(str(out), framework="np") as f:
        meta = f.metadata()
    assert meta["step"] == "50" and meta["source"] == str(TRAIN) and meta["converted_by"]
    assert oct(out.stat().st_mode & 0o777) != "0o600"  # an ordinary file, as cp makes


def test_partitioned_variables_come_out_whole(tmp_path: Path) -> None:
    out = tmp_path / "p.npz"
    apply_convert(plan_convert(ConvertRequest(str(PARTITIONED), str(out))))
    with np.load(out, allow_pickle=False) as npz, CheckpointReader(PARTITIONED) as reader:
        assert npz["embeddings/table"].shape == (10, 4)
        for name in reader.names():
            assert same(npz[name], reader.get_tensor(name)), name
        assert json.loads(str(npz["__metadata__"]))["source_format"] == "tensorflow_checkpoint"


def test_map_drop_and_dtype(tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    plan = plan_convert(
        ConvertRequest(str(TRAIN), str(out), maps=("model=net",), drop=("*/Adam*", "*Moving*"),
                       dtype="bfloat16")
    )  # fmt: skip
    names = {i.name for i in plan.items}
    assert "net/layer_1/dense/kernel" in names and not any("Adam" in n for n in names)
    assert plan.dropped and all("Adam" in n or "Moving" in n for n in plan.dropped)
    by_name = {i.name: i for i in plan.items}
    assert by_name["net/layer_1/dense/kernel"].out_dtype == "bfloat16"
    assert by_name["global_step"].out_dtype == "int64"  # only floats are cast
    apply_convert(plan)
    with open_safetensors(out) as f:
        assert f.entries["net/layer_1/dense/kernel"].code == "BF16"
        import ml_dtypes

        with CheckpointReader(TRAIN) as reader:
            want = reader.get_tensor("model/layer_1/dense/kernel").astype(ml_dtypes.bfloat16)
        assert same(f.read("net/layer_1/dense/kernel"), want)
        assert f.metadata["dtype"] == "bfloat16"


def test_dtypes_the_target_lacks_are_refused_by_name(tmp_path: Path) -> None:
    plan = plan_convert(ConvertRequest(str(DTYPES), str(tmp_path / "d.npz")))
    assert any(p.startswith("t_bfloat16: bfloat16 cannot be stored in .npz") for p in plan.problems)
    assert any(p.startswith("t_float8_e4m3fn:") for p in plan.problems)
    assert {s.split(" ")[0] for s in plan.skipped} >= {"t_string", "scalar_string"}
    with pytest.raises(ConflictError, match="t_bfloat16"):
        apply_convert(plan)
    st = plan_convert(ConvertRequest(str(DTYPES), str(tmp_path / "d.safetensors")))
    assert not any(p.startswith("t_bfloat16:") for p in st.problems)  # safetensors has BF16
    assert any(
        p.startswith("t_complex128: complex128 has no safetensors dtype") for p in st.problems
    )
    assert not list(tmp_path.iterdir())


def test_back_to_a_checkpoint_checked_against_the_graph(tmp_path: Path) -> None:
    st = tmp_path / "w.safetensors"
    apply_convert(plan_convert(ConvertRequest(str(TRAIN), str(st))))
    back = tmp_path / "back" / "model"
    plan = plan_convert(
        ConvertRequest(str(st), str(back), target="checkpoint", meta=f"{TRAIN}.meta")
    )
    assert plan.report is not None and not plan.report.missing and not plan.report.mismatched
    assert len(plan.report.matched) == len(plan.items)
    result = apply_convert(plan)
    assert Path(f"{back}.meta").is_file() and result.tensors == len(plan.items)
    with CheckpointReader(back) as got, CheckpointReader(TRAIN) as want:
        for name in got.names():
            assert same(got.get_tensor(name), want.get_tensor(name)), name

    # a dropped variable is missing; a renamed one is unused; a cast one mismatches
    partial = tmp_path / "partial.npz"
    apply_convert(plan_convert(ConvertRequest(str(TRAIN), str(partial), drop=("global_step",),
                                              maps=("model/layer_10=model/head",))))  # fmt: skip
    plan = plan_convert(
        ConvertRequest(str(partial), str(tmp_path / "x" / "m"), target="checkpoint",
                       meta=f"{TRAIN}.meta")
    )  # fmt: skip
    report = plan.report
    assert report is not None
    assert "global_step" in report.missing
    assert "model/head/dense/kernel" in report.unused
    assert any("graph variables would have no value" in p for p in plan.problems)
    with pytest.raises(ConflictError):
        apply_convert(plan)
    assert not (tmp_path / "x").exists()


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.safetensors"
    assert cli_main(["convert", str(DTYPES), "--to", str(out), "--drop", "*complex128",
                     "--drop", "*int[24]", "--drop", "*float4*", "--drop", "*b11fnuz",
                     "--drop", "*q*int*"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "skipped 4 tensors" in captured.err and "t_string (string)" in captured.err
    assert "wrote" in captured.out
    assert cli_main(["convert", str(out), "--to-checkpoint", str(tmp_path / "c" / "m"),
                     "--dry-run", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["output"] is None
    assert not (tmp_path / "c").exists()
    for argv, message in [
        ([str(TRAIN), "--to", str(out)], "output file exists"),
        ([str(TRAIN), "--to", str(tmp_path / "a.bin")], "--to takes a .safetensors or .npz"),
        ([str(TRAIN), "--to-checkpoint", str(tmp_path / "c")], "already a checkpoint"),
        ([str(out), "--to", str(tmp_path / "b.npz")], "from a checkpoint to a file or back"),
        ([str(TRAIN), "--to", str(tmp_path / "b.npz"), "--meta", f"{TRAIN}.meta"], "--meta"),
    ]:
        assert cli_main(["convert", *argv]) == 1
        err = capsys.readouterr().err
        assert err.startswith("graphtui: error: ") and message in err and err.count("\n") == 1, err


# -- bad files ---------------------------------------------------------------------------------------


def _safetensors_bytes(header: object, data: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "too short for a safetensors header length"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{}", "runs past the end"),
        (struct.pack("<Q", 1 << 40), "exceeds the 100000000-byte limit"),
        (_safetensors_bytes([1, 2]), "not a JSON object"),
        (struct.pack("<Q", 3) + b"{x}", "not valid UTF-8 JSON"),
        (struct.pack("<Q", 100_000) + b"[" * 100_000, "nested too deeply"),
        (_safetensors_bytes({"__metadata__": {"a": 1}}), "must map strings to strings"),
        (
            _safetensors_bytes(
                {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4
            ),
            "needs 8 bytes",
        ),  # fmt: skip
        (
            _safetensors_bytes(
                {"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4
            ),
            "non-negative integers",
        ),  # fmt: skip
        (
            _safetensors_bytes(
                {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 2
            ),
            "truncated",
        ),  # fmt: skip
        (
            _safetensors_bytes(
                {
                    "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                    "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]},
                },
                b"\0" * 3,
            ),
            "overlapping or gapped",
        ),  # fmt: skip
    ],
)
def test_bad_safetensors_files_get_one_line(
    tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=message.replace("[", r"\[").replace("(", r"\(")):
        open_safetensors(path)
    assert cli_main(["convert", str(path), "--to-checkpoint", str(tmp_path / "o" / "m")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and message in err, err
    assert not (tmp_path / "o").exists()


def test_header_parser_agrees_with_the_package_on_a_good_file(tmp_path: Path) -> None:
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array(7, np.int64)}
    path = tmp_path / "good.safetensors"
    safetensors_numpy.save_file(arrays, str(path), metadata={"k": "v"})
    with open_safetensors(path) as f:
        assert f.metadata == {"k": "v"}
        for name, arr in arrays.items():
            assert same(f.read(name), arr)
    meta, entries = parse_header(
        b'{"e": {"dtype": "F8_E8M0", "shape": [1], "data_offsets": [0, 1]}}', 1
    )
    assert entries["e"].dtype is None  # no TensorFlow dtype: refused per tensor by convert


def test_npz_with_a_pickle_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, ok=np.ones(2), evil=np.array([{"x": 1}], dtype=object))
    with pytest.raises(FormatError, match="'evil' holds Python objects"):
        NpzFile(path)
    assert cli_main(["convert", str(path), "--to-checkpoint", str(tmp_path / "o" / "m")]) == 1
    err = capsys.readouterr().err
    assert "never unpickled" in err and err.count("\n") == 1
    notzip = tmp_path / "not.npz"
    notzip.write_bytes(b"PK\x03\x04 nope")
    assert cli_main(["convert", str(notzip), "--to-checkpoint", str(tmp_path / "o" / "m")]) == 1
    assert "not an .npz archive" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_npz_round_trip_and_no_tf_dtype(tmp_path: Path) -> None:
    src = tmp_path / "in.npz"
    when = np.array(["2020-01-01"], dtype="datetime64[D]")
    fortran = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    np.savez(src, w=np.arange(4, dtype=np.float64), s=np.array(["a", "b"]), d=when, f=fortran)
    plan = plan_convert(ConvertRequest(str(src), str(tmp_path / "c" / "m"), target="checkpoint"))
    assert plan.problems == ["d: datetime64[D] has no TensorFlow dtype"]
    assert plan.skipped == ["s (string)"]
    with pytest.raises(CoreError):
        plan_convert(ConvertRequest(str(src)))
    plan = plan_convert(
        ConvertRequest(str(src), str(tmp_path / "c" / "m"), target="checkpoint", drop=("d",))
    )
    apply_convert(plan)
    with CheckpointReader(tmp_path / "c" / "m") as reader:
        assert reader.names() == ["f", "w"]
        assert same(reader.get_tensor("w"), np.arange(4, dtype=np.float64))
        assert same(reader.get_tensor("f"), np.ascontiguousarray(fortran))


def test_header_parser_fuzz() -> None:
    """Arbitrary header bytes and buffer sizes: a FormatError or a consistent result, never
    another exception (safetensors' own fuzz target checks the same)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    entry = st.fixed_dictionaries(
        {
            "dtype": st.sampled_from(["F32", "BF16", "U8", "I64", "F8_E4M3", "X"]),
            "shape": st.lists(st.integers(-2, 5), max_size=3),
            "data_offsets": st.lists(st.integers(-1, 64), min_size=0, max_size=3),
        }
    )
    headers = st.one_of(
        st.binary(max_size=64),
        st.dictionaries(st.text(max_size=4), entry, max_size=4).map(
            lambda d: json.dumps(d).encode()
        ),
    )

    @settings(max_examples=300, deadline=None)
    @given(headers, st.integers(0, 256))
    def check(text: bytes, size: int) -> None:
        try:
            _, entries = parse_header(text, size)
        except FormatError:
            return
        assert sum(e.nbytes for e in entries.values()) == size

    check()


@pytest.mark.parametrize(
    ("source", "extra"),
    [(TRAIN, {}), (PARTITIONED, {}), (DTYPES, {}), (TRAIN, {"dtype": "float16"})],
)  # fmt: skip
def test_safetensors_file_is_the_one_the_package_writes(
    tmp_path: Path, source: Path, extra: dict
) -> None:
    """Our writer copies the bytes into the package's layout: the file equals what the
    package's own serialize_file writes for the same tensors and metadata (same header length,
    entries, order and offsets, same data bytes; whole tensors copied from the data file,
    partitioned ones reassembled, converted dtypes)."""
    from safetensors import TensorSpec, serialize_file

    out = tmp_path / "ours.safetensors"
    plan = plan_convert(ConvertRequest(str(source), str(out), **extra))
    if not plan.ok:  # the dtypes fixture: drop what safetensors cannot hold
        bad = [p.split(":")[0] for p in plan.problems]
        plan = plan_convert(ConvertRequest(str(source), str(out), drop=tuple(bad)))
    assert plan.ok, plan.problems
    apply_convert(plan)
    keep, specs = [], {}
    with CheckpointReader(source) as reader:
        for item in plan.items:
            arr = np.ascontiguousarray(reader.get_tensor(item.source_name))
            if item.out_dtype != item.dtype:
                arr = arr.astype(np.float16)
            flat = arr.reshape(-1).view(np.uint8) if arr.size else np.zeros(1, np.uint8)
            keep.append(flat)
            specs[item.name] = TensorSpec(
                dtype=item.out_dtype, shape=list(item.shape), data_ptr=flat.ctypes.data,
                data_len=arr.nbytes,
            )  # fmt: skip
    theirs = tmp_path / "theirs.safetensors"
    serialize_file(specs, str(theirs), metadata=plan.metadata)
    ours_b, theirs_b = out.read_bytes(), theirs.read_bytes()
    n = int.from_bytes(ours_b[:8], "little")
    assert n == int.from_bytes(theirs_b[:8], "little") and len(ours_b) == len(theirs_b)
    # the package keeps the metadata in a hash map: its key order varies from call to call
    assert list(json.loads(ours_b[8 : 8 + n])) == list(json.loads(theirs_b[8 : 8 + n]))
    assert json.loads(ours_b[8 : 8 + n]) == json.loads(theirs_b[8 : 8 + n])
    assert ours_b[8 + n :] == theirs_b[8 + n :]


@pytest.mark.parametrize("last", [False, True])
def test_a_bad_checksum_in_the_source_fails_the_write(
    tmp_path: Path, sink_mode: str, last: bool
) -> None:
    """A flipped bit in a tensor's first or last byte fails the write by the tensor's name, in
    both sink modes (checked on the bytes as they are copied); nothing is left."""
    import shutil

    src = tmp_path / "src"
    src.mkdir()
    for f in TRAIN.parent.glob(TRAIN.name + ".*"):
        shutil.copy(f, src / f.name)
    prefix = src / TRAIN.name
    with CheckpointReader(prefix) as reader:
        entry = reader.bundle.entry("model/layer_1/dense/kernel")  # type: ignore[union-attr]
    data = next(src.glob("*.data-*"))
    raw = bytearray(data.read_bytes())
    raw[entry.offset + (entry.size - 1 if last else 0)] ^= 0x01
    data.write_bytes(bytes(raw))
    out = tmp_path / "model.safetensors"
    with pytest.raises(
        FormatError, match="checksum mismatch in tensor 'model/layer_1/dense/kernel'"
    ):
        apply_convert(plan_convert(ConvertRequest(str(prefix), str(out))))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_safetensors_data_in_one_pass_through_the_sink(
    tmp_path: Path, sink_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole tensors of a checkpoint go through the data sink, each one's checksum checked on
    the bytes copied: no second read of the source (the checksum pass) for any of them, and no
    copy_file_range; the file is the package's (every tensor equal) in both sink modes."""
    from graphtui.formats import data_sink
    from graphtui.formats.bundle import BundleReader

    reads: list[str] = []
    raw_bytes = BundleReader.raw_bytes

    def counted(self: BundleReader, entry: object, *args: object, **kwargs: object) -> object:
        reads.append(entry.name)  # type: ignore[attr-defined]
        return raw_bytes(self, entry, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BundleReader, "raw_bytes", counted)
    if sink_mode == "direct":
        monkeypatch.setattr(data_sink, "copy_file_bytes", lambda *a: pytest.fail("copied twice"))
    for source in (TRAIN, PARTITIONED):
        out = tmp_path / f"{source.parent.name}.safetensors"
        plan = plan_convert(ConvertRequest(str(source), str(out)))
        reads.clear()
        apply_convert(plan)
        read_while_writing = set(reads)
        with CheckpointReader(source) as reader:
            bundle = reader.bundle
            assert bundle is not None
            whole = {i.source_name for i in plan.items if not bundle.entry(i.source_name).is_sliced}
            loaded = safetensors_numpy.load_file(str(out))
            for item in plan.items:
                assert same(loaded[item.name], reader.get_tensor(item.source_name)), item.name
        assert whole and not whole & read_while_writing, sorted(whole & read_while_writing)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "partitioned.safetensors",
        "train.safetensors",
    ]


@pytest.fixture
def data_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each ``CheckpointReader.verify`` call's ``data`` flag (True: every tensor read back)."""
    calls: list[bool] = []
    verify = CheckpointReader.verify

    def recorded(self: CheckpointReader, *, data: bool = True) -> list[FormatError]:
        calls.append(data)
        return verify(self, data=data)

    monkeypatch.setattr(CheckpointReader, "verify", recorded)
    return calls


def test_safetensors_to_checkpoint_summed_in_flight_not_read_back(
    tmp_path: Path, sink_mode: str, monkeypatch: pytest.MonkeyPatch, data_reads: list[bool]
) -> None:
    """A .safetensors file's tensors are copied through the checkpoint writer's data sink, each
    summed on the bytes copied (the checksum TF checks); the check after writing looks at the
    index, names, dtypes and shapes without reading the data back, and compares the values of
    what was encoded (a cast) only. An independent reader then finds every checksum right."""
    st = tmp_path / "w.safetensors"
    apply_convert(plan_convert(ConvertRequest(str(TRAIN), str(st))))
    back = tmp_path / "back" / "model"
    plan = plan_convert(ConvertRequest(str(st), str(back), target="checkpoint"))
    apply_convert(plan)
    assert data_reads == [False]
    monkeypatch.undo()  # the reads below are the test's own
    with CheckpointReader(back) as got, CheckpointReader(TRAIN) as want:
        assert got.verify() == []
        assert sorted(got.names()) == sorted(i.name for i in plan.items)
        for name in got.names():
            assert same(got.get_tensor(name), want.get_tensor(name)), name
        # with O_DIRECT the run is lined up with its place in the source (a gap of zeros
        # first, as TF's data_alignment pads) so that it goes from the source's pages to the
        # disk; through the page cache nothing is gained and the data file has no gap
        bundle = got.bundle
        assert bundle is not None
        places = sorted((bundle.entry(n).offset, n) for n in got.names())
        with open_safetensors(st) as f:
            lined_up = all(
                (off - f.data_start - f.entries[n].begin) % 4096 == 0 for off, n in places
            )
        assert lined_up == (sink_mode == "direct")
        assert (places[0][0] == 0) == (sink_mode == "page cache")
    # a cast tensor is encoded from values: compared by value after writing
    half = tmp_path / "half" / "model"
    plan = plan_convert(ConvertRequest(str(st), str(half), target="checkpoint", dtype="float16"))
    values_read: list[str] = []
    read = CheckpointReader.read

    def counted(self: CheckpointReader, name: str, *args: object, **kwargs: object) -> object:
        values_read.append(name)
        return read(self, name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(CheckpointReader, "read", counted)
    apply_convert(plan)
    cast = {i.name for i in plan.items if i.out_dtype != i.dtype}
    assert cast and set(values_read) == cast
    monkeypatch.undo()
    with CheckpointReader(half) as got:
        assert got.verify() == []
        assert got.get_tensor("model/layer_1/dense/kernel").dtype == np.float16


def test_npz_members_are_the_bytes_numpy_writes(tmp_path: Path) -> None:
    """Each member of our .npz is what numpy.save writes for the array (header version and
    padding included), though the values are handed over without numpy's chunk copies."""
    import io
    import zipfile

    from graphtui.formats.npz import write_npz

    arrays = {
        "f": np.arange(12, dtype=np.float32).reshape(3, 4),
        "i": np.arange(5, dtype=np.int64),
        "b": np.array([True, False]),
        "s": np.array(3.5, dtype=np.float64),
        "e": np.zeros((0, 3), np.float16),
        "t": np.arange(6, dtype=np.int16).reshape(2, 3).T,  # not C-contiguous: numpy's path
        "u": np.array('{"a": 1}'),
    }
    out = tmp_path / "a.npz"
    with open(out, "wb") as fh:
        write_npz(fh, arrays.items())
    with zipfile.ZipFile(out) as zf:
        for name, arr in arrays.items():
            want = io.BytesIO()
            np.save(want, arr, allow_pickle=False)
            assert zf.read(name + ".npy") == want.getvalue(), name
    with np.load(out, allow_pickle=False) as npz:
        for name, arr in arrays.items():
            assert same(npz[name], arr), name


def test_npz_to_checkpoint_takes_stored_members_as_they_lie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_reads: list[bool]
) -> None:
    """A stored member's values are a view of the mapped archive, its CRC-32 checked first (a
    flipped byte is refused by name); the written checkpoint is not read back for them. A
    compressed .npz (savez_compressed) is read through zipfile, as before."""
    import zipfile

    npz = tmp_path / "w.npz"
    apply_convert(plan_convert(ConvertRequest(str(TRAIN), str(npz))))
    monkeypatch.setattr(NpzFile, "read", lambda *a: pytest.fail("read through zipfile"))
    back = tmp_path / "back" / "model"
    plan = plan_convert(ConvertRequest(str(npz), str(back), target="checkpoint"))
    apply_convert(plan)
    assert data_reads == [False]
    monkeypatch.undo()
    with CheckpointReader(back) as got, CheckpointReader(TRAIN) as want:
        assert got.verify() == []
        assert sorted(got.names()) == sorted(i.name for i in plan.items)
        for name in got.names():
            assert same(got.get_tensor(name), want.get_tensor(name)), name

    # a flipped byte in a member's values (past what reading its header at open reads): the
    # member's CRC-32 refuses it, by name, and nothing is written
    big = tmp_path / "big.npz"
    np.savez(big, small=np.ones(3, np.float32), big=np.arange(50_000, dtype=np.float32))
    with zipfile.ZipFile(big) as zf:
        info = zf.getinfo("big.npy")
    raw = bytearray(big.read_bytes())
    raw[info.header_offset + info.compress_size] ^= 0x10  # inside the member's values
    big.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match=r"member 'big': CRC-32 mismatch \(data corrupt\)"):
        apply_convert(plan_convert(ConvertRequest(str(big), str(tmp_path / "x" / "m"),
                                                  target="checkpoint")))  # fmt: skip
    assert not (tmp_path / "x").exists()

    # compressed: no view to take, read (and checked) by zipfile
    with CheckpointReader(TRAIN) as reader:
        values = {n: reader.get_tensor(n) for n in reader.names() if n != "global_step"}
    packed = tmp_path / "packed.npz"
    np.savez_compressed(packed, **values)
    out = tmp_path / "packed" / "model"
    apply_convert(plan_convert(ConvertRequest(str(packed), str(out), target="checkpoint")))
    with CheckpointReader(out) as got:
        for name, value in values.items():
            assert same(got.get_tensor(name), value), name


@pytest.mark.parametrize("suffix", ["safetensors", "npz"])
def test_a_failed_disk_write_leaves_nothing(
    tmp_path: Path, sink_mode: str, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """The disk is full (every write call fails: in the sink's writer thread, the kernel's
    copy, or the fsync of what went through the page cache): one WriteError line naming the
    output, no file, no temporary left."""
    import errno
    import os

    calls = {"n": 0}

    def full(*args: object) -> object:
        calls["n"] += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    for name in ("pwrite", "write", "copy_file_range", "fsync"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, full)
    out = tmp_path / "out" / f"m.{suffix}"
    out.parent.mkdir()
    plan = plan_convert(ConvertRequest(str(TRAIN), str(out)))
    with pytest.raises(WriteError, match=r"m\.\w+: cannot write: No space left on device"):
        apply_convert(plan)
    monkeypatch.undo()
    assert calls["n"] >= 1
    assert list(out.parent.iterdir()) == []
