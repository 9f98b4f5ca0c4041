"""Atomic file writes: readers see the old file or the complete new one, never a partial one.

The data goes to a temporary file in the target's directory (same filesystem, so the rename is
atomic), which is flushed and fsynced, renamed over the target with :func:`os.replace`, and the
directory is fsynced so the rename itself survives a crash. On any error the temporary file is
removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["atomic_write", "atomic_writer", "staged_path"]


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_writer(path, "wb") as f:
        f.write(data)


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Context manager yielding a file object whose content replaces ``path`` on success.

    ``mode`` is ``"wb"`` (bytes) or ``"w"`` (UTF-8 text, no newline translation). A symlink
    at ``path`` is followed, so the file it points to is replaced and the link stays. An
    existing file keeps its permission bits; a new one gets the usual ``0o666 & ~umask``.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_writer mode must be 'wb' or 'w', not {mode!r}")
    target = os.path.realpath(os.fspath(path))
    directory, name = os.path.split(target)
    fd, tmp = _create_temp(directory, name)
    with _replacing(tmp, target):
        try:
            _copy_permissions(target, fd)
            if mode == "wb":
                f: IO[Any] = os.fdopen(fd, "wb")
            else:
                f = os.fdopen(fd, "w", encoding="utf-8", newline="")
        except BaseException:
            os.close(fd)
            raise
        with f:  # from here on the file object owns fd
            yield f
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def _replacing(tmp: str, target: str) -> Iterator[None]:
    """After the body, rename ``tmp`` over ``target`` and make the rename durable; on any
    error (the body's or the rename's) remove ``tmp`` and leave ``target`` alone."""
    try:
        yield
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(os.path.dirname(target))


def _create_temp(directory: str, name: str) -> tuple[int, str]:
    """Open a new, uniquely named file beside the target (mode 0o666 minus the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{directory}: could not create a temporary file for {name}")


def _copy_permissions(target: str, fd: int) -> None:
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return
    if hasattr(os, "fchmod"):
        with contextlib.suppress(OSError):
            os.fchmod(fd, stat.S_IMODE(st.st_mode))


def _fsync_directory(directory: str) -> None:
    """Make the rename durable; a no-op where directories cannot be opened (Windows)."""
    try:
        dir_fd = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def staged_path(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary path beside ``path`` for a writer that wants a file name (not a file
    object); on success it is fsynced and renamed over ``path``, on error removed."""
    target = os.path.realpath(os.fspath(path))
    directory, name = os.path.split(target)
    fd, tmp = _create_temp(directory, name)
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    os.close(fd)
    with _replacing(tmp, target):
        yield tmp
        os.chmod(tmp, mode)  # a writer may have replaced the file with a private one
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
