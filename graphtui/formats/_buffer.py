"""The bytes-like types the format readers accept (``collections.abc.Buffer`` is 3.12+)."""

from __future__ import annotations

import mmap
from typing import Union

Buffer = Union[bytes, bytearray, memoryview, mmap.mmap]  # noqa: UP007 (runtime alias on 3.10)
