"""The reference for ``verify`` in bulk: every block walked, every entry decoded and every
tensor's bytes checked one by one, as ``BundleReader.verify`` and ``Table.verify`` did before
they worked in bulk (issue 17.3). The bulk versions must give the same problems in the same
order."""

from __future__ import annotations

from graphtui.errors import FormatError
from graphtui.formats.bundle import BundleEntry, BundleReader, data_path
from graphtui.formats.sstable import Table


def described(problems: list[FormatError]) -> list[tuple[str, str, int | None]]:
    """What a problem says, to compare: its class, its one line and its offset."""
    return [(type(p).__name__, str(p), p.offset) for p in problems]


def table_problems(table: Table) -> list[FormatError]:
    """Each block read with its checksum checked and walked entry by entry."""
    problems: list[FormatError] = []
    saved = table.verify_checksums
    table.verify_checksums = True
    table._blocks.clear()
    try:
        handles = [table.metaindex_handle, *table._index_handles]
        for k, handle in enumerate(handles):
            try:
                for _ in table._read_block(handle, "meta-index" if k == 0 else "data").entries():
                    pass
            except FormatError as exc:
                problems.append(exc)
    finally:
        table.verify_checksums = saved
    return problems


def bundle_problems(reader: BundleReader, *, data: bool = True) -> list[FormatError]:
    """Every problem of a local checkpoint, found one entry and one tensor at a time."""
    problems = table_problems(reader.table)
    present = reader.present_shards()
    for shard in range(reader.num_shards) if present is None else sorted(present):
        try:
            reader.shard_source(shard)
        except FormatError as exc:
            problems.append(exc)
    if present is not None and len(present) < reader.num_shards:
        problems.extend(reader._missing_shards(present))
    stored: list[BundleEntry] = []
    for name in reader.names():
        try:
            entry = reader.entry(name)
            stored.extend(
                [sub for _, sub in reader.slice_entries(entry)] if entry.is_sliced else [entry]
            )
        except FormatError as exc:
            problems.append(exc)
    if not data:
        for sub in stored:
            src = reader._sources.get(sub.shard_id)
            if src is not None and sub.offset + sub.size > src.size:
                problems.append(
                    FormatError(
                        data_path(reader.prefix, sub.shard_id, reader.num_shards),
                        f"tensor {sub.name!r} needs bytes {sub.offset}..{sub.offset + sub.size}"
                        f" but the file has {src.size}: truncated",
                    )
                )
        return problems
    for sub in stored:
        try:
            reader.raw_bytes(sub, verify=True)
        except FormatError as exc:
            problems.append(exc)
    return problems
