"""LEB128 numbers: DWARF's unsigned and signed LEB128, and Go's bounded varints.

Go writes the same little-endian base-128 encoding (``encoding/binary.Uvarint``) in its pc-value
tables (``runtime.readvarint``: a uint32, at most 5 bytes), its build info (a uint64, at most 10)
and its type names (``internal/abi.Name.ReadVarint``); DWARF uses it everywhere, unbounded.

Two readers, for two kinds of caller:

- :func:`uleb128` / :func:`sleb128`: DWARF's hot path (DIE attributes, abbreviations, location
  lists). No bounds beyond the buffer's: a read past its end raises ``IndexError``, which the DWARF
  readers turn into one :class:`~explorer.errors.BinaryFormatError` per unit or list;
- :func:`uvarint`: a Go varint within ``data[:end]`` of at most ``max_bytes`` bytes; anything else is
  a :class:`~explorer.errors.BinaryFormatError` that names ``what`` was being read. Callers that need
  a narrower type (pctab's uint32) mask the value.
"""

from __future__ import annotations

from explorer.errors import BinaryFormatError

Buffer = bytes | bytearray | memoryview


def uleb128(data: Buffer, pos: int) -> tuple[int, int]:
    """The unsigned LEB128 at ``pos``: (value, position after it). ``IndexError`` past the end."""
    b = data[pos]
    pos += 1
    if b < 0x80:  # most DWARF numbers are one byte: no loop
        return b, pos
    result = b & 0x7F
    shift = 7
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7


def sleb128(data: Buffer, pos: int) -> tuple[int, int]:
    """The signed LEB128 at ``pos``: (value, position after it). ``IndexError`` past the end."""
    result = 0
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos


def encode_uleb128(value: int) -> bytes:
    """The unsigned LEB128 encoding of ``value`` (>= 0)."""
    out = bytearray()
    while True:
        b = value & 0x7F
        value >>= 7
        if not value:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def uvarint(data: Buffer, pos: int, end: int, max_bytes: int, what: str) -> tuple[int, int]:
    """The Go varint at ``pos``, ending before ``end`` and at most ``max_bytes`` long: (value,
    position after it). Raises :class:`BinaryFormatError` ("``what``: ...") otherwise."""
    value = shift = 0
    limit = pos + max_bytes
    while pos < end:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        if pos >= limit:
            raise BinaryFormatError(f"{what}: varint longer than {max_bytes} bytes")
        shift += 7
    raise BinaryFormatError(f"{what}: varint runs past the end of its table")


__all__ = ["encode_uleb128", "sleb128", "uleb128", "uvarint"]
