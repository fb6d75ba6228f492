"""SSH wire encoding (RFC 4251 section 5): a bounds-checked reader and matching writers.

The reader raises ``WireError`` on any truncation or rule violation and never reads past
the buffer it was given; callers translate that into their own refusal codes.
"""

from __future__ import annotations

import struct

# OpenSSH refuses bignums above 16384 bits (plus one sign byte); mirror it so an
# oversized mpint is refused here exactly where ssh-keygen refuses it.
MAX_MPINT_BYTES = 2048 + 1


class WireError(ValueError):
    """The bytes do not follow the SSH wire encoding."""


class Reader:
    """Sequential reader over one immutable byte string."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)
        self._pos = 0

    def raw(self, n: int) -> bytes:
        """The next ``n`` bytes; WireError if fewer remain."""
        end = self._pos + n
        if n < 0 or end > len(self._data):
            raise WireError(f"truncated: wanted {n} bytes, {self.remaining()} left")
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def u8(self) -> int:
        return self.raw(1)[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.raw(4))[0]

    def string(self) -> bytes:
        """A length-prefixed byte string."""
        return self.raw(self.u32())

    def text(self) -> str:
        """A length-prefixed UTF-8 string without NUL (OpenSSH's cstring rule)."""
        data = self.string()
        if b"\x00" in data:
            raise WireError("string contains a NUL byte")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireError("string is not UTF-8") from exc

    def mpint(self) -> int:
        """A non-negative multiple-precision integer; negative values are refused,
        leading zero bytes tolerated (as OpenSSH does)."""
        data = self.string()
        if data and data[0] & 0x80:
            raise WireError("negative mpint")
        if len(data) > MAX_MPINT_BYTES or (len(data) == MAX_MPINT_BYTES and data[0] != 0):
            raise WireError("mpint too large")
        return int.from_bytes(data, "big")

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def rest(self) -> bytes:
        """Everything not read yet (consumed)."""
        return self.raw(self.remaining())

    def end(self) -> None:
        """WireError unless every byte has been read."""
        if self.remaining():
            raise WireError(f"{self.remaining()} bytes of trailing data")


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def string(data: bytes | str) -> bytes:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return u32(len(data)) + data


def mpint(n: int) -> bytes:
    if n < 0:
        raise ValueError("only non-negative mpints are encoded here")
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if body and body[0] & 0x80:
        body = b"\x00" + body  # keep the sign bit clear
    return string(body)


def first_string(blob: bytes) -> str:
    """The leading type-name string of a key or signature blob; WireError if absent."""
    return Reader(blob).text()
