"""Checkpoints without TensorFlow: the drop-in API (``load_checkpoint``, ``list_variables``,
``latest_checkpoint``, ``get_checkpoint_state``) over V2 bundles and V1 table checkpoints."""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphtui.errors import FormatError, MissingFileError, NotFoundError, UnknownDtypeError
from graphtui.formats import dtypes, storage
from graphtui.formats.bundle import BundleReader, Extents, Listing
from graphtui.formats.byte_source import is_url
from graphtui.formats.gc_paused import gc_paused
from graphtui.formats.state_file import DEFAULT_NAME, read_state

if TYPE_CHECKING:  # numpy and the V1 reader are imported when needed, not to list a V2 index
    import numpy as np

    from graphtui.core.values import TensorArray
    from graphtui.formats.v1 import V1Reader


@dataclass(frozen=True)
class TensorInfo:
    """What ``ls`` shows of one checkpoint tensor (no data read)."""

    name: str
    dtype: dtypes.DType
    shape: tuple[int, ...]
    nbytes: int  # bytes stored in the checkpoint
    num_slices: int  # 0 for a whole tensor, else the partitions it was saved in

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)


def resolve_checkpoint(path: str | os.PathLike[str]) -> tuple[str, str]:
    """Resolve what the user typed to ``(format, prefix)`` with format ``"V2"`` or ``"V1"``.

    Accepts a prefix, a ``.index`` / ``.data-*`` / ``.meta`` path, a V1 file or shard pattern, a
    directory holding a ``checkpoint`` state file (its latest checkpoint) as TensorFlow does, or a
    SavedModel directory (its ``variables/variables``): :func:`graphtui.core.locate.locate`.
    """
    from graphtui.core.locate import locate

    return locate(path).checkpoint()


def why_no_latest(directory: str) -> str:
    """Why ``latest_checkpoint`` found nothing in ``directory``, in TensorFlow's terms."""
    path = state_file_path(directory)
    if not storage.isfile(path):
        from graphtui.core.locate import what_is_here

        return "couldn't find 'checkpoint' file or checkpoints in directory" + what_is_here(
            directory
        )
    try:
        state = read_state(path)
    except FormatError as exc:
        return f"the 'checkpoint' state file cannot be used ({exc.detail})"
    if not state.model_checkpoint_path:
        return "the 'checkpoint' state file names no model_checkpoint_path"
    return (
        f"the 'checkpoint' state file's latest checkpoint {state.model_checkpoint_path!r} "
        "is missing (see 'graphtui history' for the others)"
    )


class CheckpointReader:
    """TensorFlow's ``CheckpointReader`` API over a V2 or V1 checkpoint, read lazily."""

    def __init__(self, path: str | os.PathLike[str], *, verify_checksums: bool = True) -> None:
        self.format, self.prefix = resolve_checkpoint(path)
        self._v2: BundleReader | None = None
        self._v1: V1Reader | None = None
        self._listing: Listing | None = None  # made once: the index it reads never changes
        if self.format == "V2":
            self._v2 = BundleReader(self.prefix, verify_checksums=verify_checksums)
        else:
            from graphtui.formats.v1 import V1Reader

            self._v1 = V1Reader(self.prefix, verify_checksums=verify_checksums)

    # -- TensorFlow's API ----------------------------------------------------------------------

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        listing = self.listing()
        return dict(zip(listing.names, listing.shapes(), strict=True))

    def get_variable_to_dtype_map(self) -> dict[str, dtypes.DType]:
        """Every tensor's dtype; UnknownDtypeError (a TypeError, as TF's) when one is stored
        with a DataType enum TF has no DType for."""
        listing = self.listing()
        found = dict(
            zip(listing.names, [listing.dtypes[c] for c in listing.codes.tolist()], strict=True)
        )
        for dt in listing.dtypes:
            if not dt.known:
                name = next(k for k, v in found.items() if v is dt)
                raise UnknownDtypeError(
                    self.files()[0],
                    f"tensor {name!r} is stored with dtype enum {dt.enum}, which TensorFlow "
                    "has no DType for",
                )
        return found

    def get_slice(self, name: str) -> TensorArray:
        """Tensor ``name`` as a lazy array: ``reader.get_slice(name)[:, ::8]`` reads only those
        elements (safetensors' ``get_slice``, h5py's ``Dataset``); ``np.asarray()`` reads all.
        A partitioned tensor is read as TF's ``RestoreV2`` reads a slice of it: a window its
        stored slices cover is read though they leave holes elsewhere, one they do not is
        refused ("does not have sufficient slices")."""
        from graphtui.core.values import TensorArray, TensorValue

        return TensorArray(TensorValue(self, name, holes=True))

    def has_tensor(self, name: str | bytes) -> bool:
        name = _as_name(name)
        if self._v2 is not None:
            return name in self._v2
        assert self._v1 is not None
        return name in self._v1.tensors

    def get_tensor(self, name: str | bytes) -> Any:
        """The value of ``name`` as TensorFlow's ``get_tensor`` returns it: an array, or for a
        scalar a numpy scalar (``bytes`` for a string). :meth:`read` always gives an array."""
        value = self.read(name)
        return value[()] if value.ndim == 0 else value

    def read(self, name: str | bytes) -> np.ndarray:
        """The value of ``name`` as an array (0-d for a scalar); raw bytes equal TensorFlow's."""
        name = _as_name(name)
        if not self.has_tensor(name):
            raise NotFoundError(f"{self.prefix}: tensor {name!r} not found in checkpoint")
        if self._v2 is not None:
            return self._v2.read(name)
        assert self._v1 is not None
        return self._v1.read(name)

    def partitioned(self, name: str) -> bool:
        """Whether ``name`` is stored as slices of a whole (a partitioned variable's), read as
        TF's RestoreV2 reads a slice spec: :meth:`read_slice`, :meth:`uncovered`."""
        if self._v2 is not None:
            return self._v2.entry(name).is_sliced
        assert self._v1 is not None
        return self._v1.is_partitioned(name)

    def uncovered(self, name: str, extents: Extents) -> FormatError | None:
        """Why region ``extents`` of tensor ``name`` cannot be read: a partitioned tensor's
        stored slices do not cover it (they may leave holes elsewhere); None when they do."""
        if self._v2 is not None:
            entry = self._v2.entry(name)
            return self._v2.uncovered(entry, extents) if entry.is_sliced else None
        assert self._v1 is not None
        return self._v1.uncovered(name, extents)

    def read_slice(self, name: str, extents: Extents) -> np.ndarray:
        """Region ``extents`` of tensor ``name`` (``(start, length)`` per dimension), as TF's
        RestoreV2 with a slice spec reads it: from the stored slices that cover it, V2 or V1."""
        if self._v2 is not None:
            return self._v2.read_slice(name, extents)
        assert self._v1 is not None
        return self._v1.read_slice(name, extents)

    def debug_string(self) -> bytes:
        """TensorFlow's ``debug_string()``: a ``NAME (DT_TYPE) [d0,d1]`` line per tensor.

        V2 lists index entries in key order as TF's BundleReader does: a partitioned tensor
        appears as its slices, each under its binary slice key. V1 adds ``, N slices`` to a
        tensor saved in several slices (TF prints V1 tensors in hash order; these are sorted).
        """
        from graphtui._proto import pb
        from graphtui.formats.bundle import slice_shape
        from graphtui.formats.ordered_code import encode_slice_key

        known = frozenset(pb.DataType.values())

        def line(key: bytes, enum: int, shape: tuple[int, ...], extra: str = "") -> bytes:
            dims = "[" + ",".join(str(d) for d in shape) + "]"
            name = pb.DataType.Name(enum) if enum in known else ""  # TF's DataType_Name
            return key + f" ({name}) {dims}{extra}\n".encode()

        lines: list[tuple[bytes, bytes]] = []
        if self._v2 is not None:
            for name in self.names():
                entry = self._v2.entry(name)
                if not entry.is_sliced:
                    key = name.encode("utf-8", "surrogateescape")
                    lines.append((key, line(key, entry.listed_dtype.enum, entry.shape)))
                    continue
                for extents in entry.slices:
                    key = encode_slice_key(name, extents)
                    part = slice_shape(entry.shape, extents)
                    lines.append((key, line(key, entry.listed_dtype.enum, part)))
        else:
            assert self._v1 is not None
            for name in self.names():
                t = self._v1.tensors[name]
                key = name.encode("utf-8", "surrogateescape")
                extra = f", {len(t.slices)} slices" if len(t.slices) > 1 else ""
                lines.append((key, line(key, t.listed_dtype.enum, t.shape, extra)))
        return b"".join(text for _, text in sorted(lines))

    # -- more than TensorFlow offers -----------------------------------------------------------

    def names(self) -> list[str]:
        if self._v2 is not None:
            return self._v2.names()
        assert self._v1 is not None
        return self._v1.names()

    def tensor_info(self, name: str) -> TensorInfo:
        if not self.has_tensor(name):
            raise NotFoundError(f"{self.prefix}: tensor {name!r} not found in checkpoint")
        if self._v2 is not None:
            entry = self._v2.entry(name)
            if entry.is_sliced:
                nbytes = 0
                for extents in entry.slices:
                    nbytes += self._v2.slice_entry(name, extents).size
            else:
                nbytes = entry.size
            return TensorInfo(name, entry.listed_dtype, entry.shape, nbytes, len(entry.slices))
        assert self._v1 is not None
        t = self._v1.tensors[name]
        nslices = len(t.slices) if len(t.slices) > 1 or _is_partial(t.slices) else 0
        return TensorInfo(name, t.listed_dtype, t.shape, t.num_elements * t.dtype.itemsize, nslices)

    def tensors(self) -> list[TensorInfo]:
        listing = self.listing()
        kinds = listing.dtypes
        with gc_paused():
            return [
                TensorInfo(name, kinds[code], tuple(shape), nbytes, slices)
                for name, code, shape, nbytes, slices in zip(
                    listing.names,
                    listing.codes.tolist(),
                    listing.shapes(),
                    listing.nbytes.tolist(),
                    listing.slices.tolist(),
                    strict=True,
                )
            ]

    def listing(self) -> Listing:
        """What :meth:`tensors` gives, column by column: a V2 index is decoded in bulk. Made
        once per reader and shared (read it, do not change it): a write's check asks for it
        up to three times (a 1,000,000-entry index: ~1 s each)."""
        listing = self._listing
        if listing is None:
            listing = self._listing = self._make_listing()
        return listing

    def _make_listing(self) -> Listing:
        if self._v2 is not None:
            return self._v2.listing()
        infos = [self.tensor_info(name) for name in self.names()]
        rows = [(i.dtype, i.shape, i.nbytes, i.num_slices) for i in infos]
        return Listing.of([i.name for i in infos], rows)

    def files(self) -> list[str]:
        """Every file of the checkpoint (index and data shards, or V1 files)."""
        if self._v2 is not None:
            return [self._v2.index_file, *self._v2.data_files()]
        assert self._v1 is not None
        return list(self._v1.files)

    def missing_files(self) -> list[str]:
        """Data shards the index names that are not on disk (a V2 checkpoint whose shard was
        deleted or never copied: TensorFlow fails with NOT_FOUND on the first read)."""
        if self._v2 is None:
            return []
        return [path for path in self._v2.data_files() if not os.path.isfile(path)]

    @property
    def bundle(self) -> BundleReader | None:
        """The underlying V2 reader (None for V1), for raw-byte copies."""
        return self._v2

    def verify(self, *, data: bool = True) -> list[FormatError]:
        """Check every checksum of every block and tensor; every problem found, not just the first.
        ``data=False``: a V2 bundle's index and tensor extents only (see BundleReader.verify)."""
        if self._v2 is not None:
            return self._v2.verify(data=data)
        assert self._v1 is not None
        return self._v1.verify()

    def close(self) -> None:
        if self._v2 is not None:
            self._v2.close()
        if self._v1 is not None:
            self._v1.close()

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _as_name(name: str | bytes) -> str:
    """TensorFlow takes tensor names as ``str`` or ``bytes`` (UTF-8)."""
    return name.decode("utf-8", "surrogateescape") if isinstance(name, bytes) else name


def _is_partial(slices: tuple[Any, ...]) -> bool:
    return any(length != -1 for extents, _ in slices for _, length in extents)


def load_checkpoint(ckpt_dir_or_file: str | os.PathLike[str]) -> CheckpointReader:
    """Like ``tf.train.load_checkpoint``: a reader for a prefix, a file or a directory's latest."""
    return CheckpointReader(ckpt_dir_or_file)


def load_variable(ckpt_dir_or_file: str | os.PathLike[str], name: str) -> Any:
    """Like ``tf.train.load_variable``: one tensor's value (a ``:0`` suffix is dropped, as TF
    does), an array or, for a scalar, a numpy scalar or ``bytes``."""
    if name.endswith(":0"):
        name = name[:-2]
    with load_checkpoint(ckpt_dir_or_file) as reader:
        return reader.get_tensor(name)


def list_variables(ckpt_dir_or_file: str | os.PathLike[str]) -> list[tuple[str, list[int]]]:
    """Like ``tf.train.list_variables``: sorted ``(name, shape)`` pairs."""
    with load_checkpoint(ckpt_dir_or_file) as reader:
        listing = reader.listing()
    names = listing.names
    with gc_paused():
        pairs = list(zip(names, listing.shapes(), strict=True))
    if not all(map(operator.lt, names, names[1:])):  # index order is byte order, not always str's
        pairs.sort(key=operator.itemgetter(0))
    return pairs


def state_file_path(
    checkpoint_dir: str | os.PathLike[str], latest_filename: str | None = None
) -> str:
    return storage.join(os.fspath(checkpoint_dir), latest_filename or DEFAULT_NAME)


def get_checkpoint_state(
    checkpoint_dir: str | os.PathLike[str], latest_filename: str | None = None
) -> Any:
    """Like ``tf.train.get_checkpoint_state``: the CheckpointState with relative paths joined to
    the directory, or None when there is no state file or, as TensorFlow (which logs a warning),
    when it cannot be read or parsed. A state file without ``model_checkpoint_path`` raises
    FormatError (a ``ValueError``, as TF's)."""
    checkpoint_dir = os.fspath(checkpoint_dir)
    path = state_file_path(checkpoint_dir, latest_filename)
    if not storage.isfile(path):
        return None
    try:
        state = read_state(path)
    except FormatError as exc:
        import logging  # (only here: ~4 ms of every command's start-up otherwise)

        logging.getLogger("graphtui").warning("%s: checkpoint state ignored", exc)
        return None
    return _joined_state(state, checkpoint_dir, path)


def _joined_state(state: Any, checkpoint_dir: str, path: str) -> Any:
    if not state.model_checkpoint_path:
        raise FormatError(path, "invalid checkpoint state: no model_checkpoint_path")
    if not storage.isabs(state.model_checkpoint_path):
        state.model_checkpoint_path = storage.join(checkpoint_dir, state.model_checkpoint_path)
    for i, p in enumerate(state.all_model_checkpoint_paths):
        if not storage.isabs(p):
            state.all_model_checkpoint_paths[i] = storage.join(checkpoint_dir, p)
    return state


def checkpoint_exists(prefix: str | os.PathLike[str]) -> bool:
    """TensorFlow's test: files match ``PREFIX.index`` (V2) or ``PREFIX`` (V1), as glob patterns."""
    prefix = os.fspath(prefix)
    return bool(storage.glob(prefix + ".index") or storage.glob(prefix))


def get_checkpoint_mtimes(checkpoint_prefixes: list[str]) -> list[float]:
    """Like ``tf.compat.v1.train.get_checkpoint_mtimes``: the modification time of each
    checkpoint's ``.index`` (V2) or first matching file (V1); checkpoints not found are left
    out, as TF does."""
    mtimes = []
    for prefix in checkpoint_prefixes:
        for pattern in (os.fspath(prefix) + ".index", os.fspath(prefix)):
            found = sorted(storage.glob(pattern))
            if found:
                # whole seconds: TF's local file system reports st_mtime, not st_mtime_ns
                mtimes.append(float(int(_mtime_of(found[0]))))
                break
    return mtimes


def _mtime_of(path: str) -> float:
    if not is_url(path):
        return os.stat(path).st_mtime
    for entry in storage.listdir(storage.dirname(path)):
        if entry.path == path and entry.mtime is not None:
            return entry.mtime
    raise MissingFileError(path, "no modification time for this object")


def latest_checkpoint(
    checkpoint_dir: str | os.PathLike[str], latest_filename: str | None = None
) -> str | None:
    """Like ``tf.train.latest_checkpoint``: the latest prefix if its files exist, else None
    (also when the state file names a checkpoint that is gone: no other one is picked)."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is not None and checkpoint_exists(state.model_checkpoint_path):
        return str(state.model_checkpoint_path)
    return None


def wait_for_new_checkpoint(
    checkpoint_dir: str | os.PathLike[str],
    last_checkpoint: str | None = None,
    seconds_to_sleep: float = 1,
    timeout: float | None = None,
) -> str | None:
    """Like ``tf.train.wait_for_new_checkpoint``: poll ``latest_checkpoint`` every
    ``seconds_to_sleep`` until it differs from ``last_checkpoint``; None after ``timeout``."""
    import time

    stop_time = time.time() + timeout if timeout is not None else None
    while True:
        path = latest_checkpoint(checkpoint_dir)
        if path is not None and path != last_checkpoint:
            return path
        if stop_time is not None and time.time() + seconds_to_sleep > stop_time:
            return None
        time.sleep(seconds_to_sleep)


def checkpoints_iterator(
    checkpoint_dir: str | os.PathLike[str],
    min_interval_secs: float = 0,
    timeout: float | None = None,
    timeout_fn: Callable[[], bool] | None = None,
) -> Iterator[str]:
    """Like ``tf.train.checkpoints_iterator``: yield each new latest checkpoint as it appears,
    at most one per ``min_interval_secs``; stop after ``timeout`` without a new one unless
    ``timeout_fn`` returns False (keep waiting)."""
    import time

    checkpoint_path = None
    while True:
        new_path = wait_for_new_checkpoint(checkpoint_dir, checkpoint_path, timeout=timeout)
        if new_path:
            start = time.time()
            checkpoint_path = new_path
            yield checkpoint_path
            time_to_next = start + min_interval_secs - time.time()
            if time_to_next > 0:
                time.sleep(time_to_next)
        elif timeout_fn is None:
            return
        if timeout_fn is not None and timeout_fn():
            return
