"""The low layers of checkpoint reading: crc32c, varints, ordered code, snappy, the table format."""

from __future__ import annotations

import io
import random
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphtui.errors import ChecksumError, FormatError
from graphtui.formats import crc, ordered_code, snappy
from graphtui.formats.sstable import Table
from graphtui.formats.sstable_writer import TableWriter
from graphtui.formats.varint import VarintError, decode_varint, encode_varint

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# -- crc32c ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),  # the check value of CRC-32C (Castagnoli)
        (b"\x00" * 32, 0x8A9136AA),  # RFC 3720 (iSCSI) test vectors
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(range(31, -1, -1)), 0x113FDB5C),
    ],
)
def test_crc32c_known_vectors(data: bytes, expected: int) -> None:
    assert crc.crc32c(data) == expected


def test_crc32c_is_not_zlib_crc32() -> None:
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert crc.crc32c(b"123456789") != zlib.crc32(b"123456789")


def test_crc32c_extends_and_takes_any_buffer() -> None:
    data = bytes(range(256)) * 3
    whole = crc.crc32c(data)
    assert crc.crc32c(data[100:], crc.crc32c(data[:100])) == whole
    assert crc.crc32c(memoryview(data)) == whole
    assert crc.crc32c(bytearray(data)) == whole


def test_mask_known_value_and_masked_crc() -> None:
    # LevelDB's rule: rotate right by 15 bits, add 0xa282ead8 (mod 2**32).
    value = 0xE3069283
    rotated = ((value >> 15) | (value << 17)) & 0xFFFFFFFF
    assert crc.mask(value) == (rotated + 0xA282EAD8) & 0xFFFFFFFF
    assert crc.masked_crc32c(b"123456789") == crc.mask(0xE3069283)
    assert crc.mask(0) == 0xA282EAD8
    assert crc.mask(value) != value


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_mask_unmask_round_trip(value: int) -> None:
    masked = crc.mask(value)
    assert 0 <= masked <= 0xFFFFFFFF
    assert crc.unmask(masked) == value


# -- varints ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (16383, b"\xff\x7f"),
        (16384, b"\x80\x80\x01"),
        (1 << 32, b"\x80\x80\x80\x80\x10"),
        ((1 << 64) - 1, b"\xff" * 9 + b"\x01"),
    ],
)
def test_varint_known_encodings(value: int, encoded: bytes) -> None:
    assert encode_varint(value) == encoded
    assert decode_varint(encoded, 0) == (value, len(encoded))


@given(st.integers(min_value=0, max_value=(1 << 64) - 1), st.binary(max_size=4))
def test_varint_round_trip_with_surroundings(value: int, tail: bytes) -> None:
    data = b"\x07" + encode_varint(value) + tail
    got, pos = decode_varint(data, 1)
    assert got == value
    assert data[pos:] == tail


def test_varint_errors() -> None:
    with pytest.raises(VarintError):
        decode_varint(b"\x80\x80", 0)  # runs off the end
    with pytest.raises(VarintError):
        decode_varint(b"\x80\x01", 0, end=1)  # bounded by end
    with pytest.raises(VarintError):
        decode_varint(b"\xff" * 11 + b"\x01", 0)  # longer than 10 bytes
    with pytest.raises(ValueError):
        encode_varint(-1)
    with pytest.raises(ValueError):
        encode_varint(1 << 64)


# -- ordered code slice keys -----------------------------------------------------------------------


def test_ordered_code_known_bytes() -> None:
    assert ordered_code.encode_num_increasing(0) == b"\x00"
    assert ordered_code.encode_num_increasing(1) == b"\x01\x01"
    assert ordered_code.encode_num_increasing(256) == b"\x02\x01\x00"
    assert ordered_code.encode_string(b"a\x00b\xffc") == b"a\x00\xffb\xff\x00c\x00\x01"
    # Signed: one byte holds -64..63 (header bit 1, then the value in 7 bits).
    assert ordered_code.encode_signed_num_increasing(0) == b"\x80"
    assert ordered_code.encode_signed_num_increasing(-1) == b"\x7f"
    assert ordered_code.encode_signed_num_increasing(63) == b"\xbf"
    assert ordered_code.encode_signed_num_increasing(-64) == b"\x40"
    assert ordered_code.encode_signed_num_increasing(64) == b"\xc0\x40"
    assert ordered_code.encode_signed_num_increasing(-65) == b"\x3f\xbf"
    assert ordered_code.encode_signed_num_increasing(INT64_MAX) == b"\xff\xc0\x7f" + b"\xff" * 7
    assert ordered_code.encode_signed_num_increasing(INT64_MIN) == b"\x00\x3f\x80" + b"\x00" * 7
    # A whole 2-D tensor named "v": num 0, "v", rank 2, (0, -1) twice.
    key = ordered_code.encode_slice_key("v", [(0, -1), (0, -1)])
    assert key == b"\x00" + b"v\x00\x01" + b"\x01\x02" + b"\x80\x7f" * 2


signed64 = st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
extent = st.tuples(signed64, signed64)


@given(st.text(max_size=20), st.lists(extent, max_size=5))
def test_slice_key_round_trip(name: str, extents: list[tuple[int, int]]) -> None:
    key = ordered_code.encode_slice_key(name, extents)
    assert ordered_code.decode_slice_key(key) == (name, extents)


def test_slice_key_round_trip_binary_name() -> None:
    raw = bytes(range(256))
    key = ordered_code.encode_slice_key(raw, [(3, 4)])
    name, extents = ordered_code.decode_slice_key(key)
    assert extents == [(3, 4)]
    assert name == raw.decode("utf-8", "replace")


def test_signed_encoding_sorts_like_the_numbers() -> None:
    rng = random.Random(1234)
    values = [rng.randint(INT64_MIN, INT64_MAX) for _ in range(500)]
    values += [rng.randint(-(1 << b), 1 << b) for b in range(1, 63) for _ in range(8)]
    values += [INT64_MIN, INT64_MAX, 0, -1, 1, 63, 64, -64, -65, 8191, 8192, -8192, -8193]
    by_value = sorted(set(values))
    by_bytes = sorted(by_value, key=ordered_code.encode_signed_num_increasing)
    assert by_bytes == by_value


@given(signed64, signed64)
def test_signed_encoding_order_property(a: int, b: int) -> None:
    ea = ordered_code.encode_signed_num_increasing(a)
    eb = ordered_code.encode_signed_num_increasing(b)
    assert (ea < eb) == (a < b)
    assert (ea == eb) == (a == b)


def test_slice_keys_sort_by_start_then_before_every_printable_name() -> None:
    keys = [ordered_code.encode_slice_key("part", [(s, 2), (0, -1)]) for s in (0, 2, 4, 126, 300)]
    assert sorted(keys) == keys
    names = [bytes([c]) + b"name" for c in range(0x20, 0x7F)] + [b"\x01", "é".encode()]
    assert max(keys) < min(names)
    assert all(k[:1] == b"\x00" for k in keys)
    # The header key "" sorts before the slice keys.
    assert min(keys) > b""


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"\x01\x05",  # first number is not 0
        b"\x00abc",  # unterminated name
        b"\x00a\x00\x02",  # bad escape
        b"\x00a\x00\x01\x01\x01",  # rank 1 but no extents
        b"\x00a\x00\x01\x01\x00\x99",  # trailing bytes after rank 0
    ],
)
def test_decode_slice_key_rejects_garbage(bad: bytes) -> None:
    with pytest.raises(ordered_code.OrderedCodeError):
        ordered_code.decode_slice_key(bad)


# -- snappy ----------------------------------------------------------------------------------------


def _literal(data: bytes) -> bytes:
    n = len(data) - 1
    if n < 60:
        return bytes([n << 2]) + data
    if n < 256:
        return bytes([60 << 2, n]) + data
    return bytes([61 << 2]) + n.to_bytes(2, "little") + data


def _copy1(offset: int, length: int) -> bytes:
    assert 4 <= length <= 11 and offset < 2048
    return bytes([((offset >> 8) << 5) | ((length - 4) << 2) | 1, offset & 0xFF])


def _copy2(offset: int, length: int) -> bytes:
    assert 1 <= length <= 64
    return bytes([((length - 1) << 2) | 2]) + offset.to_bytes(2, "little")


def _copy4(offset: int, length: int) -> bytes:
    return bytes([((length - 1) << 2) | 3]) + offset.to_bytes(4, "little")


def _block(expected_len: int, *ops: bytes) -> bytes:
    return encode_varint(expected_len) + b"".join(ops)


def test_snappy_literals() -> None:
    assert snappy.decompress(_block(0), 10) == b""
    assert snappy.decompress(_block(5, _literal(b"hello")), 100) == b"hello"
    long = bytes(range(256)) * 2  # 512 bytes: two-byte literal length
    assert snappy.decompress(_block(512, _literal(long)), 1000) == long
    mid = b"x" * 100  # one-byte literal length
    assert snappy.decompress(_block(100, _literal(mid)), 1000) == mid


def test_snappy_copies() -> None:
    out = snappy.decompress(_block(14, _literal(b"abcdefgh"), _copy1(8, 6)), 100)
    assert out == b"abcdefghabcdef"
    out = snappy.decompress(_block(13, _literal(b"0123456789"), _copy2(7, 3)), 100)
    assert out == b"0123456789345"
    text = bytes(range(200)) * 2
    out = snappy.decompress(_block(400 + 50, _literal(text), _copy4(300, 50)), 1000)
    assert out == text + text[100:150]
    # copy-1 with an offset above 255 uses the tag's top bits
    out = snappy.decompress(_block(304, _literal(text[:300]), _copy1(300, 4)), 1000)
    assert out == text[:300] + text[:4]


def test_snappy_overlapping_copies_repeat_the_pattern() -> None:
    assert snappy.decompress(_block(11, _literal(b"a"), _copy1(1, 10)), 100) == b"a" * 11
    out = snappy.decompress(_block(2 + 64, _literal(b"ab"), _copy2(2, 64)), 100)
    assert out == b"ab" * 33
    out = snappy.decompress(_block(3 + 7, _literal(b"xyz"), _copy1(3, 7)), 100)
    assert out == b"xyzxyzxyzx"


@pytest.mark.parametrize(
    ("block", "max_size"),
    [
        (b"\x80", 100),  # the length varint runs off the end
        (_block(5, _literal(b"hel")), 100),  # shorter than declared
        (_block(2, _literal(b"hello")), 100),  # longer than declared
        (_block(5, b"\x10hel"), 100),  # literal runs past the end
        (_block(8, _literal(b"ab"), _copy1(3, 6)), 100),  # offset before the start
        (_block(8, _literal(b"ab"), _copy2(0, 6)), 100),  # offset zero
        (_block(4, _copy1(1, 4)), 100),  # copy with no output yet
        (_block(4, _literal(b"ab"), b"\x01"), 100),  # truncated copy-1
        (_block(4, _literal(b"ab"), b"\x06\x01"), 100),  # truncated copy-2
        (_block(4, _literal(b"ab"), b"\x07\x01\x00"), 100),  # truncated copy-4
        (_block(1 << 40, _literal(b"ab")), 1000),  # claims more than allowed
        (encode_varint(10) + bytes([61 << 2, 5]), 100),  # truncated literal length
    ],
)
def test_snappy_bad_input_raises(block: bytes, max_size: int) -> None:
    with pytest.raises(snappy.SnappyError):
        snappy.decompress(block, max_size)


def _densest_block(copies: int) -> bytes:
    """The block that decodes to the most bytes for its size: a 1-byte literal, then copies of
    64 bytes with a 2-byte offset (3 bytes each)."""
    return _block(1 + 64 * copies, _literal(b"z"), *[_copy2(1, 64)] * copies)


def test_snappy_size_bound_matches_snappy_and_keeps_every_valid_block() -> None:
    """The decompressed-size bound against upstream: TF's ``ReadBlock``
    (tensorflow/tensorflow third_party/xla/xla/tsl/lib/io/format.cc, like leveldb
    table/format.cc) allocates what snappy's ``GetUncompressedLength`` says, and snappy reads it
    with ``Varint::Parse32WithLimit`` (snappy-stubs-internal.h): at most 5 bytes, the fifth
    below 16. Ours refuses the same headers, and any length the block's size cannot reach."""
    # the densest valid blocks decode, at the bound's ratio (64 bytes per 3)
    for copies in (1, 100, 5000):
        block = _densest_block(copies)
        assert 1 + 64 * copies <= snappy.max_output(len(block))
        assert snappy.decompress(block) == b"z" * (1 + 64 * copies)
    # a block claiming more than its size can reach is refused before any decoding
    block = _densest_block(100)
    body = block[len(encode_varint(1 + 64 * 100)) :]
    claim = snappy.max_output(len(encode_varint(1 << 20)) + len(body)) + 1
    with pytest.raises(snappy.SnappyError, match="more than the allowed"):
        snappy.decompress(encode_varint(claim) + body)
    # snappy's varint32: 2**32 - 1 is the largest length; 2**32, or a sixth byte, is corrupt
    assert snappy.MAX_LENGTH == 0xFFFFFFFF
    assert snappy.max_output(1 << 40) == snappy.MAX_LENGTH
    for header in (encode_varint(1 << 32), b"\x80\x80\x80\x80\x80\x00"):
        with pytest.raises(snappy.SnappyError, match="32-bit varint"):
            snappy.decompress(header + b"\x00a", max_size=1 << 62)
    with pytest.raises(snappy.SnappyError, match="more than the allowed"):
        snappy.decompress(encode_varint(0xFFFFFFFF) + b"\x00a")  # a varint32, beyond the bound


# -- sstable ---------------------------------------------------------------------------------------


def _write_table(items: list[tuple[bytes, bytes]], **kwargs: int) -> bytes:
    buf = io.BytesIO()
    writer = TableWriter(buf, **kwargs)
    for key, value in items:
        writer.add(key, value)
    size = writer.finish()
    data = buf.getvalue()
    assert size == len(data)
    return data


def _many_items(n: int) -> list[tuple[bytes, bytes]]:
    rng = random.Random(7)
    keys = {f"scope{i % 13}/layer_{i:05d}/weights".encode() for i in range(n)}
    keys |= {b"", b"\x00\x01slice", b"\xff\xfe", b"a", b"ab", b"abc", b"abd"}
    return [(k, rng.randbytes(rng.randint(0, 40))) for k in sorted(keys)]


def test_sstable_round_trip_many_blocks(tmp_path: Path) -> None:
    items = _many_items(2000)
    data = _write_table(items, block_size=512, restart_interval=4)
    path = tmp_path / "t.index"
    path.write_bytes(data)
    with Table(path) as table:
        assert table.num_data_blocks > 20
        assert [(k, bytes(v)) for k, v in table.items()] == items
        for key, value in items:
            got = table.get(key)
            assert got is not None, key
            assert bytes(got) == value
        assert table.verify() == []


def test_sstable_absent_keys() -> None:
    items = _many_items(500)
    table = Table("mem.index", _write_table(items, block_size=256))
    present = {k for k, _ in items}
    probes = [b"\x00", b"a\x00", b"aa", b"abcd", b"scope1/", b"scope9/layer_99999/weights~"]
    probes += [k + b"\x00" for k, _ in items[::37]] + [k[:-1] for k, _ in items[::41] if k]
    probes += [b"\xff\xff\xff", b"zzz"]
    for probe in probes:
        if probe not in present:
            assert table.get(probe) is None, probe


def test_sstable_shared_prefixes_and_binary_keys() -> None:
    prefix = b"a/very/long/shared/prefix/" * 4
    items = [(prefix + bytes([i]) * (i % 5 + 1), bytes([i]) * 3) for i in range(256)]
    items += [(bytes([0, 255, i, 0]), b"bin%d" % i) for i in range(256)]
    items.sort()
    for restart in (1, 2, 16):
        table = Table("mem.index", _write_table(items, block_size=300, restart_interval=restart))
        assert [(k, bytes(v)) for k, v in table.items()] == items
        for key, value in items:
            got = table.get(key)
            assert got is not None and bytes(got) == value


def test_sstable_single_and_empty_tables() -> None:
    table = Table("one.index", _write_table([(b"", b"header")]))
    assert bytes(table.get(b"") or b"") == b"header"
    assert table.get(b"x") is None
    empty = Table("none.index", _write_table([]))
    assert list(empty.items()) == []
    assert empty.get(b"") is None


def test_sstable_writer_refuses_unsorted_keys() -> None:
    writer = TableWriter(io.BytesIO())
    writer.add(b"b", b"")
    with pytest.raises(ValueError):
        writer.add(b"a", b"")
    with pytest.raises(ValueError):
        writer.add(b"b", b"")


def test_sstable_block_checksum_is_checked() -> None:
    items = _many_items(300)
    data = bytearray(_write_table(items, block_size=256))
    data[10] ^= 0x01  # inside the first data block
    table = Table("flip.index", bytes(data))
    with pytest.raises(ChecksumError, match=r"flip\.index"):
        list(table.items())
    problems = table.verify()
    assert len(problems) == 1 and isinstance(problems[0], ChecksumError)
    unchecked = Table("flip.index", bytes(data), verify_checksums=False)
    assert len(list(unchecked.items())) == len(items)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 47, b"\x00" * 100, b"not a table at all, not a table at all, not a table!"],
)
def test_sstable_rejects_non_tables(data: bytes) -> None:
    with pytest.raises(FormatError, match=r"^bad\.index"):
        Table("bad.index", data)


def test_sstable_snappy_block() -> None:
    """A table whose data block is snappy-compressed (type 1), as TF may write."""
    from graphtui.formats.crc import crc32c, mask
    from graphtui.formats.sstable import TABLE_MAGIC, BlockHandle, encode_handle

    plain = _write_table([(b"key1", b"value" * 20), (b"key2", b"x")], block_size=1 << 20)
    # Take the data block of the plain table (it starts at 0; its handle is in the index).
    table = Table("plain", plain)
    handle = table._index_handles[0]
    block = plain[handle.offset : handle.offset + handle.size]
    compressed = _block(len(block), _literal(block))
    out = bytearray()

    def put(contents: bytes, ctype: int) -> BlockHandle:
        h = BlockHandle(len(out), len(contents))
        out.extend(contents)
        out.append(ctype)
        out.extend(mask(crc32c(bytes([ctype]), crc32c(contents))).to_bytes(4, "little"))
        return h

    data_h = put(compressed, 1)
    meta_h = put((0).to_bytes(4, "little") + (1).to_bytes(4, "little"), 0)  # empty block
    idx_block = bytearray()
    value = encode_handle(data_h)
    idx_block += encode_varint(0) + encode_varint(4) + encode_varint(len(value)) + b"key2" + value
    idx_block += (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
    idx_h = put(bytes(idx_block), 0)
    footer = encode_handle(meta_h) + encode_handle(idx_h)
    out += footer + b"\x00" * (40 - len(footer)) + TABLE_MAGIC.to_bytes(8, "little")
    snappy_table = Table("snappy.index", bytes(out))
    assert [(k, bytes(v)) for k, v in snappy_table.items()] == [
        (b"key1", b"value" * 20),
        (b"key2", b"x"),
    ]
    assert bytes(snappy_table.get(b"key1") or b"") == b"value" * 20



def test_dtype_rows_carry_their_npy_type_and_proto_field() -> None:
    """The .npy type of each row is plain numpy and holds the type's extreme and smallest
    values exactly (ml_dtypes widened); each TensorProto value field named exists."""
    import ml_dtypes
    import numpy as np

    from graphtui._proto import pb
    from graphtui.formats import dtypes

    fields = {f.name for f in pb.TensorProto.DESCRIPTOR.fields}
    for row in dtypes.BY_ENUM.values():
        assert row.proto_field is None or row.proto_field in fields, row.name
        if row.numpy is None:
            assert row.npy_name is None, row.name
            continue
        npy = np.dtype(row.npy_name)
        assert npy.type.__module__ == "numpy", row.name  # loads without ml_dtypes
        if row.numpy.kind in "iu" or row.numpy.kind == "V" and "int" in row.name:
            ml = "ml_dtypes" in (row.numpy_name or "")
            info = ml_dtypes.iinfo(row.numpy) if ml else np.iinfo(row.numpy)
            sample = [info.min, 0, info.max]
        elif row.numpy.kind in "fV":
            info = ml_dtypes.finfo(row.numpy)
            tiny, sub = float(info.tiny), float(info.smallest_subnormal)
            sample = [float(info.min), -tiny, 0.0, sub, float(info.max)]
        else:
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            values = np.array(sample).astype(row.numpy)
        assert np.array_equal(values.astype(npy).astype(row.numpy), values), row.name
