"""Our DIE reader: compile unit headers, root DIEs, attribute values, DIE subtrees.

pyelftools (``elftools.dwarf``) can read all of this, and the package still uses it for the ELF
container and for the DWARF constants. Its DIE reader is not used because it builds a Python
object (a ``DIE``, a ``construct`` container and an ``AttributeValue`` per attribute) for every DIE
it steps over, where this one decodes straight into a dict and skips what a request does not need
(see :class:`~explorer.binary.dwarf.abbrevs.Scanner`). It is faster on every question the
program asks; measured with ``benchmarks/dwarf_vs_pyelftools.py`` (CPU time, best of 3, the same
questions through each reader, pyelftools 0.33; cmd/go of 19-23 MB and the corpus crasher of
9-11 MB, built by Go 1.24.11 (DWARF 4) and 1.27.3 (DWARF 5)):

- the first type lookup (open, ``runtime.g``, its fields and their types): 7-9x faster on cmd/go,
  12-14x on the crasher;
- every type of the runtime units with its fields' types: 5-7x (cmd/go), 7-9x (crasher);
- the function at a pc with its parameters and locals, 300 pcs: 5-6x (cmd/go), 5-9x (crasher),
  though ours also decodes the variables' types and location lists.

:class:`DieReader` holds the sections and the per-unit caches; :class:`~.godwarf.GoDwarf` builds
the index on it. Methods with a leading underscore are the package's internals.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from explorer.binary.dwarf.abbrevs import Abbrev, Scanner, parse_abbrevs
from explorer.binary.dwarf.constants import (
    FORMS_ADDRX,
    FORMS_CONST_CLASS,
    FORMS_IGNORED,
    FORMS_STRX,
    DW_AT_addr_base,
    DW_AT_comp_dir,
    DW_AT_go_package_name,
    DW_AT_high_pc,
    DW_AT_loclists_base,
    DW_AT_low_pc,
    DW_AT_name,
    DW_AT_producer,
    DW_AT_ranges,
    DW_AT_rnglists_base,
    DW_AT_stmt_list,
    DW_AT_str_offsets_base,
    DW_FORM_addr,
    DW_FORM_block,
    DW_FORM_block1,
    DW_FORM_block2,
    DW_FORM_block4,
    DW_FORM_data1,
    DW_FORM_data2,
    DW_FORM_data4,
    DW_FORM_data8,
    DW_FORM_data16,
    DW_FORM_exprloc,
    DW_FORM_flag,
    DW_FORM_flag_present,
    DW_FORM_implicit_const,
    DW_FORM_indirect,
    DW_FORM_line_strp,
    DW_FORM_loclistx,
    DW_FORM_ref1,
    DW_FORM_ref2,
    DW_FORM_ref4,
    DW_FORM_ref8,
    DW_FORM_ref_addr,
    DW_FORM_ref_udata,
    DW_FORM_rnglistx,
    DW_FORM_sdata,
    DW_FORM_sec_offset,
    DW_FORM_string,
    DW_FORM_strp,
    DW_FORM_udata,
    DW_UT_compile,
    DW_UT_partial,
    DW_UT_skeleton,
    DW_UT_split_compile,
    DW_UT_split_type,
    DW_UT_type,
)
from explorer.binary.dwarf.sections import RawSection, cstr, read_uint, section_data, unit_length
from explorer.binary.varint import sleb128, uleb128
from explorer.errors import BinaryFormatError

MAX_DEPTH = 64  # of typedef chains and DIE nesting we follow before calling the input malformed

_DATA_SIZES = {DW_FORM_data2: 2, DW_FORM_data4: 4, DW_FORM_data8: 8}
_REF_SIZES = {DW_FORM_ref2: 2, DW_FORM_ref4: 4, DW_FORM_ref8: 8}


@dataclass(eq=False)
class CompileUnit:
    """One compile unit (for Go: one package). Offsets are into ``.debug_info``."""

    offset: int
    version: int
    unit_type: int
    address_size: int
    offset_size: int
    abbrev_offset: int
    die_offset: int  # the unit's root DIE
    end: int  # first byte after the unit
    name: str = ""
    producer: str = ""
    comp_dir: str = ""
    package_name: str = ""
    low_pc: int = 0
    stmt_list: int | None = None
    ranges_offset: int | None = None
    high_pc: int | None = None
    addr_base: int = 0
    loclists_base: int = 0
    rnglists_base: int = 0
    str_offsets_base: int = 0
    first_child: int | None = None  # offset of the first child DIE, None if the root has none

    @property
    def go_version(self) -> str | None:
        """``go1.24.11`` from a producer like ``Go cmd/compile go1.24.11; regabi``."""
        return go_version_of(self.producer)


def go_version_of(producer: str) -> str | None:
    """The Go release in a ``DW_AT_producer`` written by the Go compiler, or None."""
    prefix = "Go cmd/compile "
    if not producer.startswith(prefix):
        return None
    return producer[len(prefix):].split(";", 1)[0].strip() or None


class Die:
    """A decoded DIE: offset, tag, attributes (forms already resolved), children if read."""

    __slots__ = ("attrs", "children", "offset", "tag")

    def __init__(self, offset: int, tag: int, attrs: dict[int, Any], children: list[Die]) -> None:
        self.offset = offset
        self.tag = tag
        self.attrs = attrs
        self.children = children


class DieReader:
    """``.debug_info`` and the sections its attributes point into, read lazily (thread-safe: the
    caches are filled with ``setdefault``, so racing threads get the same objects)."""

    def __init__(self, raw: dict[str, RawSection], info: bytes) -> None:
        self._raw = raw
        self._info: bytes = info
        self._sections: dict[str, bytes] = {}
        self._abbrev_tables: dict[int, dict[int, Abbrev]] = {}
        self._scanners: dict[tuple[int, int, int, int], Scanner] = {}

    def _section(self, name: str) -> bytes:
        """Section ``name``'s contents, inflated on first use; empty when the file has none."""
        data = self._sections.get(name)
        if data is None:
            raw = self._raw.get(name)
            data = section_data(raw) if raw is not None else b""
            self._sections[name] = data
        return data

    # units ---------------------------------------------------------------------------------------

    @cached_property
    def compile_units(self) -> list[CompileUnit]:
        """Every compile unit, in ``.debug_info`` order (reads only headers and root DIEs)."""
        data = self._info
        units: list[CompileUnit] = []
        pos = 0
        try:
            while pos + 11 <= len(data):
                start = pos
                length, offset_size, pos = unit_length(data, pos)
                end = pos + length
                if length == 0 or end > len(data):
                    raise BinaryFormatError(f"bad .debug_info unit length at {start:#x}")
                version = read_uint(data, pos, 2)
                pos += 2
                unit_type = DW_UT_compile
                if version >= 5:
                    unit_type = data[pos]
                    addr_size = data[pos + 1]
                    abbrev_off = read_uint(data, pos + 2, offset_size)
                    pos += 2 + offset_size
                    if unit_type in (DW_UT_type, DW_UT_split_type):  # signature + type offset
                        pos += 8 + offset_size
                    elif unit_type in (DW_UT_skeleton, DW_UT_split_compile):  # dwo id
                        pos += 8
                elif version >= 2:
                    abbrev_off = read_uint(data, pos, offset_size)
                    addr_size = data[pos + offset_size]
                    pos += offset_size + 1
                else:
                    raise BinaryFormatError(f"unsupported DWARF version {version} at {start:#x}")
                cu = CompileUnit(start, version, unit_type, addr_size, offset_size, abbrev_off, pos, end)
                if unit_type in (DW_UT_compile, DW_UT_partial, DW_UT_skeleton):
                    self._read_root(cu)
                units.append(cu)
                pos = end
        except (IndexError, ValueError) as exc:
            raise BinaryFormatError(f"truncated .debug_info: {exc}") from exc
        return units

    def _read_root(self, cu: CompileUnit) -> None:
        code, pos = uleb128(self._info, cu.die_offset)
        if code == 0:
            return
        ab = self._abbrevs(cu).get(code)
        if ab is None:
            raise BinaryFormatError(f"unknown abbreviation {code} at {cu.die_offset:#x}")
        # Base attributes come first so that indexed forms in the root can be resolved.
        raw, pos = self._decode(cu, pos, ab, resolve=False)
        cu.addr_base = raw.get(DW_AT_addr_base, 0)
        cu.loclists_base = raw.get(DW_AT_loclists_base, 0)
        cu.rnglists_base = raw.get(DW_AT_rnglists_base, 0)
        cu.str_offsets_base = raw.get(DW_AT_str_offsets_base, 0)
        attrs, pos = self._decode(cu, self._after_code(cu.die_offset), ab)
        cu.name = attrs.get(DW_AT_name, "") or ""
        cu.producer = attrs.get(DW_AT_producer, "") or ""
        cu.comp_dir = attrs.get(DW_AT_comp_dir, "") or ""
        cu.package_name = attrs.get(DW_AT_go_package_name, "") or ""
        cu.low_pc = attrs.get(DW_AT_low_pc, 0) or 0
        cu.high_pc = attrs.get(DW_AT_high_pc)
        cu.stmt_list = attrs.get(DW_AT_stmt_list)
        cu.ranges_offset = attrs.get(DW_AT_ranges)
        if ab.has_children and pos < cu.end and self._info[pos] != 0:
            cu.first_child = pos

    def _after_code(self, offset: int) -> int:
        return uleb128(self._info, offset)[1]

    @cached_property
    def _cu_starts(self) -> list[int]:
        return [cu.offset for cu in self.compile_units]

    def cu_at_offset(self, die_offset: int) -> CompileUnit:
        """The compile unit holding the DIE at ``die_offset``."""
        units = self.compile_units
        i = bisect.bisect_right(self._cu_starts, die_offset) - 1
        if i < 0 or die_offset >= units[i].end:
            raise BinaryFormatError(f"DIE offset {die_offset:#x} is outside .debug_info units")
        return units[i]

    @cached_property
    def dwarf_version(self) -> int:
        """Version of the first compile unit (4 up to Go 1.24, 5 from Go 1.25)."""
        units = self.compile_units
        return units[0].version if units else 0

    # DIE decoding --------------------------------------------------------------------------------

    def _abbrevs(self, cu: CompileUnit) -> dict[int, Abbrev]:
        table = self._abbrev_tables.get(cu.abbrev_offset)
        if table is None:
            try:
                table = parse_abbrevs(self._section(".debug_abbrev"), cu.abbrev_offset)
            except (IndexError, ValueError) as exc:
                raise BinaryFormatError(f"truncated .debug_abbrev: {exc}") from exc
            self._abbrev_tables[cu.abbrev_offset] = table
        return table

    def _scanner(self, cu: CompileUnit) -> Scanner:
        key = (cu.abbrev_offset, cu.address_size, cu.offset_size, cu.version)
        scanner = self._scanners.get(key)
        if scanner is None:
            scanner = Scanner(self._abbrevs(cu), cu.address_size, cu.offset_size, cu.version)
            self._scanners[key] = scanner
        return scanner

    def _decode(self, cu: CompileUnit, pos: int, ab: Abbrev,
                resolve: bool = True) -> tuple[dict[int, Any], int]:
        """Decode the attributes of a DIE whose abbreviation code ends at ``pos``; the forms most
        frequent in Go's DWARF are tested first."""
        data = self._info
        attrs: dict[int, Any] = {}
        high_rel = False
        for at, form0, implicit in ab.attrs:
            form = form0
            while form == DW_FORM_indirect:
                form, pos = uleb128(data, pos)
            v: Any
            if form == DW_FORM_string:
                end = data.index(0, pos)
                v = data[pos:end].decode("utf-8", "replace")
                pos = end + 1
            elif form == DW_FORM_udata:
                v, pos = uleb128(data, pos)
            elif form == DW_FORM_ref_addr:
                size = cu.address_size if cu.version <= 2 else cu.offset_size
                v = int.from_bytes(data[pos:pos + size], "little")
                pos += size
            elif form == DW_FORM_data1 or form == DW_FORM_ref1 or form == DW_FORM_flag:
                v = data[pos]
                pos += 1
                if form == DW_FORM_ref1:
                    v += cu.offset
            elif form == DW_FORM_addr:
                v = int.from_bytes(data[pos:pos + cu.address_size], "little")
                pos += cu.address_size
            elif form == DW_FORM_block1:
                n = data[pos]
                v = data[pos + 1:pos + 1 + n]
                pos += 1 + n
            elif form == DW_FORM_exprloc or form == DW_FORM_block:
                n, pos = uleb128(data, pos)
                v = data[pos:pos + n]
                pos += n
            elif form == DW_FORM_sdata:
                v, pos = sleb128(data, pos)
            elif form == DW_FORM_sec_offset or form == DW_FORM_strp or form == DW_FORM_line_strp:
                v = int.from_bytes(data[pos:pos + cu.offset_size], "little")
                pos += cu.offset_size
                if form == DW_FORM_strp:
                    v = self._string_at(".debug_str", v)
                elif form == DW_FORM_line_strp:
                    v = self._string_at(".debug_line_str", v)
            elif form == DW_FORM_flag_present:
                v = 1
            elif form == DW_FORM_implicit_const:
                v = implicit
            elif form in _DATA_SIZES:
                size = _DATA_SIZES[form]
                v = int.from_bytes(data[pos:pos + size], "little")
                pos += size
            elif form in _REF_SIZES:
                size = _REF_SIZES[form]
                v = int.from_bytes(data[pos:pos + size], "little") + cu.offset
                pos += size
            elif form == DW_FORM_ref_udata:
                v, pos = uleb128(data, pos)
                v += cu.offset
            elif form in FORMS_ADDRX or form in FORMS_STRX:
                size = FORMS_ADDRX.get(form, FORMS_STRX.get(form, 0))
                if size:
                    idx = int.from_bytes(data[pos:pos + size], "little")
                    pos += size
                else:
                    idx, pos = uleb128(data, pos)
                if not resolve:
                    v = None
                elif form in FORMS_ADDRX:
                    v = self._addr_index(cu, idx)
                else:
                    v = self._str_index(cu, idx)
            elif form == DW_FORM_loclistx or form == DW_FORM_rnglistx:
                idx, pos = uleb128(data, pos)
                base = cu.loclists_base if form == DW_FORM_loclistx else cu.rnglists_base
                sec = ".debug_loclists" if form == DW_FORM_loclistx else ".debug_rnglists"
                v = base + read_uint(self._section(sec), base + idx * cu.offset_size, cu.offset_size) \
                    if resolve else None
            elif form == DW_FORM_block2 or form == DW_FORM_block4:
                size = 2 if form == DW_FORM_block2 else 4
                n = int.from_bytes(data[pos:pos + size], "little")
                pos += size
                v = data[pos:pos + n]
                pos += n
            elif form == DW_FORM_data16:
                v = data[pos:pos + 16]
                pos += 16
            elif form in FORMS_IGNORED:  # into supplementary files or type units: Go writes none
                size_or_kind = FORMS_IGNORED[form]
                v = None
                pos += size_or_kind if isinstance(size_or_kind, int) else cu.offset_size
            else:
                raise BinaryFormatError(f"unknown DWARF form {form:#x} in DIE at {pos:#x}")
            if at == DW_AT_high_pc and form in FORMS_CONST_CLASS:
                high_rel = True
            attrs[at] = v
        if pos > cu.end:
            raise BinaryFormatError(f"DIE attributes run past the end of unit {cu.offset:#x}")
        if high_rel and DW_AT_low_pc in attrs and attrs[DW_AT_low_pc] is not None:
            attrs[DW_AT_high_pc] = attrs[DW_AT_low_pc] + attrs[DW_AT_high_pc]
        return attrs, pos

    def _string_at(self, section: str, offset: int) -> str:
        data = self._section(section)
        if offset >= len(data):
            raise BinaryFormatError(f"string offset {offset:#x} outside {section}")
        return cstr(data, offset)[0]

    def _addr_index(self, cu: CompileUnit, idx: int) -> int:
        """Entry ``idx`` of the unit's ``.debug_addr`` table (DWARF 5 ``addrx`` forms)."""
        return read_uint(self._section(".debug_addr"), cu.addr_base + idx * cu.address_size, cu.address_size)

    def _str_index(self, cu: CompileUnit, idx: int) -> str:
        off = read_uint(self._section(".debug_str_offsets"), cu.str_offsets_base + idx * cu.offset_size,
                        cu.offset_size)
        return self._string_at(".debug_str", off)

    def _read_die(self, offset: int, *, children: bool = False,
                  cu: CompileUnit | None = None) -> Die:
        """The DIE at ``offset``; with ``children``, its whole subtree."""
        if cu is None:
            cu = self.cu_at_offset(offset)
        try:
            die, _ = self._read_die_at(cu, offset, children, 0)
        except (IndexError, ValueError) as exc:
            raise BinaryFormatError(f"truncated DIE at {offset:#x}: {exc}") from exc
        if die is None:
            raise BinaryFormatError(f"no DIE at {offset:#x}")
        return die

    def _read_die_at(self, cu: CompileUnit, offset: int, children: bool,
                     depth: int) -> tuple[Die | None, int]:
        if depth > MAX_DEPTH:
            raise BinaryFormatError(f"DIEs nested too deep at {offset:#x}")
        code, pos = uleb128(self._info, offset)
        if code == 0:
            return None, pos
        ab = self._abbrevs(cu).get(code)
        if ab is None:
            raise BinaryFormatError(f"unknown abbreviation {code} at {offset:#x}")
        attrs, pos = self._decode(cu, pos, ab)
        die = Die(offset, ab.tag, attrs, [])
        if children and ab.has_children:  # (without: the caller does not walk past this DIE)
            while pos < cu.end:
                child, pos = self._read_die_at(cu, pos, True, depth + 1)
                if child is None:
                    break
                die.children.append(child)
        return die, pos
