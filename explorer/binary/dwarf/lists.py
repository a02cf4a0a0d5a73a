"""Range lists and location lists: ``.debug_ranges``/``.debug_loc`` (DWARF 4, Go up to 1.24) and
``.debug_rnglists``/``.debug_loclists`` (DWARF 5, Go 1.25+: ``DW_RLE``/``DW_LLE_base_addressx``
then ``offset_pair`` entries; every other entry kind is read too).

Offsets are those the attributes give (for ``DW_FORM_rnglistx``/``loclistx`` already resolved
through the unit's offset table by the DIE reader). Entries are returned with absolute addresses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Protocol

from explorer.binary.dwarf.constants import LLE_KINDS, RLE_KINDS
from explorer.binary.dwarf.sections import read_uint
from explorer.binary.varint import uleb128
from explorer.errors import BinaryFormatError

if TYPE_CHECKING:
    from explorer.binary.dwarf.reader import CompileUnit


class SectionReader(Protocol):
    """What the list readers need: sections and ``.debug_addr`` (a :class:`~.reader.DieReader`)."""

    def _section(self, name: str) -> bytes: ...

    def _addr_index(self, cu: CompileUnit, idx: int) -> int: ...


class LocationEntry(NamedTuple):
    """One location-list entry: the expression holds for ``low <= pc < high`` (absolute pcs)."""

    low: int
    high: int
    expr: bytes


def ranges(dw: SectionReader, cu: CompileUnit, offset: int) -> list[tuple[int, int]]:
    """The (low, high) address ranges of the list at ``offset`` (``DW_AT_ranges``)."""
    return [(lo, hi) for lo, hi, _ in _entries(dw, cu, offset, locations=False)]


def loclist(dw: SectionReader, cu: CompileUnit, offset: int) -> tuple[LocationEntry, ...]:
    """The entries of the location list at ``offset`` (a ``DW_AT_location`` of a list class)."""
    return tuple(LocationEntry(*e) for e in _entries(dw, cu, offset, locations=True))


def _entries(dw: SectionReader, cu: CompileUnit, offset: int, locations: bool) -> list[tuple[int, int, bytes]]:
    try:
        if cu.version >= 5:
            if locations:
                return _entries_v5(dw, cu, ".debug_loclists", offset, LLE_KINDS)
            return _entries_v5(dw, cu, ".debug_rnglists", offset, RLE_KINDS)
        return _pairs_v4(dw._section(".debug_loc" if locations else ".debug_ranges"), cu, offset, locations)
    except (IndexError, ValueError) as exc:
        what = "location" if locations else "range"
        raise BinaryFormatError(f"truncated {what} list at {offset:#x}: {exc}") from exc


def _pairs_v4(data: bytes, cu: CompileUnit, offset: int, with_expr: bool,
              ) -> list[tuple[int, int, bytes]]:
    """Entries of a DWARF 4 list: (begin, end) address pairs relative to a base (the unit's low_pc
    unless a base address selection entry changes it), each followed by a 2-byte-length
    expression in ``.debug_loc``; a (0, 0) pair ends the list."""
    size = cu.address_size
    top = (1 << (8 * size)) - 1
    base = cu.low_pc
    out: list[tuple[int, int, bytes]] = []
    pos = offset
    while True:
        lo, hi = read_uint(data, pos, size), read_uint(data, pos + size, size)
        pos += 2 * size
        if lo == 0 and hi == 0:
            return out
        if lo == top:
            base = hi
            continue
        expr = b""
        if with_expr:
            n = read_uint(data, pos, 2)
            expr = data[pos + 2:pos + 2 + n]
            pos += 2 + n
        if hi > lo:
            out.append(((base + lo) & top, (base + hi) & top, expr))  # wrapping, as in DWARF 5


def _entries_v5(dw: SectionReader, cu: CompileUnit, section: str, offset: int,
                kinds: dict[int, str]) -> list[tuple[int, int, bytes]]:
    """Entries of a DWARF 5 list: a kind byte, then its operands (``.debug_addr`` indices, offsets
    from the base address, or addresses); a location list entry ends with a ULEB128-length
    expression. ``kinds`` names the kind codes of the section (``RLE_KINDS``/``LLE_KINDS``)."""
    data = dw._section(section)
    with_expr = kinds is LLE_KINDS
    size = cu.address_size
    mask = (1 << (8 * size)) - 1
    base = cu.low_pc
    out: list[tuple[int, int, bytes]] = []
    pos = offset
    while True:
        kind = kinds.get(data[pos])
        pos += 1
        if kind == "end_of_list":
            return out
        if kind == "base_addressx":
            i, pos = uleb128(data, pos)
            base = dw._addr_index(cu, i)
            continue
        if kind == "base_address":
            base = read_uint(data, pos, size)
            pos += size
            continue
        if kind == "startx_endx":
            a, pos = uleb128(data, pos)
            b, pos = uleb128(data, pos)
            lo, hi = dw._addr_index(cu, a), dw._addr_index(cu, b)
        elif kind == "startx_length":
            a, pos = uleb128(data, pos)
            n, pos = uleb128(data, pos)
            lo = dw._addr_index(cu, a)
            hi = lo + n
        elif kind == "offset_pair":
            a, pos = uleb128(data, pos)
            b, pos = uleb128(data, pos)
            # Offsets are unsigned and wrap: Go's linker writes a range below the unit's base
            # address as offsets near 2**64 (cmd/go's crypto/tls unit, Go 1.25+).
            lo, hi = (base + a) & mask, (base + b) & mask
        elif kind == "default_location":
            lo, hi = 0, (1 << (8 * size)) - 1
        elif kind == "start_end":
            lo, hi = read_uint(data, pos, size), read_uint(data, pos + size, size)
            pos += 2 * size
        elif kind == "start_length":
            lo = read_uint(data, pos, size)
            n, pos = uleb128(data, pos + size)
            hi = lo + n
        else:
            raise BinaryFormatError(f"unknown {section} entry {data[pos - 1]} at {pos - 1:#x}")
        expr = b""
        if with_expr:
            n, pos = uleb128(data, pos)
            expr = data[pos:pos + n]
            pos += n
        if hi > lo:
            out.append((lo, hi, expr))
