"""Fuzzing the readers with hypothesis: real fixtures mutated (flips, cuts, insertions, entries
rewritten behind valid checksums) and random bytes. Each reader returns a correct result or
raises its documented error (a GraphtuiError for the file readers; SnappyError, OrderedCodeError,
TensorProtoError for the low-level decoders, which their callers wrap); nothing else, and
nothing hangs (a SIGALRM guard fails an example that runs too long).

CI runs a short, derandomized pass. A long run: ``GRAPHTUI_FUZZ_EXAMPLES=20000 pytest
tests/unit/test_fuzz.py`` (random, not derandomized); figures in tests/FUZZING.md.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from graphtui._proto import pb
from graphtui.core.checkpoint import CheckpointReader, list_variables
from graphtui.core.collections import CollectionTable
from graphtui.core.graph import GraphIndex
from graphtui.core.scopes import ScopeTree
from graphtui.core.variables import VariableTable, saver_info
from graphtui.errors import FormatError, GraphtuiError
from graphtui.formats import snappy, tensor_proto
from graphtui.formats.bundle import BundleReader, decode_strings
from graphtui.formats.bundle_writer import encode_strings
from graphtui.formats.crc import masked_crc32c
from graphtui.formats.metagraph_io import parse_meta_graph, serialize_meta_graph
from graphtui.formats.ordered_code import OrderedCodeError, decode_slice_key, encode_slice_key
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter
from graphtui.formats.state_file import parse_state
from graphtui.formats.v1 import V1Reader
from graphtui.formats.varint import encode_varint
from tests.fixtures.hang_guard import hang_guard
from tests.fixtures.shared import DATA
from tests.verify_reference import bundle_problems, described, table_problems

LONG_RUN = int(os.environ.get("GRAPHTUI_FUZZ_EXAMPLES", "0"))
# long runs: the file readers' examples take 10-50 ms each
READER_CAP = int(os.environ.get("GRAPHTUI_FUZZ_READER_EXAMPLES", "8000"))
EXAMPLE_SECONDS = 20.0  # one example; the whole test has the suite's hang guard
T = TypeVar("T")


def fuzz(ci_examples: int, long_cap: int | None = None) -> Callable[[T], T]:
    """Settings: a small derandomized run in CI, GRAPHTUI_FUZZ_EXAMPLES random ones on demand
    (at most ``long_cap`` for a target whose examples take seconds: the app, the CLI)."""
    long_run = min(LONG_RUN, long_cap) if long_cap and LONG_RUN else LONG_RUN
    return settings(
        max_examples=long_run or ci_examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """The suite's per-test hang guard (tests/conftest.py), except in a long run: 20,000
    examples take as long as they take, and each example keeps its own guard."""
    if LONG_RUN:
        yield
        return
    with hang_guard():
        yield


def one_line(exc: BaseException) -> None:
    text = str(exc)
    assert text and "\n" not in text, repr(text)


# -- mutations ------------------------------------------------------------------------------------

INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF]


@st.composite
def mutated(draw: st.DrawFn, original: bytes, max_ops: int = 6) -> bytes:
    """``original`` with 1..max_ops edits: bit flips, byte sets, cuts, insertions, deletions,
    duplicated runs and 'interesting' varint bytes."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, max_ops))):
        kind = draw(
            st.sampled_from(["flip", "set", "interesting", "truncate", "insert", "delete", "dup"])
        )
        if not data:
            kind = "insert"
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "interesting":
            data[pos] = draw(st.sampled_from(INTERESTING))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        else:
            n = draw(st.integers(1, 32))
            data[pos:pos] = data[pos : pos + n]
    return bytes(data)


def read_items(data: bytes) -> dict[bytes, bytes]:
    with Table("fixture", data) as table:
        return {key: bytes(value) for key, value in table.items()}


def write_table(items: dict[bytes, bytes]) -> bytes:
    buf = io.BytesIO()
    writer = TableWriter(buf, block_size=256)  # several blocks even for small indexes
    for key in sorted(items):
        writer.add(key, items[key])
    writer.finish()
    return buf.getvalue()


@st.composite
def restructured(draw: st.DrawFn, original: bytes) -> bytes:
    """A table with valid checksums whose entries (keys or values) were mutated: gets past the
    crc32c check into the decoders behind it."""
    items = read_items(original)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(items)))
        if draw(st.booleans()):
            items[key] = draw(mutated(items[key]))
        else:
            value = items.pop(key)
            items[draw(mutated(key))] = value
    return write_table(items)


# -- fixtures -------------------------------------------------------------------------------------

BUNDLES = {
    "sharded": ("sharded", "model.ckpt"),
    "dtypes": ("dtypes", "model.ckpt"),
    "variant": ("dtypes", "variant.ckpt"),
    "partitioned": ("partitioned", "model.ckpt"),
    "train": ("train", "model.ckpt-50"),
    "keras": ("tf2/keras", "ckpt-1"),
}


def _bundle_files(fixture: str) -> dict[str, bytes]:
    directory, prefix = BUNDLES[fixture]
    return {
        p.name: p.read_bytes()
        for p in sorted((DATA / directory).glob(prefix + ".*"))
        if ".data-" in p.name or p.name.endswith(".index")
    }


FILES = {name: _bundle_files(name) for name in BUNDLES}
INDEXES = {f"{name}.index": files[BUNDLES[name][1] + ".index"] for name, files in FILES.items()} | {
    "v1": (DATA / "v1" / "model.ckpt-2").read_bytes()
}
META_BINARY = {
    "sharded": (DATA / "sharded" / "model.ckpt.meta").read_bytes(),
    "v1": (DATA / "v1" / "model.ckpt-2.meta").read_bytes(),
    "partitioned": (DATA / "partitioned" / "model.ckpt.meta").read_bytes(),
}


def _small_text_meta() -> bytes:
    mg = pb.MetaGraphDef()
    mg.ParseFromString(META_BINARY["v1"])
    return serialize_meta_graph(mg, as_text=True)


META_TEXT = _small_text_meta()


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="graphtui-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def fresh_dir(workdir: Path, name: str, files: dict[str, bytes] | None = None) -> Path:
    """An empty directory ``workdir/name`` (emptied if an earlier example left it), holding
    ``files``."""
    directory = workdir / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    for file_name, content in (files or {}).items():
        (directory / file_name).write_bytes(content)
    return directory


# -- the SSTable reader ---------------------------------------------------------------------------


@st.composite
def table_bytes(draw: st.DrawFn) -> tuple[bytes, bytes]:
    name = draw(st.sampled_from(sorted(INDEXES)))
    original = INDEXES[name]
    how = draw(st.sampled_from(["raw", "restructured", "random"]))
    if how == "raw":
        return original, draw(mutated(original))
    if how == "restructured":
        return original, draw(restructured(original))
    return original, draw(st.binary(max_size=600))


@fuzz(ci_examples=150, long_cap=READER_CAP)
@given(case=table_bytes(), verify=st.booleans(), probe=st.binary(max_size=12))
def test_fuzz_sstable(case: tuple[bytes, bytes], verify: bool, probe: bytes) -> None:
    original, data = case
    with hang_guard(EXAMPLE_SECONDS):
        try:
            table = Table("fuzz.index", data, verify_checksums=verify)
        except GraphtuiError as exc:
            one_line(exc)
            return
        try:
            items = {key: bytes(value) for key, value in table.items()}
            for key in [*list(items)[:5], probe]:
                got = table.get(key)
                if verify:  # unchecked corrupt restart points may hide a key from get()
                    assert (got is None) == (key not in items), key
            for problem in table.verify():
                assert isinstance(problem, FormatError)
                one_line(problem)
        except GraphtuiError as exc:
            one_line(exc)
            return
        finally:
            table.close()
    if data == original:
        assert items == read_items(original)


@fuzz(ci_examples=100)
@given(
    items=st.dictionaries(st.binary(max_size=40), st.binary(max_size=300), max_size=60),
    block_size=st.integers(16, 4096),
    restart=st.integers(1, 20),
)
def test_table_round_trip(items: dict[bytes, bytes], block_size: int, restart: int) -> None:
    """The correct-result half: whatever graphtui's writer writes, the reader reads back."""
    buf = io.BytesIO()
    writer = TableWriter(buf, block_size=block_size, restart_interval=restart)
    for key in sorted(items):
        writer.add(key, items[key])
    writer.finish()
    data = buf.getvalue()
    if not items:
        return
    with Table("rt.index", data) as table:
        assert {k: bytes(v) for k, v in table.items()} == items
        for key in items:
            got = table.get(key)
            assert got is not None and bytes(got) == items[key]
        assert table.verify() == []


# -- the bundle reader (index + data) -------------------------------------------------------------


@st.composite
def bundle_case(draw: st.DrawFn) -> tuple[str, dict[str, bytes], bool]:
    fixture = draw(st.sampled_from(sorted(BUNDLES)))
    files = dict(FILES[fixture])
    index_name = BUNDLES[fixture][1] + ".index"
    how = draw(st.sampled_from(["index", "entries", "data", "data+entries", "random index"]))
    if how == "index":
        files[index_name] = draw(mutated(files[index_name]))
    if how in ("entries", "data+entries"):
        files[index_name] = draw(restructured(files[index_name]))
    if how in ("data", "data+entries"):
        shard = draw(st.sampled_from(sorted(n for n in files if ".data-" in n)))
        files[shard] = draw(mutated(files[shard]))
    if how == "random index":
        files[index_name] = draw(st.binary(max_size=400))
    if draw(st.integers(0, 9)) == 0:  # now and then a shard goes missing
        del files[draw(st.sampled_from(sorted(files)))]
    return fixture, files, files == FILES[fixture]


def _read_everything(reader: CheckpointReader) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for info in reader.tensors() if _safe(reader.tensors) else []:
        assert info.nbytes >= 0
    for name in reader.names():
        try:
            reader.tensor_info(name)
            values[name] = _plain(reader.get_tensor(name))
        except GraphtuiError as exc:
            one_line(exc)
            values[name] = type(exc)
    for problem in reader.verify():
        assert isinstance(problem, FormatError)
        one_line(problem)
    return values


def _plain(value: Any) -> Any:
    """A value to compare: TF returns a scalar string as bytes, other values as arrays."""
    if isinstance(value, bytes):
        return value
    return value.tolist() if value.dtype == object else value.tobytes()


def _safe(fn: Callable[[], object]) -> bool:
    try:
        fn()
    except GraphtuiError:
        return False
    return True


@fuzz(ci_examples=60, long_cap=READER_CAP)
@given(case=bundle_case(), verify=st.booleans())
def test_fuzz_bundle(workdir: Path, case: tuple[str, dict[str, bytes], bool], verify: bool) -> None:
    fixture, files, untouched = case
    directory = fresh_dir(workdir, "bundle", files)
    prefix = directory / BUNDLES[fixture][1]
    with hang_guard(EXAMPLE_SECONDS):
        try:
            reader = CheckpointReader(prefix, verify_checksums=verify)
        except GraphtuiError as exc:
            one_line(exc)
            assert not untouched
            return
        with reader:
            values = _read_everything(reader)
    if untouched:  # the correct result: what the pristine fixture holds
        with CheckpointReader(DATA / BUNDLES[fixture][0] / BUNDLES[fixture][1]) as pristine:
            expected = {}
            for name in pristine.names():
                try:
                    expected[name] = _plain(pristine.get_tensor(name))
                except GraphtuiError as exc:
                    expected[name] = type(exc)
        assert values == expected


@fuzz(ci_examples=60, long_cap=READER_CAP)
@given(case=bundle_case(), data=st.booleans(), step=st.sampled_from([1, 2, 7, 1 << 16]))
def test_fuzz_verify_in_bulk_agrees_with_one_by_one(
    workdir: Path, case: tuple[str, dict[str, bytes], bool], data: bool, step: int
) -> None:
    """``verify`` (entries decoded in bulk, small tensors' checksums side by side, steps of
    ``step`` tensors) reports what checking every entry and tensor one by one reports, in the
    same order (tests/verify_reference.py)."""
    from graphtui.formats import bundle_verify

    fixture, files, _ = case
    directory = fresh_dir(workdir, "verify", files)
    prefix = directory / BUNDLES[fixture][1]
    with hang_guard(EXAMPLE_SECONDS):
        try:
            reader, reference = BundleReader(prefix), BundleReader(prefix)
        except GraphtuiError as exc:
            one_line(exc)
            return
        with reader, reference, mock.patch.object(bundle_verify, "_STEP_ROWS", step):
            expected = described(bundle_problems(reference, data=data))
            assert described(reader.verify(data=data)) == expected


@st.composite
def block_damaged(draw: st.DrawFn) -> bytes:
    """An index whose blocks' bytes are changed behind valid checksums (the structure is
    wrong, the checksums right)."""
    original = INDEXES[draw(st.sampled_from(sorted(INDEXES)))]
    with Table("original.index", original) as table:
        handles = [table.metaindex_handle, *table._index_handles]
    data = bytearray(original)
    for handle in draw(st.lists(st.sampled_from(handles), min_size=1, max_size=3)):
        for _ in range(draw(st.integers(1, 4))):
            at = handle.offset + draw(st.integers(0, max(0, handle.size - 1)))
            data[at] = draw(st.integers(0, 255))
        trailer = handle.offset + handle.size + 1
        data[trailer : trailer + 4] = masked_crc32c(bytes(data[handle.offset : trailer])).to_bytes(
            4, "little"
        )
    return bytes(data)


@fuzz(ci_examples=150, long_cap=READER_CAP)
@given(data=st.one_of(block_damaged(), table_bytes().map(lambda case: case[1])))
def test_fuzz_table_verify_in_bulk_agrees_with_the_walk(data: bytes) -> None:
    """``Table.verify`` (blocks walked in bulk) reports what reading every block and walking
    it entry by entry reports."""
    with hang_guard(EXAMPLE_SECONDS):
        try:
            table = Table("fuzz.index", data)
        except GraphtuiError as exc:
            one_line(exc)
            return
        with table:
            assert described(table.verify()) == described(table_problems(table))


@fuzz(ci_examples=60, long_cap=READER_CAP)
@given(
    data=st.one_of(
        mutated(INDEXES["v1"]),
        restructured(INDEXES["v1"]),
        st.binary(max_size=300),
    ),
    verify=st.booleans(),
)
def test_fuzz_v1(workdir: Path, data: bytes, verify: bool) -> None:
    path = workdir / "v1.ckpt"
    path.write_bytes(data)
    with hang_guard(EXAMPLE_SECONDS):
        try:
            reader = V1Reader(path, verify_checksums=verify)
        except GraphtuiError as exc:
            one_line(exc)
            return
        try:
            for name in reader.names():
                try:
                    reader.read(name)
                except GraphtuiError as exc:
                    one_line(exc)
            for problem in reader.verify():
                one_line(problem)
        finally:
            reader.close()


def _entry_values() -> list[bytes]:
    values = []
    for name in BUNDLES:
        items = read_items(FILES[name][BUNDLES[name][1] + ".index"])
        values += [v for k, v in items.items() if k]
    return values


ENTRY_VALUES = _entry_values()
HEADER_VALUES = [read_items(FILES[n][BUNDLES[n][1] + ".index"])[b""] for n in BUNDLES]


@fuzz(ci_examples=300)
@given(value=st.one_of(st.sampled_from(ENTRY_VALUES).flatmap(mutated), st.binary(max_size=40)))
def test_fuzz_entry_scanner_agrees_with_protobuf(value: bytes) -> None:
    """The reader's protobuf-free entry scanner returns what protobuf decodes, or defers."""
    from graphtui.formats import bundle

    with hang_guard(EXAMPLE_SECONDS):
        scanned = bundle._scan_entry(value)
    if scanned is None:
        return
    proto = pb.BundleEntryProto()
    proto.ParseFromString(value)  # the scanner accepted it: protobuf must too
    assert scanned == (
        int(proto.dtype),
        tuple(int(d.size) for d in proto.shape.dim),
        bool(proto.shape.unknown_rank),
        int(proto.shard_id),
        int(proto.offset),
        int(proto.size),
        int(proto.crc32c),
        tuple(bundle.extents_of(sl) for sl in proto.slices),
    )


@fuzz(ci_examples=200)
@given(value=st.one_of(st.sampled_from(HEADER_VALUES).flatmap(mutated), st.binary(max_size=20)))
def test_fuzz_header_scanner_agrees_with_protobuf(value: bytes) -> None:
    from graphtui.formats import bundle

    with hang_guard(EXAMPLE_SECONDS):
        scanned = bundle._scan_header(value)
    if scanned is None:
        return
    proto = pb.BundleHeaderProto()
    proto.ParseFromString(value)
    assert scanned == (
        int(proto.num_shards),
        int(proto.endianness),
        int(proto.version.producer),
        int(proto.version.min_consumer),
        tuple(proto.version.bad_consumers),
    )


# -- the bundle string decoder --------------------------------------------------------------------


def _string_tensor_bytes() -> bytes:
    files = FILES["dtypes"]
    with CheckpointReader(DATA / "dtypes" / "model.ckpt") as reader:
        assert reader.bundle is not None
        entry = reader.bundle.entry("t_string_2d")
    data = files["model.ckpt.data-00000-of-00001"]
    return data[entry.offset : entry.offset + entry.size]


STRINGS = _string_tensor_bytes()


@fuzz(ci_examples=200)
@given(
    raw=st.one_of(mutated(STRINGS), st.binary(max_size=200)),
    count=st.one_of(st.integers(0, 12), st.just(6), st.integers(0, 1 << 62)),
)
def test_fuzz_string_decoder(raw: bytes, count: int) -> None:
    with hang_guard(EXAMPLE_SECONDS):
        try:
            out = decode_strings(memoryview(raw), count, "fuzz.data", "s")
        except FormatError as exc:
            one_line(exc)
            return
    assert out.shape == (count,) and out.dtype == object
    total = sum(len(x) for x in out)
    assert b"".join(out) == raw[len(raw) - total :]


@fuzz(ci_examples=100)
@given(values=st.lists(st.binary(max_size=50), max_size=20))
def test_string_round_trip(values: list[bytes]) -> None:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    raw, _ = encode_strings(arr)
    assert decode_strings(memoryview(raw), len(values), "rt", "s").tolist() == values


# -- the ordered-code decoder ---------------------------------------------------------------------


def _slice_keys() -> list[bytes]:
    return [k for k in read_items(INDEXES["partitioned.index"]) if k[:1] == b"\x00"]


SLICE_KEYS = _slice_keys()
INT64 = st.integers(-(1 << 63), (1 << 63) - 1)


@fuzz(ci_examples=300)
@given(key=st.one_of(st.sampled_from(SLICE_KEYS).flatmap(mutated), st.binary(max_size=60)))
def test_fuzz_ordered_code(key: bytes) -> None:
    with hang_guard(EXAMPLE_SECONDS):
        try:
            name, extents = decode_slice_key(key)
        except OrderedCodeError:
            return
    assert all(-(1 << 63) <= v < (1 << 63) for ext in extents for v in ext)
    # a decoded key re-encodes to a key that decodes the same (encodings may be non-minimal)
    again = decode_slice_key(encode_slice_key(name, extents))
    assert again == (name, extents) or "\ufffd" in name


@fuzz(ci_examples=200)
@given(
    name=st.binary(max_size=30),
    extents=st.lists(st.tuples(INT64, st.one_of(INT64, st.just(-1))), max_size=8),
)
def test_ordered_code_round_trip(name: bytes, extents: list[tuple[int, int]]) -> None:
    key = encode_slice_key(name, extents)
    got_name, got_extents = decode_slice_key(key)
    assert got_extents == extents
    assert got_name == name.decode("utf-8", "replace")


# -- snappy ---------------------------------------------------------------------------------------


def _compress(data: bytes) -> bytes:
    """A small snappy compressor (literals and greedy 4-byte-match copies) for round trips."""
    out = bytearray(encode_varint(len(data)))
    last: dict[bytes, int] = {}
    pos = lit_start = 0

    def literal(end: int) -> None:
        nonlocal lit_start
        while lit_start < end:
            n = min(end - lit_start, 60)
            out.append((n - 1) << 2)
            out.extend(data[lit_start : lit_start + n])
            lit_start += n

    while pos + 4 <= len(data):
        seen = last.get(data[pos : pos + 4])
        last[data[pos : pos + 4]] = pos
        if seen is not None and pos - seen < 1 << 16:
            length = 4
            while (
                pos + length < len(data)
                and length < 64
                and data[seen + length] == data[pos + length]
            ):
                length += 1
            literal(pos)
            out.append(((length - 1) << 2) | 2)
            out.extend((pos - seen).to_bytes(2, "little"))
            pos += length
            lit_start = pos
        else:
            pos += 1
    literal(len(data))
    return bytes(out)


@fuzz(ci_examples=300)
@given(
    block=st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=300).map(_compress).flatmap(mutated),
    ),
    max_size=st.integers(0, 1 << 20),
)
def test_fuzz_snappy(block: bytes, max_size: int) -> None:
    with hang_guard(EXAMPLE_SECONDS):
        try:
            out = snappy.decompress(block, max_size)
        except snappy.SnappyError:
            return
    assert len(out) <= max_size


@fuzz(ci_examples=200)
@given(
    data=st.one_of(
        st.binary(max_size=500),
        st.lists(st.sampled_from([b"ab", b"abcd", b"\x00" * 7, b"xyz"]), max_size=80).map(b"".join),
    )
)
def test_snappy_round_trip(data: bytes) -> None:
    assert snappy.decompress(_compress(data), max_size=len(data)) == data


# -- TensorProto decoding (V1 slices, Const attrs) ------------------------------------------------


@st.composite
def tensor_protos(draw: st.DrawFn) -> Any:
    proto = pb.TensorProto(
        dtype=draw(st.one_of(st.integers(0, 30), st.integers(101, 130), st.integers(-5, 1 << 20)))
    )
    for d in draw(st.lists(st.one_of(st.integers(-2, 6), st.integers(0, 1 << 40)), max_size=4)):
        proto.tensor_shape.dim.add().size = d
    proto.tensor_shape.unknown_rank = draw(st.integers(0, 9)) == 0
    field = draw(
        st.sampled_from(
            [
                "tensor_content",
                "half_val",
                "float_val",
                "double_val",
                "int_val",
                "int64_val",
                "string_val",
                "scomplex_val",
                "dcomplex_val",
                "bool_val",
                "uint32_val",
                "uint64_val",
                "float8_val",
                "none",
            ]
        )
    )
    n = draw(st.integers(0, 8))
    if field == "tensor_content":
        proto.tensor_content = draw(st.binary(max_size=64))
    elif field == "float8_val":
        proto.float8_val = draw(st.binary(max_size=16))
    elif field in ("half_val", "int_val"):
        getattr(proto, field).extend(
            draw(st.lists(st.integers(-(1 << 31), (1 << 31) - 1), max_size=n))
        )
    elif field == "int64_val":
        getattr(proto, field).extend(draw(st.lists(INT64, max_size=n)))
    elif field == "uint32_val":
        proto.uint32_val.extend(draw(st.lists(st.integers(0, (1 << 32) - 1), max_size=n)))
    elif field == "uint64_val":
        proto.uint64_val.extend(draw(st.lists(st.integers(0, (1 << 64) - 1), max_size=n)))
    elif field in ("float_val", "scomplex_val"):
        getattr(proto, field).extend(draw(st.lists(st.floats(width=32), max_size=n)))
    elif field in ("double_val", "dcomplex_val"):
        getattr(proto, field).extend(draw(st.lists(st.floats(), max_size=n)))
    elif field == "string_val":
        proto.string_val.extend(draw(st.lists(st.binary(max_size=8), max_size=n)))
    elif field == "bool_val":
        proto.bool_val.extend(draw(st.lists(st.booleans(), max_size=n)))
    return proto


@fuzz(ci_examples=300)
@given(proto=tensor_protos())
def test_fuzz_tensor_proto(proto: Any) -> None:
    with hang_guard(EXAMPLE_SECONDS), np.errstate(all="ignore"):
        try:
            arr = tensor_proto.to_numpy(proto, max_elements=1 << 16)
        except tensor_proto.TensorProtoError:
            return
    shape = tuple(d.size for d in proto.tensor_shape.dim)
    assert arr.shape == shape or proto.tensor_shape.unknown_rank


# -- the meta graph loader -------------------------------------------------------------------------


def _explore_graph(mg: Any) -> None:
    """What opening a meta graph in the app computes; GraphtuiErrors are fine."""
    graph = GraphIndex(mg)
    for name in list(graph)[:40]:
        graph.inputs(name)
        graph.consumers(name)
        graph.attrs(name)
        graph.colocation(name)
    graph.natural_names()
    graph.search("*a*", limit=20)
    for info in graph.functions():
        graph.function_nodes(info.name)
    VariableTable.of(graph).variables()
    table = CollectionTable.of(graph)
    for key in table.keys():  # noqa: SIM118 - the table's own API
        table[key]
    saver_info(graph)
    ScopeTree.of(graph)


@fuzz(ci_examples=80, long_cap=READER_CAP)
@given(
    data=st.one_of(
        st.sampled_from(sorted(META_BINARY)).map(META_BINARY.__getitem__).flatmap(mutated),
        mutated(META_TEXT, max_ops=3),
        st.binary(max_size=300),
        st.text(max_size=200).map(str.encode),
    )
)
def test_fuzz_meta_graph(data: bytes) -> None:
    with hang_guard(EXAMPLE_SECONDS):
        try:
            mg = parse_meta_graph(data, "fuzz.meta")
        except FormatError as exc:
            one_line(exc)
            assert str(exc).startswith("fuzz.meta")
            return
        assert mg.DESCRIPTOR.full_name == "tensorflow.MetaGraphDef"
        try:
            _explore_graph(mg)
        except GraphtuiError as exc:
            one_line(exc)


@fuzz(ci_examples=300)
@given(
    data=st.one_of(
        st.sampled_from(sorted(META_BINARY)).map(META_BINARY.__getitem__).flatmap(mutated),
        st.binary(max_size=60),
    )
)
def test_fuzz_node_scanner_agrees_with_protobuf(data: bytes) -> None:
    """The protobuf-free node scanner (GraphIndex.from_file's path for binary graphs) gives
    the names, ops and, once completed, the message protobuf decodes; where protobuf refuses
    the bytes, completing the lazily built index refuses them too, with a one-line error."""
    from google.protobuf.message import DecodeError

    from graphtui.formats.node_scan import scan_meta_graph

    with hang_guard(EXAMPLE_SECONDS):
        table = scan_meta_graph(data)
        if table is None:
            return
        shell = pb.MetaGraphDef()
        try:
            shell.ParseFromString(table.shell)
        except DecodeError:
            with pytest.raises(DecodeError):
                pb.MetaGraphDef().ParseFromString(data)
            return
        index = GraphIndex(shell, path="fuzz.meta", nodes=table)
        proto = pb.MetaGraphDef()
        try:
            proto.ParseFromString(data)
        except DecodeError:
            with pytest.raises(FormatError) as caught:
                index.meta_graph  # noqa: B018 - completing the index decodes every node
            one_line(caught.value)
            return
        nodes = proto.graph_def.node
        assert table.names == [n.name for n in nodes]
        assert index.ops == [n.op for n in nodes]
        for i in range(0, len(nodes), max(1, len(nodes) // 7)):
            assert index.node(nodes[i].name) == nodes[index.index_of(nodes[i].name)]
        full = index.meta_graph.SerializeToString(deterministic=True)
        assert full == proto.SerializeToString(deterministic=True)


@fuzz(ci_examples=100)
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.just('model_checkpoint_path: "a"\n').flatmap(
            lambda s: mutated(s.encode()).map(lambda b: b.decode("utf-8", "replace"))
        ),
    )
)
def test_fuzz_state_file(text: str) -> None:
    with hang_guard(EXAMPLE_SECONDS):
        try:
            state = parse_state(text, "checkpoint")
        except FormatError as exc:
            one_line(exc)
            return
    assert state.DESCRIPTOR.full_name == "tensorflow.CheckpointState"


def test_mutations_change_the_input() -> None:
    """The harness itself: mutated() really mutates, restructured() keeps valid checksums."""

    @settings(max_examples=30, derandomize=True, database=None)
    @given(data=mutated(INDEXES["sharded.index"]), table=restructured(INDEXES["sharded.index"]))
    def check(data: bytes, table: bytes) -> None:
        assume(data != INDEXES["sharded.index"])
        with Table("t", table) as parsed:  # checksums valid: no ChecksumError
            parsed.verify()

    check()


# -- round two (issue 11): checksums fixed after mutating, slice tiling, hostile names, key storm --


@st.composite
def in_place(draw: st.DrawFn, data: bytes, start: int, stop: int, max_ops: int = 6) -> bytes:
    """``data`` with 1..max_ops byte flips or sets inside ``[start, stop)`` (lengths kept)."""
    out = bytearray(data)
    if stop <= start:
        return data
    for _ in range(draw(st.integers(1, max_ops))):
        pos = draw(st.integers(start, stop - 1))
        how = draw(st.sampled_from(["flip", "set", "interesting"]))
        if how == "flip":
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif how == "set":
            out[pos] = draw(st.integers(0, 255))
        else:
            out[pos] = draw(st.sampled_from(INTERESTING))
    return bytes(out)


def fix_block_checksums(data: bytes, handles: list[Any]) -> bytes:
    """Recompute the crc32c trailer of each block (content + type byte), as a writer would."""
    from graphtui.formats.crc import crc32c, mask

    out = bytearray(data)
    for h in handles:
        end = h.offset + h.size
        crc = mask(crc32c(bytes(out[end : end + 1]), crc32c(bytes(out[h.offset : end]))))
        out[end + 1 : end + 5] = crc.to_bytes(4, "little")
    return bytes(out)


@st.composite
def block_mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """Bytes inside one block of a table mutated in place, then every block checksum fixed: the
    block decoders (restarts, shared prefixes, varints) see corrupt data with a valid crc."""
    with Table("fixture", original) as table:
        handles = [table.index_handle, table.metaindex_handle, *table._index_handles]
    target = draw(st.sampled_from(handles))
    data = draw(in_place(original, target.offset, target.offset + target.size))
    return fix_block_checksums(data, handles)


@fuzz(ci_examples=150, long_cap=READER_CAP)
@given(name=st.sampled_from(sorted(INDEXES)), data=st.data(), probe=st.binary(max_size=12))
def test_fuzz_sstable_blocks_behind_valid_checksums(name: str, data: Any, probe: bytes) -> None:
    mutated_table = data.draw(block_mutated(INDEXES[name]))
    with hang_guard(EXAMPLE_SECONDS):
        try:
            with Table("fuzz", mutated_table) as table:
                items = list(table.items())
                for key, _ in items[:20]:
                    table.get(key)
                table.get(probe)
                for problem in table.verify():
                    one_line(problem)
        except GraphtuiError as exc:
            one_line(exc)


@st.composite
def bundle_with_fixed_tensor_crc(draw: st.DrawFn) -> tuple[str, dict[str, bytes]]:
    """One stored tensor's (or slice's) bytes mutated in the data file and its entry's crc32c
    recomputed: the value decoders (strings, dtypes) see corrupt bytes that pass the check."""
    from graphtui.formats.crc import crc32c, mask

    fixture = draw(st.sampled_from(sorted(BUNDLES)))
    files = dict(FILES[fixture])
    index_name = BUNDLES[fixture][1] + ".index"
    items = read_items(files[index_name])
    stored = []
    for key, value in items.items():
        if not key:
            continue
        entry = pb.BundleEntryProto()
        entry.ParseFromString(value)
        if entry.size and not entry.slices:
            stored.append((key, entry))
    key, entry = draw(st.sampled_from(stored))
    header = pb.BundleHeaderProto()
    header.ParseFromString(items[b""])
    shard = f"{BUNDLES[fixture][1]}.data-{entry.shard_id:05d}-of-{header.num_shards:05d}"
    start, stop = entry.offset, entry.offset + entry.size
    files[shard] = draw(in_place(files[shard], start, stop))
    entry.crc32c = mask(crc32c(files[shard][start:stop]))
    items[key] = entry.SerializeToString()
    files[index_name] = write_table(items)
    return fixture, files


@fuzz(ci_examples=60, long_cap=READER_CAP)
@given(case=bundle_with_fixed_tensor_crc())
def test_fuzz_bundle_values_behind_valid_checksums(
    workdir: Path, case: tuple[str, dict[str, bytes]]
) -> None:
    fixture, files = case
    directory = fresh_dir(workdir, "fixed", files)
    with hang_guard(EXAMPLE_SECONDS):
        try:
            reader = CheckpointReader(directory / BUNDLES[fixture][1])
        except GraphtuiError as exc:
            one_line(exc)
            return
        with reader:
            _read_everything(reader)


# slices: a tensor listed as a random set of boxes either reads exactly or is refused


def _covered(shape: tuple[int, ...], boxes: list[tuple[tuple[int, int], ...]]) -> np.ndarray:
    count = np.zeros(shape, dtype=np.int64)
    for box in boxes:
        count[tuple(slice(a, a + n) for a, n in box)] += 1
    return count


@st.composite
def slice_layouts(draw: st.DrawFn) -> tuple[tuple[int, ...], list[tuple[tuple[int, int], ...]]]:
    """A small shape and boxes: a real partition (cut points per dimension) made hostile by
    dropping, duplicating, shifting or stretching boxes now and then."""
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    cuts = [sorted({0, d, *draw(st.lists(st.integers(0, d), max_size=3))}) for d in shape]
    boxes = [
        tuple((lo, hi - lo) for lo, hi in cell)
        for cell in itertools.product(*[list(zip(c, c[1:], strict=False)) for c in cuts])
    ]
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.sampled_from(["drop", "dup", "shift", "stretch"]))
        i = draw(st.integers(0, len(boxes) - 1))
        box = list(boxes[i])
        axis = draw(st.integers(0, len(shape) - 1))
        start, length = box[axis]
        if how == "drop" and len(boxes) > 1:
            boxes.pop(i)
        elif how == "dup":
            boxes.append(boxes[i])
        elif how == "shift":
            box[axis] = (start + draw(st.sampled_from([-1, 1])), length)
            boxes[i] = tuple(box)
        elif how == "stretch":
            box[axis] = (start, length + 1)
            boxes[i] = tuple(box)
    return shape, draw(st.permutations(boxes))


@fuzz(ci_examples=100)
@given(layout=slice_layouts())
def test_fuzz_slice_tiling(layout: tuple[tuple[int, ...], list[Any]]) -> None:
    """check_tiling accepts exactly the box sets that cover every element once, in range."""
    from graphtui.formats.bundle import check_tiling

    shape, boxes = layout
    in_range = all(
        a >= 0 and n > 0 and a + n <= d
        for box in boxes
        for (a, n), d in zip(box, shape, strict=True)
    )
    exact = in_range and bool((_covered(shape, boxes) == 1).all())
    try:
        check_tiling("t", "x", shape, boxes)
    except FormatError as exc:
        one_line(exc)
        assert not exact, (shape, boxes)
    else:
        assert exact, (shape, boxes)


@fuzz(ci_examples=40, long_cap=5000)
@given(layout=slice_layouts())
def test_fuzz_sliced_tensor_reads_exactly_or_is_refused(
    workdir: Path, layout: tuple[tuple[int, ...], list[Any]]
) -> None:
    """The same layouts written as a partitioned V2 tensor whose slices hold their own
    coordinates: get_tensor equals the full tensor, or raises FormatError; verify passes
    exactly when the slices lie in range and cover no element twice (holes are TF's: a Saver
    given some partitions leaves them, and RestoreV2 reads each stored partition)."""
    from graphtui.formats import dtypes
    from graphtui.formats.bundle_writer import BundleWriter, _is_full
    from graphtui.formats.transaction import FileTransaction

    shape, boxes = layout
    distinct = list(dict.fromkeys(boxes))
    # the writer stores a box covering the whole tensor as a whole tensor (TF's AddSlice), so
    # it refuses one beside other boxes: such a layout cannot be written to test the reader
    assume(len(distinct) == 1 or not any(_is_full(box, shape) for box in distinct))
    full = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
    directory = fresh_dir(workdir, "slices")
    prefix = directory / "m"
    parts = []
    for box in distinct:  # a slice is stored once, whatever the entry lists
        sub = np.full([n for _, n in box], -1.0, np.float32)
        src = tuple(slice(max(a, 0), max(a, 0) + n) for a, n in box)
        got = full[src]
        sub[tuple(slice(0, s) for s in got.shape)] = got
        parts.append((box, sub))
    with FileTransaction() as txn:
        writer = BundleWriter(prefix, txn)
        writer.add_sliced("p", dtypes.from_name("float32"), list(shape), parts)
        writer.finish()
    items = read_items(Path(f"{prefix}.index").read_bytes())
    entry = pb.BundleEntryProto()
    entry.ParseFromString(items[b"p"])
    # one box covering the whole tensor is stored as a whole tensor (TF's AddSlice does the
    # same): no slice key, so an entry listing that box cannot be read (TF: "not found")
    stored_whole = not entry.slices
    del entry.slices[:]
    for box in boxes:  # the entry lists the boxes as drawn (duplicates included)
        sp = entry.slices.add()
        for a, n in box:
            e = sp.extent.add()
            e.start, e.length = a, n
    items[b"p"] = entry.SerializeToString()
    Path(f"{prefix}.index").write_bytes(write_table(items))
    in_range = all(
        a >= 0 and n > 0 and a + n <= d
        for box in boxes
        for (a, n), d in zip(box, shape, strict=True)
    )
    exact = in_range and bool((_covered(shape, boxes) == 1).all()) and not stored_whole
    with hang_guard(EXAMPLE_SECONDS), CheckpointReader(prefix) as reader:
        try:
            value = reader.get_tensor("p")
        except FormatError as exc:
            one_line(exc)
            assert not exact
        else:
            assert exact and value.tolist() == full.tolist()
        at_most_once = in_range and bool((_covered(shape, boxes) <= 1).all())
        assert (reader.verify() == []) == (at_most_once and bool(boxes) and not stored_whole)


# names: control characters in every name field never reach a text output raw

_CONTROL = st.sampled_from(
    ["\x1b", "\x1b[2J", "\x1b]0;t\x07", "\x9b", "\n", "\r", "\t", "\x00", "\x7f", "\u202e",
     "\u200b", "\udcff"]
)  # fmt: skip
hostile_names = st.lists(
    st.one_of(_CONTROL, st.text(alphabet="abc/_.:", min_size=1, max_size=4)), min_size=1, max_size=6
).map("".join)


@fuzz(ci_examples=10, long_cap=1000)
@given(names=st.lists(hostile_names, min_size=1, max_size=4, unique=True), tail=hostile_names)
def test_fuzz_control_characters_in_names(workdir: Path, names: list[str], tail: str) -> None:
    """Tensor, node, collection and file names drawn with control characters: ls, cat,
    verify and the error lines print them escaped; --json round-trips them."""
    import contextlib
    import json

    from graphtui.cli import main
    from graphtui.formats.bundle_writer import BundleWriter
    from graphtui.formats.transaction import FileTransaction

    names = [n for n in names if n.strip("/") and "\x00" not in n]
    assume(names)
    directory = fresh_dir(workdir, "names")
    file_name = "m" + tail.replace("/", "_").replace("\x00", "_")
    prefix = directory / file_name
    try:
        with FileTransaction() as txn:
            writer = BundleWriter(prefix, txn)
            for i, name in enumerate(names):
                writer.add(name, np.full(2, i, np.float32))
            writer.finish()
    except (UnicodeEncodeError, OSError, ValueError):
        assume(False)  # the file system refuses the name: not what this target is about
    mg = pb.MetaGraphDef()
    # protobuf strings are UTF-8: a graph holds a non-UTF-8 byte as U+FFFD
    text = [n.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for n in names]
    for name in text:
        node = mg.graph_def.node.add()
        node.name, node.op = name, "VariableV2"
    mg.collection_def[text[0]].node_list.value.extend(text)
    Path(f"{prefix}.meta").write_bytes(mg.SerializeToString())
    commands = [["ls", str(prefix)], ["verify", str(prefix)], ["cat", str(prefix), names[-1]],
                ["cat", str(prefix), names[0] + "\x1b[K missing"], ["ls", str(prefix) + "\x1b"]]  # fmt: skip
    for argv in commands:
        out, err = io.StringIO(), io.StringIO()
        with (
            hang_guard(EXAMPLE_SECONDS),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            main(argv)
        text = out.getvalue() + err.getvalue()
        assert all(c.isprintable() or c == "\n" for c in text), (argv, text)
        assert "Traceback" not in text and "internal error" not in text, text
        if argv == ["ls", str(prefix)]:  # a name's newline stays inside its row
            assert len(out.getvalue().splitlines()) == len(names) + 2, text
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["ls", str(prefix), "--json"]) == 0
    assert {t["name"] for t in json.loads(out.getvalue())["tensors"]} == set(names)


# the app: random keys typed before the panes exist

_STORM_PATHS = {
    "train": DATA / "train",
    "saved_model": DATA / "tf2" / "saved_model",
    "tf2": DATA / "tf2" / "module",
    "v1": DATA / "v1" / "model.ckpt-2",
}


def _storm_keys() -> list[str]:
    from tests.tui.test_key_storm import every_key

    return every_key()


# a key storm takes about a second: a long run caps it (its own process in the campaign)
STORM_CAP = int(os.environ.get("GRAPHTUI_FUZZ_STORM_EXAMPLES", "60"))


@fuzz(ci_examples=1, long_cap=STORM_CAP)
@given(
    path=st.sampled_from(sorted(_STORM_PATHS)),
    keys=st.lists(st.sampled_from(_storm_keys()), min_size=1, max_size=40),
)
def test_fuzz_start_up_key_storm(path: str, keys: list[str]) -> None:
    """Keys typed while the app starts are replayed once the panes exist; none crashes it."""
    import asyncio

    from tests.tui.test_key_storm import storm

    with hang_guard(EXAMPLE_SECONDS * 3):
        app = asyncio.run(storm(_STORM_PATHS[path], [*keys, "escape", "escape", "q"]))
    assert app.return_code in (None, 0)  # 1 after an exception


# -- round three (issue 17): the bulk decoders agree with the entry-by-entry ones -----------------


def _outcome(fn: Callable[[], T]) -> T | tuple[type, str]:
    """What ``fn`` returns, or the type and message of the GraphtuiError it raises."""
    try:
        return fn()
    except GraphtuiError as exc:
        one_line(exc)
        return type(exc), str(exc)


def _scanned(table: Table) -> list[tuple[bytes, bytes]]:
    scan = table.scan()
    return [(k.encode("latin-1"), scan.value(i)) for i, k in enumerate(scan.keys)]


def _walked(table: Table) -> list[tuple[bytes, bytes]]:
    return [(key, bytes(value)) for key, value in table.items()]


def _assert_scan_agrees(data: bytes, verify: bool) -> None:
    """``Table.scan()`` (restart runs decoded with numpy) gives what ``items()`` gives, entry
    for entry, or raises the same error (type and message)."""
    try:
        table = Table("fuzz.index", data, verify_checksums=verify)
    except GraphtuiError as exc:
        one_line(exc)
        return
    with table:
        with hang_guard(EXAMPLE_SECONDS):
            walked = _outcome(lambda: _walked(table))
        table._blocks.clear()
        with hang_guard(EXAMPLE_SECONDS):
            scanned = _outcome(lambda: _scanned(table))
    assert scanned == walked


@fuzz(ci_examples=150, long_cap=READER_CAP)
@given(case=table_bytes(), verify=st.booleans())
def test_fuzz_table_scan_agrees_with_items(case: tuple[bytes, bytes], verify: bool) -> None:
    _assert_scan_agrees(case[1], verify)


@fuzz(ci_examples=150, long_cap=READER_CAP)
@given(name=st.sampled_from(sorted(INDEXES)), data=st.data(), verify=st.booleans())
def test_fuzz_table_scan_agrees_behind_valid_checksums(name: str, data: Any, verify: bool) -> None:
    """Corrupt restart arrays, shared prefixes and varints that pass the crc32c check."""
    _assert_scan_agrees(data.draw(block_mutated(INDEXES[name])), verify)


@fuzz(ci_examples=100)
@given(
    items=st.dictionaries(
        st.one_of(st.binary(max_size=40), st.text(max_size=30).map(str.encode)),
        st.binary(max_size=300),
        max_size=120,
    ),
    block_size=st.integers(16, 4096),
    restart=st.integers(1, 40),
)
def test_table_scan_of_random_tables(
    items: dict[bytes, bytes], block_size: int, restart: int
) -> None:
    """Random tables, restart intervals past the bulk walk's limit (32) included."""
    buf = io.BytesIO()
    writer = TableWriter(buf, block_size=block_size, restart_interval=restart)
    for key in sorted(items):
        writer.add(key, items[key])
    writer.finish()
    with Table("rt.index", buf.getvalue()) as table:
        assert _scanned(table) == sorted(items.items())


@fuzz(ci_examples=300)
@given(
    values=st.lists(
        st.one_of(st.sampled_from(ENTRY_VALUES).flatmap(mutated), st.sampled_from(ENTRY_VALUES),
                  st.binary(max_size=40)),
        min_size=1,
        max_size=8,
    )
)  # fmt: skip
def test_fuzz_bulk_entry_scanner_agrees(values: list[bytes]) -> None:
    """``_scan_entries`` (numpy, many entries side by side in one buffer) answers only where
    ``_scan_entry`` does, with the same dtype, shape, shard, offset, size and crc32c."""
    from graphtui.formats import bundle

    data = b"".join(values)
    ends = np.cumsum([len(v) for v in values])
    starts = ends - [len(v) for v in values]
    with hang_guard(EXAMPLE_SECONDS):
        ok, dtype, dims, ranks, shard, offset, size, crc = bundle._scan_entries(
            np.frombuffer(data, np.uint8), starts.astype(np.int64), ends.astype(np.int64)
        )
    for i, value in enumerate(values):
        if not ok[i]:
            continue
        scanned = bundle._scan_entry(value)
        assert scanned is not None, value
        assert (int(dtype[i]), tuple(dims[i, : ranks[i]].tolist())) == scanned[:2]
        assert (int(shard[i]), int(offset[i]), int(size[i])) == scanned[3:6]
        assert int(crc[i]) == scanned[6]


def _infos_one_by_one(reader: CheckpointReader) -> list[Any]:
    return [reader.tensor_info(name) for name in reader.names()]


@fuzz(ci_examples=60, long_cap=READER_CAP)
@given(case=bundle_case(), verify=st.booleans())
def test_fuzz_listing_agrees_with_entries(
    workdir: Path, case: tuple[str, dict[str, bytes], bool], verify: bool
) -> None:
    """``tensors()`` (the index decoded in bulk) equals ``tensor_info`` of each name read alone
    (the per-entry scanner and protobuf), or raises the first of their errors."""
    fixture, files, _ = case
    directory = fresh_dir(workdir, "listing", files)
    prefix = directory / BUNDLES[fixture][1]
    with hang_guard(EXAMPLE_SECONDS):
        try:
            bulk = CheckpointReader(prefix, verify_checksums=verify)
            alone = CheckpointReader(prefix, verify_checksums=verify)
        except GraphtuiError as exc:
            one_line(exc)
            return
        with bulk, alone:
            assert _outcome(bulk.tensors) == _outcome(lambda: _infos_one_by_one(alone))
            shapes = _outcome(bulk.get_variable_to_shape_map)
            if not isinstance(shapes, tuple):
                assert shapes == {i.name: list(i.shape) for i in bulk.tensors()}


_VARINT_VALUES = [0, 1, 2, 4, 127, 128, 300, 2**31 - 1, 2**31, 2**53, 2**59, 2**62, 2**63 - 1, 2**63,
                  2**64 - 1]  # fmt: skip


@st.composite
def varint_bytes(draw: st.DrawFn, values: list[int] | None = None) -> bytes:
    """A varint as a writer encodes it, or with redundant continuation bytes (protobuf reads
    those too), or cut short."""
    value = draw(st.sampled_from(values or _VARINT_VALUES) | st.integers(0, 2**64 - 1))
    out = bytearray(encode_varint(value))
    how = draw(st.sampled_from(["plain", "plain", "plain", "padded", "cut"]))
    if how == "padded":
        out[-1] |= 0x80
        out += b"\x80" * draw(st.integers(0, 9)) + b"\x00"
    elif how == "cut" and len(out) > 1:
        del out[-1]
    return bytes(out)


@st.composite
def entry_like(draw: st.DrawFn, dtype_enums: list[int]) -> bytes:
    """Bytes built field by field like a BundleEntryProto: the fields writers use, in any
    order and number, dims with extra or missing fields, wrong lengths, unknown fields."""

    def message(parts: list[bytes], tag: int) -> bytes:
        body = b"".join(parts)
        length = len(body) + (draw(st.sampled_from([-1, 1])) if draw(st.integers(0, 9)) == 0 else 0)
        return bytes([tag]) + encode_varint(max(length, 0)) + body

    def dim() -> bytes:
        fields = draw(
            st.lists(st.sampled_from(["size"] * 6 + ["name", "junk"]), min_size=0, max_size=3)
        )
        parts = []
        for kind in fields:
            if kind == "size":
                parts.append(b"\x08" + draw(varint_bytes([0, 1, 3, 7, 1000, 2**31, 2**40])))
            elif kind == "name":
                parts.append(b"\x12\x01a")
            else:
                parts.append(draw(st.binary(min_size=1, max_size=3)))
        return message(parts, 0x12)

    fields = []
    kinds = st.sampled_from(
        ["dtype", "shape", "shard", "offset", "size", "crc"] * 4 + ["slices", "unknown"]
    )
    for kind in draw(st.lists(kinds, min_size=0, max_size=9)):
        if kind == "dtype":
            fields.append(b"\x08" + draw(varint_bytes(dtype_enums)))
        elif kind == "shape":
            dims = [dim() for _ in range(draw(st.integers(0, 4) | st.integers(5, 10)))]
            rank = [b"\x18\x01"] if draw(st.integers(0, 9)) == 0 else []  # unknown_rank
            fields.append(message(dims + rank, 0x12))
        elif kind in ("shard", "offset", "size"):
            tag = {"shard": 0x18, "offset": 0x20, "size": 0x28}[kind]
            fields.append(bytes([tag]) + draw(varint_bytes()))
        elif kind == "crc":
            fields.append(b"\x35" + draw(st.binary(min_size=4, max_size=4) | st.binary(max_size=3)))
        elif kind == "slices":
            fields.append(message([b"\x0a\x02\x08\x00"], 0x3A))
        else:
            fields.append(bytes([draw(st.integers(0, 255))]) + draw(varint_bytes()))
    return b"".join(fields)


_DTYPE_ENUMS = [1, 2, 3, 7, 9, 14, 21, 101, 107, 0, 30, 99, 200, 2**31]


@fuzz(ci_examples=200)
@given(values=st.lists(entry_like(_DTYPE_ENUMS), min_size=1, max_size=3))
def test_bulk_entry_scanner_on_built_entries(values: list[bytes]) -> None:
    """The bulk scanner on entries built field by field (layouts mutation rarely reaches)."""
    test_fuzz_bulk_entry_scanner_agrees.hypothesis.inner_test(values)  # type: ignore[attr-defined]


@st.composite
def listed_index(draw: st.DrawFn) -> dict[bytes, bytes]:
    """A bundle index of entries built field by field, most of them well formed (dtype, shape,
    a size that fits or not), next to a real header claiming one or two shards."""
    header = pb.BundleHeaderProto(num_shards=draw(st.sampled_from([1, 2])))
    items = {b"": header.SerializeToString()}
    # names of bytes: UTF-8 (2 and 4 bytes), and a byte that is not (byte order != str order)
    pieces = st.sampled_from([b"a", b"b", b"/", b"_", b"\xc3\xa9", b"\xf0\x90\x80\x80", b"\xff"])
    names = draw(st.lists(st.lists(pieces, min_size=1, max_size=6).map(b"".join), max_size=12))
    wrong = draw(st.integers(0, 3))  # how many entries may be wrong (the first one raises)
    for name in names:
        if wrong and draw(st.integers(0, 5)) == 0:
            wrong -= 1
            items[name] = draw(entry_like(_DTYPE_ENUMS))
            continue
        dtype = draw(st.sampled_from([1, 2, 7, 9, 101, 1, 2]))
        shape = draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 2**20]), max_size=4))
        if draw(st.integers(0, 19)) == 0:  # larger than any array (or exactly not)
            shape += draw(st.sampled_from([[2**31, 2**28], [2**31, 2**27, 3], [2**53, 0]]))
        itemsize = {1: 4, 2: 8, 9: 8, 101: 4}.get(dtype, 1)
        size = math.prod(shape) * itemsize
        entry = pb.BundleEntryProto(dtype=dtype)
        if wrong and draw(st.integers(0, 3)) == 0:  # a dtype, shard or size that cannot be
            wrong -= 1
            what = draw(st.sampled_from(["dtype", "shard", "size"]))
            if what == "dtype":
                entry.dtype = draw(st.sampled_from([0, 30, 300, 2**31 - 1]))
            elif what == "shard":
                entry.shard_id = draw(st.sampled_from([1, 2, 5]))
            else:
                size += draw(st.sampled_from([1, -1, itemsize]))
        entry.size = max(size, 0) % 2**63
        entry.offset = draw(st.sampled_from([0, 4, 2**40]))
        for d in shape:
            entry.shape.dim.add(size=d)
        items[name] = entry.SerializeToString()
    return items


@fuzz(ci_examples=100)
@given(items=listed_index())
def test_listing_of_built_entries(workdir: Path, items: dict[bytes, bytes]) -> None:
    """The bulk listing's checks (dtype known, shape not too large, shard in range, size that
    fits the shape) refuse or pass exactly the entries ``tensor_info`` refuses or passes."""
    directory = fresh_dir(workdir, "built")
    (directory / "m.index").write_bytes(write_table(items))
    for shard in range(2):
        for count in (1, 2):
            (directory / f"m.data-{shard:05d}-of-{count:05d}").write_bytes(b"")
    with hang_guard(EXAMPLE_SECONDS):
        try:
            bulk = CheckpointReader(directory / "m")
            alone = CheckpointReader(directory / "m")
        except GraphtuiError as exc:
            one_line(exc)
            return
        with bulk, alone:
            infos = _outcome(lambda: _infos_one_by_one(alone))
            assert _outcome(bulk.tensors) == infos
        if not isinstance(infos, tuple):  # TF's list_variables: sorted as str, not as bytes
            listed = list_variables(directory / "m")
            assert listed == sorted((i.name, list(i.shape)) for i in infos)


def test_list_variables_sorts_names_as_str(workdir: Path) -> None:
    """The index holds keys in byte order; TF's ``list_variables`` sorts names as ``str``. A byte
    that is not UTF-8 (its surrogate escape, U+DCFF) sorts before a 4-byte character as text,
    after it as bytes."""
    directory = fresh_dir(workdir, "order")
    header = pb.BundleHeaderProto(num_shards=1)
    items = {b"": header.SerializeToString()}
    for key in (b"a", b"\xf0\x90\x80\x80", b"\xff"):
        entry = pb.BundleEntryProto(dtype=1, size=4)
        entry.shape.dim.add(size=1)
        items[key] = entry.SerializeToString()
    (directory / "m.index").write_bytes(write_table(items))
    (directory / "m.data-00000-of-00001").write_bytes(b"\0" * 4)
    got = list_variables(directory / "m")
    assert [name for name, _ in got] == ["a", "\udcff", "\U00010000"]
    assert [shape for _, shape in got] == [[1], [1], [1]]
