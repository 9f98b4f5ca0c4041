"""Checkpoints without TensorFlow: the drop-in API (``load_checkpoint``, ``list_variables``,
``latest_checkpoint``, ``get_checkpoint_state``) over V2 bundles and V1 table checkpoints."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphtui.errors import FormatError, NotFoundError
from graphtui.formats import dtypes, storage
from graphtui.formats.bundle import BundleReader
from graphtui.formats.state_file import DEFAULT_NAME, read_state

if TYPE_CHECKING:  # numpy and the V1 reader are imported when needed, not to list a V2 index
    import numpy as np

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


class CheckpointReader:
    """TensorFlow's ``CheckpointReader`` API over a V2 or V1 checkpoint, read lazily."""

    def __init__(self, path: str | os.PathLike[str], *, verify_checksums: bool = True) -> None:
        self.format, self.prefix = resolve_checkpoint(path)
        self._v2: BundleReader | None = None
        self._v1: V1Reader | None = None
        if self.format == "V2":
            self._v2 = BundleReader(self.prefix, verify_checksums=verify_checksums)
        else:
            from graphtui.formats.v1 import V1Reader

            self._v1 = V1Reader(self.prefix, verify_checksums=verify_checksums)

    # -- TensorFlow's API ----------------------------------------------------------------------

    def get_variable_to_shape_map(self) -> dict[str, list[int]]:
        return {info.name: list(info.shape) for info in self.tensors()}

    def get_variable_to_dtype_map(self) -> dict[str, dtypes.DType]:
        return {info.name: info.dtype for info in self.tensors()}

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
            return TensorInfo(name, entry.dtype, entry.shape, nbytes, len(entry.slices))
        assert self._v1 is not None
        t = self._v1.tensors[name]
        nslices = len(t.slices) if len(t.slices) > 1 or _is_partial(t.slices) else 0
        return TensorInfo(name, t.dtype, t.shape, t.num_elements * t.dtype.itemsize, nslices)

    def tensors(self) -> list[TensorInfo]:
        return [self.tensor_info(name) for name in self.names()]

    def files(self) -> list[str]:
        """Every file of the checkpoint (index and data shards, or V1 files)."""
        if self._v2 is not None:
            return [self._v2.index_file, *self._v2.data_files()]
        assert self._v1 is not None
        return list(self._v1.files)

    @property
    def bundle(self) -> BundleReader | None:
        """The underlying V2 reader (None for V1), for raw-byte copies."""
        return self._v2

    def verify(self) -> list[FormatError]:
        """Check every checksum of every block and tensor; every problem found, not just the first."""
        if self._v2 is not None:
            return self._v2.verify()
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


def list_variables(ckpt_dir_or_file: str | os.PathLike[str]) -> list[tuple[str, list[int]]]:
    """Like ``tf.train.list_variables``: sorted ``(name, shape)`` pairs."""
    with load_checkpoint(ckpt_dir_or_file) as reader:
        shapes = reader.get_variable_to_shape_map()
    return [(name, shapes[name]) for name in sorted(shapes)]


def state_file_path(
    checkpoint_dir: str | os.PathLike[str], latest_filename: str | None = None
) -> str:
    return storage.join(os.fspath(checkpoint_dir), latest_filename or DEFAULT_NAME)


def get_checkpoint_state(
    checkpoint_dir: str | os.PathLike[str], latest_filename: str | None = None
) -> Any:
    """Like ``tf.train.get_checkpoint_state``: the CheckpointState with relative paths joined to
    the directory, or None when there is no state file. A malformed file raises FormatError."""
    checkpoint_dir = os.fspath(checkpoint_dir)
    path = state_file_path(checkpoint_dir, latest_filename)
    if not storage.isfile(path):
        return None
    state = read_state(path)
    if not state.model_checkpoint_path:
        raise FormatError(path, "invalid checkpoint state: no model_checkpoint_path")
    if not storage.isabs(state.model_checkpoint_path):
        state.model_checkpoint_path = storage.join(checkpoint_dir, state.model_checkpoint_path)
    for i, p in enumerate(state.all_model_checkpoint_paths):
        if not storage.isabs(p):
            state.all_model_checkpoint_paths[i] = storage.join(checkpoint_dir, p)
    return state


def checkpoint_exists(prefix: str) -> bool:
    """TensorFlow's test: files match ``PREFIX.index`` (V2) or ``PREFIX`` (V1), as glob patterns."""
    return bool(storage.glob(prefix + ".index") or storage.glob(prefix))


def latest_checkpoint(
    checkpoint_dir: str | os.PathLike[str], latest_filename: str | None = None
) -> str | None:
    """Like ``tf.train.latest_checkpoint``: the latest prefix if its files exist, else None."""
    state = get_checkpoint_state(checkpoint_dir, latest_filename)
    if state is not None and checkpoint_exists(state.model_checkpoint_path):
        return str(state.model_checkpoint_path)
    return None
