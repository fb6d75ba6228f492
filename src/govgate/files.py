"""Reading a file a person names, bounded: `/dev/zero` or a wrong multi-gigabyte file must end in
an error that names it, not in a process that eats the machine's memory."""

from __future__ import annotations

import errno
import os

MiB = 1024 * 1024


class FileTooLarge(OSError):
    """The file holds more than the reader's limit (an OSError, so readers' handlers name it)."""

    def __init__(self, path: str | os.PathLike, limit: int):
        super().__init__(errno.EFBIG, f"larger than {_size(limit)}: not a file of this kind")
        self.filename = os.fspath(path)

    def __str__(self) -> str:
        return self.strerror


def read_bounded(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of PATH. Raises FileTooLarge past LIMIT bytes (reading at most one more),
    and the OSErrors of open and read (FileNotFoundError, IsADirectoryError, ...)."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n} bytes"
