"""Lazy DWARF index of a Go executable: types, constants, globals, functions, variables, lines, CFI.

Handles what the Go linker writes on linux (amd64, arm64) for Go 1.21–1.27:

- DWARF 4 up to Go 1.24: ``.debug_info`` units of version 4, ``.debug_loc``, ``.debug_ranges``, a
  version 2 ``.debug_line``;
- DWARF 5 by default from Go 1.25: units of version 5, ``DW_FORM_addrx`` into ``.debug_addr``,
  ``.debug_loclists`` and ``.debug_rnglists`` (``DW_LLE/DW_RLE_base_addressx`` + ``offset_pair``),
  a version 5 ``.debug_line``;
- sections compressed with ``SHF_COMPRESSED`` (zlib, the Go linker's default; zstd too) or the old
  GNU ``.zdebug_*`` form; ``.debug_frame`` (Go writes no ``.eh_frame``).

The Go linker writes one compile unit per object file, named by the package's import path: a
package's Go code, plus one small unit per assembly file. It moves every type DIE into a ``runtime``
unit and puts a package's constants into its first unit. Types are named as Go spells them:
``runtime.g``, ``*main.Request``, ``[]uint8``, ``map[string]int``, ``main.Pair[string,int]``; a named
type has a ``DW_TAG_typedef`` and its definition under the same name, which this module folds into
one :class:`GoType`.

Nothing is parsed up front. Opening inflates ``.debug_info``; unit headers and root DIEs are read on
first use; a unit's direct children are indexed the first time a request touches that unit (the
``runtime`` units for types, the unit of a symbol's package for a name, the unit whose ranges hold a
pc); a function's DIE subtree is read when asked for. The DIE and line-table readers are our own:
pyelftools builds a Python object per DIE and per line-program entry and is several times slower
(about 1 s for the runtime unit's line table of ``cmd/go``); pyelftools supplies the ELF container.
Addresses are link-time addresses: add the PIE bias outside.
"""

from __future__ import annotations

import bisect
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from explorer.binary.varint import encode_uleb128, sleb128, uleb128
from explorer.errors import BinaryFormatError, ExplorerError, NoDwarfError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile

__all__ = [
    "CompileUnit",
    "DwarfLookupError",
    "Field",
    "GlobalVar",
    "GoDwarf",
    "GoType",
    "InlinedCall",
    "LocationEntry",
    "LogicalFrame",
    "Piece",
    "Subprogram",
    "Variable",
    "eval_location",
]


class DwarfLookupError(BinaryFormatError):
    """A type, field or entry the caller relies on is not in the executable's DWARF."""


# --- DWARF constants (only those this module uses) -------------------------------------------------

TAG_array_type = 0x01
TAG_formal_parameter = 0x05
TAG_lexical_block = 0x0B
TAG_member = 0x0D
TAG_pointer_type = 0x0F
TAG_compile_unit = 0x11
TAG_structure_type = 0x13
TAG_subroutine_type = 0x15
TAG_typedef = 0x16
TAG_union_type = 0x17
TAG_inlined_subroutine = 0x1D
TAG_subrange_type = 0x21
TAG_base_type = 0x24
TAG_constant = 0x27
TAG_enumeration_type = 0x04
TAG_subprogram = 0x2E
TAG_variable = 0x34
TAG_unspecified_type = 0x3B
TAG_partial_unit = 0x3C
TAG_class_type = 0x02

_TYPE_TAGS = frozenset({
    TAG_array_type, TAG_pointer_type, TAG_structure_type, TAG_subroutine_type, TAG_typedef,
    TAG_union_type, TAG_base_type, TAG_unspecified_type, TAG_enumeration_type, TAG_class_type,
})

AT_sibling = 0x01
AT_location = 0x02
AT_name = 0x03
AT_byte_size = 0x0B
AT_stmt_list = 0x10
AT_low_pc = 0x11
AT_high_pc = 0x12
AT_language = 0x13
AT_comp_dir = 0x1B
AT_const_value = 0x1C
AT_inline = 0x20
AT_producer = 0x25
AT_count = 0x37
AT_upper_bound = 0x2F
AT_abstract_origin = 0x31
AT_data_member_location = 0x38
AT_decl_file = 0x3A
AT_decl_line = 0x3B
AT_encoding = 0x3E
AT_external = 0x3F
AT_frame_base = 0x40
AT_type = 0x49
AT_ranges = 0x55
AT_trampoline = 0x4C
AT_call_file = 0x58
AT_call_line = 0x59
AT_variable_parameter = 0x4B
AT_str_offsets_base = 0x72
AT_addr_base = 0x73
AT_rnglists_base = 0x74
AT_loclists_base = 0x8C
AT_go_kind = 0x2900
AT_go_key = 0x2901
AT_go_elem = 0x2902
AT_go_embedded_field = 0x2903
AT_go_runtime_type = 0x2904
AT_go_package_name = 0x2905
AT_go_dict_index = 0x2906
AT_go_closure_offset = 0x2907

FORM_addr = 0x01
FORM_block2 = 0x03
FORM_block4 = 0x04
FORM_data2 = 0x05
FORM_data4 = 0x06
FORM_data8 = 0x07
FORM_string = 0x08
FORM_block = 0x09
FORM_block1 = 0x0A
FORM_data1 = 0x0B
FORM_flag = 0x0C
FORM_sdata = 0x0D
FORM_strp = 0x0E
FORM_udata = 0x0F
FORM_ref_addr = 0x10
FORM_ref1 = 0x11
FORM_ref2 = 0x12
FORM_ref4 = 0x13
FORM_ref8 = 0x14
FORM_ref_udata = 0x15
FORM_indirect = 0x16
FORM_sec_offset = 0x17
FORM_exprloc = 0x18
FORM_flag_present = 0x19
FORM_strx = 0x1A
FORM_addrx = 0x1B
FORM_ref_sup4 = 0x1C
FORM_strp_sup = 0x1D
FORM_data16 = 0x1E
FORM_line_strp = 0x1F
FORM_ref_sig8 = 0x20
FORM_implicit_const = 0x21
FORM_loclistx = 0x22
FORM_rnglistx = 0x23
FORM_ref_sup8 = 0x24
FORM_strx1 = 0x25
FORM_strx2 = 0x26
FORM_strx3 = 0x27
FORM_strx4 = 0x28
FORM_addrx1 = 0x29
FORM_addrx2 = 0x2A
FORM_addrx3 = 0x2B
FORM_addrx4 = 0x2C
FORM_GNU_addr_index = 0x1F01
FORM_GNU_str_index = 0x1F02
FORM_GNU_ref_alt = 0x1F20
FORM_GNU_strp_alt = 0x1F21

_FORMS_ADDRX = {FORM_addrx: 0, FORM_addrx1: 1, FORM_addrx2: 2, FORM_addrx3: 3, FORM_addrx4: 4,
                FORM_GNU_addr_index: 0}
_FORMS_STRX = {FORM_strx: 0, FORM_strx1: 1, FORM_strx2: 2, FORM_strx3: 3, FORM_strx4: 4,
               FORM_GNU_str_index: 0}
_FORMS_CONST_CLASS = frozenset({FORM_data1, FORM_data2, FORM_data4, FORM_data8, FORM_udata,
                                FORM_sdata, FORM_implicit_const})

# Go's kinds (internal/abi.Kind, the DW_AT_go_kind values) mapped to this module's coarse kinds.
_GO_KINDS: dict[int, str] = {
    1: "bool", 2: "int", 3: "int", 4: "int", 5: "int", 6: "int",
    7: "uint", 8: "uint", 9: "uint", 10: "uint", 11: "uint", 12: "uint",
    13: "float", 14: "float", 15: "complex", 16: "complex",
    17: "array", 18: "chan", 19: "func", 20: "iface", 21: "map", 22: "ptr", 23: "slice",
    24: "string", 25: "struct", 26: "unsafe.Pointer",
}
# DW_ATE_* encodings of base types, for types without DW_AT_go_kind.
_ENCODINGS = {0x2: "bool", 0x3: "complex", 0x4: "float", 0x5: "int", 0x6: "int", 0x7: "uint",
              0x8: "uint", 0x10: "uint"}

TypeKind = Literal[
    "bool", "int", "uint", "float", "complex", "string", "slice", "array", "struct", "ptr", "map",
    "chan", "func", "iface", "eface", "unsafe.Pointer", "typedef", "unspecified", "other",
]

_MAX_DEPTH = 64  # of typedef chains and DIE nesting we follow before calling the input malformed
_MAX_OPS = 10_000  # operations one location expression may execute
_MAX_INFLATE = 1 << 32  # a section that claims to inflate to more is malformed


# --- primitive readers -----------------------------------------------------------------------------

def _cstr(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(0, pos)
    return data[pos:end].decode("utf-8", "replace"), end + 1


def _u(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise IndexError("read past the end of a DWARF section")
    return int.from_bytes(data[pos:pos + size], "little")


# --- sections ---------------------------------------------------------------------------------------

_SHF_COMPRESSED = 0x800
_ELFCOMPRESS_ZLIB = 1
_ELFCOMPRESS_ZSTD = 2


def _inflate(raw: bytes, size: int, how: str, name: str) -> bytes:
    if size > _MAX_INFLATE:
        raise BinaryFormatError(f"section {name} claims to inflate to {size} bytes")
    try:
        if how == "zstd":
            import zstandard

            return bytes(zstandard.ZstdDecompressor().decompress(raw, max_output_size=size))
        d = zlib.decompressobj()
        out = d.decompress(raw, size)
        return out
    except (zlib.error, ValueError, ImportError) as exc:
        raise BinaryFormatError(f"cannot decompress {name}: {exc}") from exc
    except Exception as exc:  # zstandard.ZstdError does not derive from a stdlib class
        if type(exc).__name__ == "ZstdError":
            raise BinaryFormatError(f"cannot decompress {name}: {exc}") from exc
        raise


class _RawSection(NamedTuple):
    name: str
    data: bytes
    how: Literal["", "zlib", "zstd"]  # compression of ``data`` ("": none)
    size: int  # inflated size


def _raw_debug_sections(elf: ELFFile) -> dict[str, _RawSection]:
    """Every ``.debug_*`` (or GNU ``.zdebug_*``) section's bytes as stored, by ``.debug_*`` name.

    Read once at open (they are small while compressed) so that later lazy reads never touch the
    file: the index can then be used from several threads, and after the file is closed.
    """
    out: dict[str, _RawSection] = {}
    stream = elf.stream
    stream.seek(0, 2)
    file_size = stream.tell()
    order: Literal["little", "big"] = "little" if elf.little_endian else "big"
    for sec in elf.iter_sections():
        name = sec.name
        gnu = name.startswith(".zdebug_")
        if not (name.startswith(".debug_") or gnu) or sec["sh_type"] == "SHT_NOBITS":
            continue
        key = ".debug_" + name[len(".zdebug_"):] if gnu else name
        offset, size = sec["sh_offset"], sec["sh_size"]
        if offset + size > file_size:
            raise BinaryFormatError(f"section {name} runs past the end of the file")
        stream.seek(offset)
        raw = stream.read(size)
        if sec["sh_flags"] & _SHF_COMPRESSED:
            hdr = 24 if elf.elfclass == 64 else 12
            if len(raw) < hdr:
                raise BinaryFormatError(f"section {name}: truncated compression header")
            ch_type = int.from_bytes(raw[0:4], order)
            ch_size = int.from_bytes(raw[8:16] if hdr == 24 else raw[4:8], order)
            if ch_type not in (_ELFCOMPRESS_ZLIB, _ELFCOMPRESS_ZSTD):
                raise BinaryFormatError(f"section {name}: unknown compression type {ch_type}")
            how: Literal["", "zlib", "zstd"] = "zstd" if ch_type == _ELFCOMPRESS_ZSTD else "zlib"
            out[key] = _RawSection(name, raw[hdr:], how, ch_size)
        elif gnu:
            if raw[:4] != b"ZLIB" or len(raw) < 12:
                raise BinaryFormatError(f"section {name}: no ZLIB header")
            out[key] = _RawSection(name, raw[12:], "zlib", int.from_bytes(raw[4:12], "big"))
        else:
            out.setdefault(key, _RawSection(name, raw, "", len(raw)))
    return out


def _section_data(raw: _RawSection) -> bytes:
    return _inflate(raw.data, raw.size, raw.how, raw.name) if raw.how else raw.data


# --- abbreviations ----------------------------------------------------------------------------------

class _Abbrev:
    """One abbreviation: tag, children flag, (attribute, form, implicit constant) triples."""

    __slots__ = ("attrs", "code", "has_children", "tag")

    def __init__(self, code: int, tag: int, has_children: bool,
                 attrs: tuple[tuple[int, int, int], ...]) -> None:
        self.code = code
        self.tag = tag
        self.has_children = has_children
        self.attrs = attrs


def _parse_abbrevs(data: bytes, offset: int) -> dict[int, _Abbrev]:
    table: dict[int, _Abbrev] = {}
    pos = offset
    while pos < len(data):
        code, pos = uleb128(data, pos)
        if code == 0:
            break
        tag, pos = uleb128(data, pos)
        children = data[pos] != 0
        pos += 1
        attrs = []
        while True:
            at, pos = uleb128(data, pos)
            form, pos = uleb128(data, pos)
            implicit = 0
            if form == FORM_implicit_const:
                implicit, pos = sleb128(data, pos)
            if at == 0 and form == 0:
                break
            attrs.append((at, form, implicit))
        table[code] = _Abbrev(code, tag, children, tuple(attrs))
    return table


# Skip plans: a tuple per abbreviation of either a positive byte count or one of these codes.
_SK_STR, _SK_ULEB, _SK_B1, _SK_B2, _SK_B4, _SK_BU, _SK_IND = -1, -2, -3, -4, -5, -6, -7


def _skip_plan(ab: _Abbrev, addr_size: int, offset_size: int, version: int) -> tuple[int, ...]:
    fixed = {
        FORM_addr: addr_size, FORM_data1: 1, FORM_data2: 2, FORM_data4: 4, FORM_data8: 8,
        FORM_data16: 16, FORM_flag: 1, FORM_ref1: 1, FORM_ref2: 2, FORM_ref4: 4, FORM_ref8: 8,
        FORM_ref_sig8: 8, FORM_strp: offset_size, FORM_line_strp: offset_size,
        FORM_sec_offset: offset_size, FORM_ref_addr: addr_size if version <= 2 else offset_size,
        FORM_flag_present: 0, FORM_implicit_const: 0, FORM_strx1: 1, FORM_strx2: 2, FORM_strx3: 3,
        FORM_strx4: 4, FORM_addrx1: 1, FORM_addrx2: 2, FORM_addrx3: 3, FORM_addrx4: 4,
        FORM_ref_sup4: 4, FORM_ref_sup8: 8, FORM_strp_sup: offset_size,
        FORM_GNU_ref_alt: offset_size, FORM_GNU_strp_alt: offset_size,
    }
    variable = {
        FORM_string: _SK_STR, FORM_udata: _SK_ULEB, FORM_sdata: _SK_ULEB, FORM_ref_udata: _SK_ULEB,
        FORM_strx: _SK_ULEB, FORM_addrx: _SK_ULEB, FORM_loclistx: _SK_ULEB, FORM_rnglistx: _SK_ULEB,
        FORM_GNU_addr_index: _SK_ULEB, FORM_GNU_str_index: _SK_ULEB, FORM_block1: _SK_B1,
        FORM_block2: _SK_B2, FORM_block4: _SK_B4, FORM_block: _SK_BU, FORM_exprloc: _SK_BU,
        FORM_indirect: _SK_IND,
    }
    plan: list[int] = []
    for _at, form, _imp in ab.attrs:
        if form in fixed:
            n = fixed[form]
            if n:
                if plan and plan[-1] > 0:
                    plan[-1] += n
                else:
                    plan.append(n)
        elif form in variable:
            plan.append(variable[form])
        else:
            raise BinaryFormatError(f"unknown DWARF form {form:#x}")
    return tuple(plan)


_RE_ULEB = rb"[\x80-\xff]*[\x00-\x7f]"
_RE_STR = rb"[^\x00]*\x00"


def _op_re(op: int) -> bytes | None:
    """A regular expression matching what one skip-plan operation skips (None: length-prefixed)."""
    if op > 0:
        return b".{%d}" % op
    if op == _SK_STR:
        return _RE_STR
    if op == _SK_ULEB:
        return _RE_ULEB
    return None  # (an alternation over short block lengths was tried: no faster)


class _Scanner:
    """Precompiled ways to step over the DIEs of one abbreviation table (for one unit shape).

    The unit index decodes only a unit's direct children; everything below them is skipped. Most
    of those DIEs (struct members, function parameters) are childless and made only of inline
    strings, LEB128 numbers and fixed-size forms: a run of them is skipped by one regular
    expression match, several times faster than stepping through their attributes in Python.
    Named type DIEs are read by a per-abbreviation expression capturing the name and
    ``DW_AT_go_runtime_type``.
    """

    def __init__(self, abbrevs: dict[int, _Abbrev], addr_size: int, offset_size: int,
                 version: int) -> None:
        self.plans = {code: _skip_plan(ab, addr_size, offset_size, version)
                      for code, ab in abbrevs.items()}
        alternatives: list[bytes] = []
        type_bodies: dict[int, bytes] = {}
        self.rt_forms: dict[int, int] = {}
        self.type_res: dict[int, tuple[re.Pattern[bytes], bool]] = {}
        for code, ab in abbrevs.items():
            single = [_skip_plan(_Abbrev(0, 0, False, (a,)), addr_size, offset_size, version)
                      for a in ab.attrs]
            parts = [b"".join(x or b"" for x in map(_op_re, sp)) if all(_op_re(o) for o in sp)
                     else None for sp in single]
            if any(p is None for p in parts):
                continue
            body = b"".join(p or b"" for p in parts)
            if not ab.has_children:
                alternatives.append(re.escape(encode_uleb128(code)) + body)
            if ab.tag in _TYPE_TAGS:
                captured = []
                have_n = have_r = False
                for (at, form, _imp), part in zip(ab.attrs, parts, strict=True):
                    if at == AT_name and form == FORM_string and not have_n:
                        captured.append(rb"(?P<n>[^\x00]*)\x00")
                        have_n = True
                    elif at == AT_go_runtime_type and not have_r and part:
                        captured.append(b"(?P<r>" + (part or b"") + b")")
                        self.rt_forms[code] = form
                        have_r = True
                    else:
                        captured.append(part or b"")
                if not have_n:
                    captured.append(b"(?P<n>)")
                if not have_r:
                    captured.append(b"(?P<r>)")
                type_bodies[code] = b"".join(captured)
        runs = b"(?:" + b"|".join(alternatives) + b")*+" if alternatives else b""
        self.skip_re: re.Pattern[bytes] | None = re.compile(runs, re.DOTALL) if runs else None
        # A type DIE with children (struct members, array range, func params) is read with its
        # whole subtree and the null that ends it when those children are all simple.
        for code, body in type_bodies.items():
            if abbrevs[code].has_children:
                body += runs + b"\x00"
            self.type_res[code] = (re.compile(body, re.DOTALL), abbrevs[code].has_children)


# --- public model -----------------------------------------------------------------------------------

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
        return _go_version_of(self.producer)


def _go_version_of(producer: str) -> str | None:
    prefix = "Go cmd/compile "
    if not producer.startswith(prefix):
        return None
    return producer[len(prefix):].split(";", 1)[0].strip() or None


@dataclass(frozen=True)
class Field:
    """A struct member: its name, byte offset, type and whether it is an embedded field."""

    name: str
    offset: int
    type: GoType | None
    embedded: bool = False


@dataclass(eq=False)
class GoType:
    """A Go type as the DWARF describes it; composite parts are resolved lazily (cycles are fine).

    ``kind`` is coarse (``int`` for every signed integer width, ...); ``go_kind`` is the exact
    ``internal/abi.Kind`` from ``DW_AT_go_kind`` when the linker wrote one. ``runtime_type`` is the
    ``DW_AT_go_runtime_type`` value: the type descriptor's address relative to ``runtime.types``
    (None when the program has no descriptor for the type).
    """

    name: str
    kind: TypeKind
    size: int | None
    offset: int  # DIE offset in .debug_info: the type's identity
    tag: int
    go_kind: int | None = None
    runtime_type: int | None = None
    dict_index: int | None = None
    _dw: GoDwarf | None = field(default=None, repr=False)
    _type_ref: int | None = field(default=None, repr=False)
    _elem_ref: int | None = field(default=None, repr=False)
    _key_ref: int | None = field(default=None, repr=False)

    def _resolve(self, ref: int | None) -> GoType | None:
        if ref is None or self._dw is None:
            return None
        return self._dw.type_by_offset(ref)

    @cached_property
    def target(self) -> GoType | None:
        """What ``DW_AT_type`` names: a typedef's or interface's target, a pointer's pointee."""
        return self._resolve(self._type_ref)

    @property
    def typedef_target(self) -> GoType | None:
        """The type a typedef (or an interface typedef) stands for; None for other kinds."""
        return self.target if self.tag == TAG_typedef else None

    @cached_property
    def elem(self) -> GoType | None:
        """Element type of a pointer, slice, array or channel; the value type of a map."""
        if self._elem_ref is not None:
            return self._resolve(self._elem_ref)
        if self.kind in ("ptr", "array"):
            return self.target
        return None

    @cached_property
    def key(self) -> GoType | None:
        """Key type of a map (``DW_AT_go_key``)."""
        return self._resolve(self._key_ref)

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        """Members of a struct (or of the struct behind an interface/string/slice); () otherwise."""
        if self._dw is None:
            return ()
        if self.tag == TAG_structure_type:
            return self._dw._struct_fields(self)
        if self.tag == TAG_typedef and self.kind in ("iface", "eface") and self.target is not None:
            return self.target.fields
        return ()

    @cached_property
    def count(self) -> int | None:
        """Number of elements of an array type."""
        if self._dw is None or self.tag != TAG_array_type:
            return None
        return self._dw._array_count(self)

    def field(self, name: str) -> Field | None:
        """The member called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def strip_typedefs(self) -> GoType:
        """Follow ``typedef`` kinds (not interfaces, maps or channels) to the underlying type."""
        t: GoType = self
        for _ in range(_MAX_DEPTH):
            if t.kind != "typedef" or t.target is None:
                return t
            t = t.target
        raise BinaryFormatError(f"typedef chain too long at {self.name}")

    def __repr__(self) -> str:
        return f"GoType({self.name!r}, {self.kind}, size={self.size}, offset={self.offset:#x})"


class GlobalVar(NamedTuple):
    """A package-level variable: its link-time address and type."""

    address: int
    type: GoType | None


class LocationEntry(NamedTuple):
    """One location-list entry: the expression holds for ``low <= pc < high`` (absolute pcs)."""

    low: int
    high: int
    expr: bytes


@dataclass(eq=False)
class Variable:
    """A parameter or local of a function or of an inlined call.

    ``location`` is a single expression valid wherever the variable is in scope; otherwise
    ``location_list`` holds (low, high, expr) entries in absolute pcs; both None means optimized
    out. ``scope`` holds the pc ranges of the lexical block that declares it.
    """

    name: str
    kind: Literal["arg", "local"]
    type: GoType | None
    is_return_param: bool
    decl_line: int | None
    location: bytes | None
    location_list: tuple[LocationEntry, ...] | None
    scope: tuple[tuple[int, int], ...]
    closure_offset: int | None = None
    offset: int = 0  # DIE offset

    def in_scope(self, pc: int) -> bool:
        """Whether ``pc`` falls inside the block that declares the variable."""
        return any(lo <= pc < hi for lo, hi in self.scope)

    def location_at(self, pc: int) -> bytes | None:
        """The location expression that holds at ``pc``; None when optimized out there."""
        if self.location is not None:
            return self.location
        if self.location_list is not None:
            for e in self.location_list:
                if e.low <= pc < e.high:
                    return e.expr
        return None

    @property
    def optimized_out(self) -> bool:
        """No location at all (not even a list)."""
        return self.location is None and not self.location_list


@dataclass(eq=False)
class InlinedCall:
    """A ``DW_TAG_inlined_subroutine``: a call of ``name`` inlined at ``call_file:call_line``."""

    name: str
    origin_offset: int
    call_file: str | None
    call_line: int | None
    ranges: tuple[tuple[int, int], ...]
    variables: list[Variable]
    children: list[InlinedCall]
    offset: int = 0

    def contains(self, pc: int) -> bool:
        """Whether ``pc`` is inside this inlined body."""
        return any(lo <= pc < hi for lo, hi in self.ranges)

    def variables_at(self, pc: int) -> list[Variable]:
        """This inlined frame's variables whose scope holds ``pc``."""
        return [v for v in self.variables if v.in_scope(pc)]


@dataclass(eq=False)
class LogicalFrame:
    """One frame at a pc: the function itself, or one inlined call in it (``call`` set)."""

    name: str
    function: Subprogram
    call: InlinedCall | None
    variables: list[Variable]

    @property
    def inlined(self) -> bool:
        """Whether this frame is an inlined call."""
        return self.call is not None


@dataclass(eq=False)
class Subprogram:
    """A concrete function: pc range, frame base, own variables, inlined calls."""

    name: str
    offset: int
    low_pc: int
    high_pc: int
    frame_base: bytes | None
    decl_file: str | None
    decl_line: int | None
    cu: CompileUnit
    variables: list[Variable]
    inlined: list[InlinedCall]
    external: bool = False
    trampoline: bool = False

    def contains(self, pc: int) -> bool:
        """Whether ``pc`` is inside the function."""
        return self.low_pc <= pc < self.high_pc

    @property
    def params(self) -> list[Variable]:
        """Arguments and results, in declaration order."""
        return [v for v in self.variables if v.kind == "arg"]

    @property
    def locals(self) -> list[Variable]:
        """Locals of the function's own body (every lexical block)."""
        return [v for v in self.variables if v.kind == "local"]

    def frame_base_value(self, *, cfa: int | None, regs: Mapping[int, int] | None = None) -> int | None:
        """Value of ``DW_AT_frame_base`` (for Go, ``DW_OP_call_frame_cfa``: the CFA)."""
        if self.frame_base is None:
            return None
        pieces = eval_location(self.frame_base, cfa=cfa, regs=regs, address_size=self.cu.address_size)
        if len(pieces) == 1 and pieces[0].kind == "memory":
            return pieces[0].address
        if len(pieces) == 1 and pieces[0].kind == "register":
            return pieces[0].value
        return None

    def variables_at(self, pc: int) -> list[Variable]:
        """The function's own variables (not those of inlined calls) whose scope holds ``pc``."""
        return [v for v in self.variables if v.in_scope(pc)]

    def inlined_at(self, pc: int) -> list[InlinedCall]:
        """The chain of inlined calls covering ``pc``, outermost first."""
        chain: list[InlinedCall] = []
        level = self.inlined
        while True:
            for call in level:
                if call.contains(pc):
                    chain.append(call)
                    level = call.children
                    break
            else:
                return chain

    def frames_at(self, pc: int) -> list[LogicalFrame]:
        """Logical frames at ``pc``, innermost first (as a traceback lists them)."""
        frames = [LogicalFrame(self.name, self, None, self.variables_at(pc))]
        for call in self.inlined_at(pc):
            frames.append(LogicalFrame(call.name, self, call, call.variables_at(pc)))
        frames.reverse()
        return frames


PieceKind = Literal["memory", "register", "value", "implicit", "optimized_out", "unavailable"]


@dataclass(frozen=True)
class Piece:
    """Where (part of) a variable lives, from evaluating a location expression.

    ``size`` is the piece's byte size (None: the whole variable). ``memory``: at ``address``;
    ``register``: in DWARF register ``register``, whose content is ``value`` (None when the
    register is not known in this frame: unavailable); ``value``: the variable's value is ``value``
    (``DW_OP_stack_value``); ``implicit``: its bytes are ``data``; ``optimized_out``: no location;
    ``unavailable``: computable only with registers or memory we do not have (``reason`` says).
    """

    size: int | None
    kind: PieceKind
    address: int | None = None
    register: int | None = None
    value: int | None = None
    data: bytes | None = None
    reason: str = ""

    @property
    def available(self) -> bool:
        """Whether the piece's bytes can be had (from memory, a known register or the value)."""
        if self.kind == "register":
            return self.value is not None
        return self.kind in ("memory", "value", "implicit")


# --- location expressions ---------------------------------------------------------------------------

class _Unknown(Exception):
    """A value the expression needs is not known (a register of an outer frame, unread memory)."""


def eval_location(
    expr: bytes,
    *,
    cfa: int | None = None,
    regs: Mapping[int, int] | None = None,
    frame_base: int | None = None,
    read_mem: Callable[[int, int], bytes] | None = None,
    addrx: Callable[[int], int] | None = None,
    address_size: int = 8,
) -> list[Piece]:
    """Evaluate a DWARF location expression into pieces.

    ``regs`` maps DWARF register numbers to values and holds only the registers known in the frame
    (all of them for a thread's innermost frame, at most SP/PC for outer frames: Go has no
    callee-saved registers). A piece needing an unknown register, CFA, frame base or memory is
    returned as unavailable, never guessed. ``addrx`` resolves ``DW_OP_addrx`` indices (DWARF 5);
    :meth:`GoDwarf.eval_location` supplies it. Malformed expressions give an unavailable piece.
    """
    mask = (1 << (address_size * 8)) - 1
    pieces: list[Piece] = []
    stack: list[int] = []
    loc: tuple[str, Any] | None = None  # ("reg", n) / ("value", None) / ("implicit", bytes)
    unknown = ""
    empty = True  # nothing evaluated since the last piece
    pos = 0
    n = len(expr)

    def need(value: int | None, what: str) -> int:
        if value is None:
            raise _Unknown(what)
        return value

    def reg_value(r: int) -> int:
        if regs is None or r not in regs:
            raise _Unknown(f"register {r} not known in this frame")
        return regs[r] & mask

    def make_piece(size: int | None) -> Piece:
        if unknown:
            return Piece(size, "unavailable", reason=unknown)
        if loc is not None:
            what, arg = loc
            if what == "reg":
                val = regs.get(arg) if regs is not None else None
                return Piece(size, "register", register=arg, value=val)
            if what == "value":
                return Piece(size, "value", value=stack[-1] if stack else None)
            return Piece(size, "implicit", data=arg)
        if empty or not stack:
            return Piece(size, "optimized_out")
        return Piece(size, "memory", address=stack[-1])

    steps = 0
    try:
        while pos < n:
            steps += 1
            if steps > _MAX_OPS:  # DW_OP_skip/bra can loop
                raise ValueError("too many operations")
            op = expr[pos]
            pos += 1
            if op == 0x93 or op == 0x9D:  # DW_OP_piece, DW_OP_bit_piece
                size, pos = uleb128(expr, pos)
                if op == 0x9D:
                    _, pos = uleb128(expr, pos)
                    size = (size + 7) // 8
                pieces.append(make_piece(size))
                stack, loc, unknown, empty = [], None, "", True
                continue
            empty = False
            if unknown:  # skip the rest of this piece's ops, but keep decoding to find the pieces
                pos = _skip_op(expr, pos, op, address_size)
                continue
            try:
                pos = _exec_op(op, expr, pos, stack, address_size, mask, reg_value, need,
                               cfa, frame_base, read_mem, addrx)
            except _RegLoc as r:
                loc = ("reg", r.reg)
                pos = r.pos
            except _StackValue:
                loc = ("value", None)
            except _ImplicitValue as iv:
                loc = ("implicit", iv.data)
                pos = iv.pos
            except _Unknown as u:
                unknown = str(u) or "unknown value"
    except (IndexError, ValueError) as exc:
        return [*pieces, Piece(None, "unavailable", reason=f"malformed location expression: {exc}")]
    if not empty or not pieces:
        pieces.append(make_piece(None))
    return pieces


class _RegLoc(Exception):
    def __init__(self, reg: int, pos: int) -> None:
        self.reg = reg
        self.pos = pos


class _StackValue(Exception):
    pass


class _ImplicitValue(Exception):
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos


_CONST_OPS = {0x08: (1, False), 0x09: (1, True), 0x0A: (2, False), 0x0B: (2, True),
              0x0C: (4, False), 0x0D: (4, True), 0x0E: (8, False), 0x0F: (8, True)}


def _skip_op(expr: bytes, pos: int, op: int, address_size: int) -> int:
    """Position after the operands of ``op`` (whose opcode byte is just before ``pos``)."""
    if op == 0x03:
        return pos + address_size
    if op in _CONST_OPS:
        return pos + _CONST_OPS[op][0]
    if op in (0x10, 0x11, 0x23, 0x90, 0x91, 0xA1, 0xA2, 0xFB, 0xFC) or 0x70 <= op <= 0x8F:
        return uleb128(expr, pos)[1]
    if op == 0x92:  # bregx: reg, offset
        return uleb128(expr, uleb128(expr, pos)[1])[1]
    if op in (0x15, 0x94):
        return pos + 1
    if op in (0x28, 0x2F):
        return pos + 2
    if op == 0x9E:
        size, pos = uleb128(expr, pos)
        return pos + size
    return pos


def _signed(v: int, mask: int) -> int:
    v &= mask
    top = (mask + 1) >> 1
    return v - (mask + 1) if v & top else v


def _exec_op(op: int, expr: bytes, pos: int, stack: list[int], address_size: int, mask: int,
             reg_value: Callable[[int], int], need: Callable[[int | None, str], int],
             cfa: int | None, frame_base: int | None,
             read_mem: Callable[[int, int], bytes] | None,
             addrx: Callable[[int], int] | None) -> int:
    """Execute one operation; raises _RegLoc/_StackValue/_ImplicitValue for location kinds."""
    if op == 0x03:  # addr
        stack.append(_u(expr, pos, address_size))
        return pos + address_size
    if 0x30 <= op <= 0x4F:  # lit0..31
        stack.append(op - 0x30)
        return pos
    if 0x50 <= op <= 0x6F:  # reg0..31
        raise _RegLoc(op - 0x50, pos)
    if 0x70 <= op <= 0x8F:  # breg0..31
        off, pos = sleb128(expr, pos)
        stack.append((reg_value(op - 0x70) + off) & mask)
        return pos
    if op == 0x91:  # fbreg
        off, pos = sleb128(expr, pos)
        stack.append((need(frame_base, "frame base not known") + off) & mask)
        return pos
    if op == 0x9C:  # call_frame_cfa
        stack.append(need(cfa, "CFA not known"))
        return pos
    if op == 0x90:  # regx
        r, pos = uleb128(expr, pos)
        raise _RegLoc(r, pos)
    if op == 0x92:  # bregx
        r, pos = uleb128(expr, pos)
        off, pos = sleb128(expr, pos)
        stack.append((reg_value(r) + off) & mask)
        return pos
    if op in _CONST_OPS:
        size, signed = _CONST_OPS[op]
        v = int.from_bytes(expr[pos:pos + size], "little", signed=signed)
        if pos + size > len(expr):
            raise IndexError("truncated constant")
        stack.append(v & mask)
        return pos + size
    if op == 0x10:  # constu
        v, pos = uleb128(expr, pos)
        stack.append(v & mask)
        return pos
    if op == 0x11:  # consts
        v, pos = sleb128(expr, pos)
        stack.append(v & mask)
        return pos
    if op == 0x23:  # plus_uconst
        v, pos = uleb128(expr, pos)
        stack.append((stack.pop() + v) & mask)
        return pos
    if op in (0xA1, 0xFB, 0xA2, 0xFC):  # addrx, GNU_addr_index, constx, GNU_const_index
        idx, pos = uleb128(expr, pos)
        if addrx is None:
            raise _Unknown("DW_OP_addrx without .debug_addr")
        stack.append(addrx(idx))
        return pos
    if op == 0x06 or op == 0x94:  # deref, deref_size
        size = address_size
        if op == 0x94:
            size = expr[pos]
            pos += 1
        addr = stack.pop()
        if read_mem is None:
            raise _Unknown("memory not available to DW_OP_deref")
        try:
            data = read_mem(addr, size)
        except ExplorerError as exc:
            raise _Unknown(str(exc)) from exc
        if len(data) < size:
            raise _Unknown(f"cannot read {size} bytes at {addr:#x}")
        stack.append(int.from_bytes(data[:size], "little"))
        return pos
    if op == 0x9F:  # stack_value
        raise _StackValue()
    if op == 0x9E:  # implicit_value
        size, pos = uleb128(expr, pos)
        raise _ImplicitValue(bytes(expr[pos:pos + size]), pos + size)
    if op == 0x96:  # nop
        return pos
    if op == 0x12:  # dup
        stack.append(stack[-1])
    elif op == 0x13:  # drop
        stack.pop()
    elif op == 0x14:  # over
        stack.append(stack[-2])
    elif op == 0x15:  # pick
        stack.append(stack[-1 - expr[pos]])
        return pos + 1
    elif op == 0x16:  # swap
        stack[-1], stack[-2] = stack[-2], stack[-1]
    elif op == 0x17:  # rot
        stack[-1], stack[-2], stack[-3] = stack[-2], stack[-3], stack[-1]
    elif op == 0x19:  # abs
        stack.append(abs(_signed(stack.pop(), mask)) & mask)
    elif op == 0x1F:  # neg
        stack.append(-stack.pop() & mask)
    elif op == 0x20:  # not
        stack.append(~stack.pop() & mask)
    elif 0x1A <= op <= 0x27 or 0x29 <= op <= 0x2E:
        b, a = stack.pop(), stack.pop()
        stack.append(_binop(op, a, b, mask))
    elif op == 0x2F:  # skip
        off = int.from_bytes(expr[pos:pos + 2], "little", signed=True)
        return pos + 2 + off
    elif op == 0x28:  # bra
        off = int.from_bytes(expr[pos:pos + 2], "little", signed=True)
        return pos + 2 + (off if stack.pop() else 0)
    else:
        raise ValueError(f"unsupported DWARF operation {op:#x}")
    return pos


def _binop(op: int, a: int, b: int, mask: int) -> int:
    if op == 0x1A:
        return a & b
    if op == 0x1B:
        sb = _signed(b, mask)
        if sb == 0:
            raise ValueError("division by zero")
        return int(_signed(a, mask) / sb) & mask
    if op == 0x1C:
        return (a - b) & mask
    if op == 0x1D:
        if b == 0:
            raise ValueError("modulo by zero")
        return a % b
    if op == 0x1E:
        return (a * b) & mask
    if op == 0x21:
        return a | b
    if op == 0x22:
        return (a + b) & mask
    if op == 0x24:
        return (a << b) & mask if b < 128 else 0
    if op == 0x25:
        return a >> b
    if op == 0x26:
        return (_signed(a, mask) >> min(b, 127)) & mask
    if op == 0x27:
        return a ^ b
    sa, sb = _signed(a, mask), _signed(b, mask)
    return int({0x29: sa == sb, 0x2A: sa >= sb, 0x2B: sa > sb, 0x2C: sa <= sb, 0x2D: sa < sb,
                0x2E: sa != sb}[op])


# --- internal records -------------------------------------------------------------------------------

class _Die:
    """A decoded DIE: offset, tag, attributes (forms already resolved), children if read."""

    __slots__ = ("attrs", "children", "offset", "tag")

    def __init__(self, offset: int, tag: int, attrs: dict[int, Any], children: list[_Die]) -> None:
        self.offset = offset
        self.tag = tag
        self.attrs = attrs
        self.children = children


class _Index:
    """Direct children of one compile unit, by kind."""

    def __init__(self) -> None:
        self.types: dict[str, int] = {}
        self.runtime_types: dict[int, int] = {}  # DW_AT_go_runtime_type -> DIE offset
        self.variables: dict[str, tuple[int, dict[int, Any]]] = {}
        self.constants: dict[str, tuple[int, dict[int, Any]]] = {}
        self.abstract: dict[str, int] = {}
        # (low_pc, high_pc, die offset, name or None, abstract origin or None)
        self.functions: list[tuple[int, int, int, str | None, int | None]] = []
        self.function_starts: list[int] = []
        self.function_names: dict[str, int] | None = None  # built on first lookup by name


# --- the index --------------------------------------------------------------------------------------

class GoDwarf:
    """A lazy DWARF index over one Go executable (see the module docstring)."""

    def __init__(self, elf: ELFFile) -> None:
        """Index ``elf`` (its debug sections are read now: the file may be closed afterwards);
        raises :class:`NoDwarfError` when it has no ``.debug_info``."""
        self._raw = _raw_debug_sections(elf)
        info = _section_data(self._raw[".debug_info"]) if ".debug_info" in self._raw else b""
        if not info:
            raise NoDwarfError("the executable has no DWARF (built with -ldflags=-w or stripped)")
        if not elf.little_endian:
            raise BinaryFormatError("big-endian DWARF is not supported")
        self._info: bytes = info
        self._abbrev_tables: dict[int, dict[int, _Abbrev]] = {}
        self._scanners: dict[tuple[int, int, int, int], _Scanner] = {}
        self._indexes: dict[int, _Index] = {}
        self._types: dict[int, GoType] = {}
        self._subprograms: dict[int, Subprogram] = {}
        self._file_tables: dict[int, list[str] | None] = {}
        self._sections: dict[str, bytes] = {}

    @classmethod
    def from_elffile(cls, elf: ELFFile) -> GoDwarf | None:
        """The index of ``elf``, or None when it carries no DWARF."""
        try:
            return cls(elf)
        except NoDwarfError:
            return None

    # sections ------------------------------------------------------------------------------------

    def _section(self, name: str) -> bytes:
        data = self._sections.get(name)
        if data is None:
            raw = self._raw.get(name)
            data = _section_data(raw) if raw is not None else b""
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
                length = _u(data, pos, 4)
                pos += 4
                offset_size = 4
                if length == 0xFFFFFFFF:
                    length = _u(data, pos, 8)
                    pos += 8
                    offset_size = 8
                end = pos + length
                if length == 0 or end > len(data):
                    raise BinaryFormatError(f"bad .debug_info unit length at {start:#x}")
                version = _u(data, pos, 2)
                pos += 2
                unit_type = 1
                if version >= 5:
                    unit_type = data[pos]
                    addr_size = data[pos + 1]
                    abbrev_off = _u(data, pos + 2, offset_size)
                    pos += 2 + offset_size
                    if unit_type in (2, 6):  # type units: signature + type offset
                        pos += 8 + offset_size
                    elif unit_type in (4, 5):  # skeleton / split: dwo id
                        pos += 8
                elif version >= 2:
                    abbrev_off = _u(data, pos, offset_size)
                    addr_size = data[pos + offset_size]
                    pos += offset_size + 1
                else:
                    raise BinaryFormatError(f"unsupported DWARF version {version} at {start:#x}")
                cu = CompileUnit(start, version, unit_type, addr_size, offset_size, abbrev_off, pos, end)
                if unit_type in (1, 3, 4):
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
        cu.addr_base = raw.get(AT_addr_base, 0)
        cu.loclists_base = raw.get(AT_loclists_base, 0)
        cu.rnglists_base = raw.get(AT_rnglists_base, 0)
        cu.str_offsets_base = raw.get(AT_str_offsets_base, 0)
        attrs, pos = self._decode(cu, self._after_code(cu.die_offset), ab)
        cu.name = attrs.get(AT_name, "") or ""
        cu.producer = attrs.get(AT_producer, "") or ""
        cu.comp_dir = attrs.get(AT_comp_dir, "") or ""
        cu.package_name = attrs.get(AT_go_package_name, "") or ""
        cu.low_pc = attrs.get(AT_low_pc, 0) or 0
        cu.high_pc = attrs.get(AT_high_pc)
        cu.stmt_list = attrs.get(AT_stmt_list)
        cu.ranges_offset = attrs.get(AT_ranges)
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
    def _cus_by_name(self) -> dict[str, list[CompileUnit]]:
        out: dict[str, list[CompileUnit]] = {}
        for cu in self.compile_units:
            out.setdefault(cu.name, []).append(cu)
        return out

    def compile_units_named(self, name: str) -> list[CompileUnit]:
        """Units of package ``name`` (an import path such as ``net/http``): the Go linker writes
        one unit per object file, so a package with assembly files has several."""
        return list(self._cus_by_name.get(name, ()))

    def compile_unit(self, name: str) -> CompileUnit | None:
        """The main unit of package ``name``: of :meth:`compile_units_named`, the one with the most
        code (not the runtime unit that only holds the program's types)."""
        cus = self._cus_by_name.get(name)
        if not cus:
            return None
        text = self._text_sizes
        return max(cus, key=lambda cu: (text.get(cu.offset, 0), cu.end - cu.offset))

    @cached_property
    def _text_sizes(self) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for lo, hi, cu in self._cu_ranges[1]:
            sizes[cu.offset] = sizes.get(cu.offset, 0) + hi - lo
        return sizes

    @cached_property
    def producer(self) -> str:
        """``DW_AT_producer`` of the runtime unit (or the first unit that has one)."""
        rt = self.compile_unit("runtime")
        if rt is not None and rt.producer:
            return rt.producer
        return next((cu.producer for cu in self.compile_units if cu.producer), "")

    @property
    def go_version(self) -> str | None:
        """The Go release that compiled the program (``go1.24.11``), from the producer."""
        return _go_version_of(self.producer)

    @cached_property
    def dwarf_version(self) -> int:
        """Version of the first compile unit (4 up to Go 1.24, 5 from Go 1.25)."""
        units = self.compile_units
        return units[0].version if units else 0

    # DIE decoding --------------------------------------------------------------------------------

    def _abbrevs(self, cu: CompileUnit) -> dict[int, _Abbrev]:
        table = self._abbrev_tables.get(cu.abbrev_offset)
        if table is None:
            try:
                table = _parse_abbrevs(self._section(".debug_abbrev"), cu.abbrev_offset)
            except (IndexError, ValueError) as exc:
                raise BinaryFormatError(f"truncated .debug_abbrev: {exc}") from exc
            self._abbrev_tables[cu.abbrev_offset] = table
        return table

    def _scanner(self, cu: CompileUnit) -> _Scanner:
        key = (cu.abbrev_offset, cu.address_size, cu.offset_size, cu.version)
        scanner = self._scanners.get(key)
        if scanner is None:
            scanner = _Scanner(self._abbrevs(cu), cu.address_size, cu.offset_size, cu.version)
            self._scanners[key] = scanner
        return scanner

    def _decode(self, cu: CompileUnit, pos: int, ab: _Abbrev,
                resolve: bool = True) -> tuple[dict[int, Any], int]:
        """Decode the attributes of a DIE whose abbreviation code ends at ``pos``."""
        data = self._info
        attrs: dict[int, Any] = {}
        high_rel = False
        for at, form0, implicit in ab.attrs:
            form = form0
            while form == FORM_indirect:
                form, pos = uleb128(data, pos)
            v: Any
            if form == FORM_string:
                end = data.index(0, pos)
                v = data[pos:end].decode("utf-8", "replace")
                pos = end + 1
            elif form == FORM_udata:
                v, pos = uleb128(data, pos)
            elif form == FORM_ref_addr:
                size = cu.address_size if cu.version <= 2 else cu.offset_size
                v = int.from_bytes(data[pos:pos + size], "little")
                pos += size
            elif form == FORM_data1 or form == FORM_ref1 or form == FORM_flag:
                v = data[pos]
                pos += 1
                if form == FORM_ref1:
                    v += cu.offset
            elif form == FORM_addr:
                v = int.from_bytes(data[pos:pos + cu.address_size], "little")
                pos += cu.address_size
            elif form == FORM_block1:
                n = data[pos]
                v = data[pos + 1:pos + 1 + n]
                pos += 1 + n
            elif form == FORM_exprloc or form == FORM_block:
                n, pos = uleb128(data, pos)
                v = data[pos:pos + n]
                pos += n
            elif form == FORM_sdata:
                v, pos = sleb128(data, pos)
            elif form == FORM_sec_offset or form == FORM_strp or form == FORM_line_strp:
                v = int.from_bytes(data[pos:pos + cu.offset_size], "little")
                pos += cu.offset_size
                if form == FORM_strp:
                    v = self._string_at(".debug_str", v)
                elif form == FORM_line_strp:
                    v = self._string_at(".debug_line_str", v)
            elif form == FORM_flag_present:
                v = 1
            elif form == FORM_implicit_const:
                v = implicit
            elif form in (FORM_data2, FORM_data4, FORM_data8, FORM_ref2, FORM_ref4, FORM_ref8):
                size = {FORM_data2: 2, FORM_data4: 4, FORM_data8: 8, FORM_ref2: 2, FORM_ref4: 4,
                        FORM_ref8: 8}[form]
                v = int.from_bytes(data[pos:pos + size], "little")
                pos += size
                if form in (FORM_ref2, FORM_ref4, FORM_ref8):
                    v += cu.offset
            elif form == FORM_ref_udata:
                v, pos = uleb128(data, pos)
                v += cu.offset
            elif form in _FORMS_ADDRX or form in _FORMS_STRX:
                size = _FORMS_ADDRX.get(form, _FORMS_STRX.get(form, 0))
                if size:
                    idx = int.from_bytes(data[pos:pos + size], "little")
                    pos += size
                else:
                    idx, pos = uleb128(data, pos)
                if not resolve:
                    v = None
                elif form in _FORMS_ADDRX:
                    v = self._addr_index(cu, idx)
                else:
                    v = self._str_index(cu, idx)
            elif form == FORM_loclistx or form == FORM_rnglistx:
                idx, pos = uleb128(data, pos)
                base = cu.loclists_base if form == FORM_loclistx else cu.rnglists_base
                sec = ".debug_loclists" if form == FORM_loclistx else ".debug_rnglists"
                v = base + _u(self._section(sec), base + idx * cu.offset_size, cu.offset_size) \
                    if resolve else None
            elif form == FORM_block2 or form == FORM_block4:
                size = 2 if form == FORM_block2 else 4
                n = int.from_bytes(data[pos:pos + size], "little")
                pos += size
                v = data[pos:pos + n]
                pos += n
            elif form == FORM_data16:
                v = data[pos:pos + 16]
                pos += 16
            elif form in (FORM_ref_sig8, FORM_ref_sup8):
                v = None
                pos += 8
            elif form in (FORM_ref_sup4,):
                v = None
                pos += 4
            elif form in (FORM_strp_sup, FORM_GNU_ref_alt, FORM_GNU_strp_alt):
                v = None
                pos += cu.offset_size
            else:
                raise BinaryFormatError(f"unknown DWARF form {form:#x} in DIE at {pos:#x}")
            if at == AT_high_pc and form in _FORMS_CONST_CLASS:
                high_rel = True
            attrs[at] = v
        if pos > cu.end:
            raise BinaryFormatError(f"DIE attributes run past the end of unit {cu.offset:#x}")
        if high_rel and AT_low_pc in attrs and attrs[AT_low_pc] is not None:
            attrs[AT_high_pc] = attrs[AT_low_pc] + attrs[AT_high_pc]
        return attrs, pos

    def _string_at(self, section: str, offset: int) -> str:
        data = self._section(section)
        if offset >= len(data):
            raise BinaryFormatError(f"string offset {offset:#x} outside {section}")
        return _cstr(data, offset)[0]

    def _addr_index(self, cu: CompileUnit, idx: int) -> int:
        return _u(self._section(".debug_addr"), cu.addr_base + idx * cu.address_size, cu.address_size)

    def _str_index(self, cu: CompileUnit, idx: int) -> str:
        off = _u(self._section(".debug_str_offsets"), cu.str_offsets_base + idx * cu.offset_size,
                 cu.offset_size)
        return self._string_at(".debug_str", off)

    def _read_die(self, offset: int, *, children: bool = False,
                  cu: CompileUnit | None = None) -> _Die:
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
                     depth: int) -> tuple[_Die | None, int]:
        if depth > _MAX_DEPTH:
            raise BinaryFormatError(f"DIEs nested too deep at {offset:#x}")
        code, pos = uleb128(self._info, offset)
        if code == 0:
            return None, pos
        ab = self._abbrevs(cu).get(code)
        if ab is None:
            raise BinaryFormatError(f"unknown abbreviation {code} at {offset:#x}")
        attrs, pos = self._decode(cu, pos, ab)
        die = _Die(offset, ab.tag, attrs, [])
        if children and ab.has_children:
            while pos < cu.end:
                child, pos = self._read_die_at(cu, pos, True, depth + 1)
                if child is None:
                    break
                die.children.append(child)
        elif ab.has_children:
            pass  # caller does not walk past this DIE
        return die, pos

    # per-unit index of direct children -------------------------------------------------------------

    def _index(self, cu: CompileUnit) -> _Index:
        idx = self._indexes.get(cu.offset)
        if idx is None:
            try:
                idx = self._build_index(cu)
            except (IndexError, ValueError) as exc:
                raise BinaryFormatError(f"truncated DIEs in unit {cu.name!r}: {exc}") from exc
            idx = self._indexes.setdefault(cu.offset, idx)
        return idx

    def _build_index(self, cu: CompileUnit) -> _Index:
        """Decode the unit's direct children; skip their descendants with precomputed plans."""
        idx = _Index()
        if cu.first_child is None:
            return idx
        data = self._info
        abbrevs = self._abbrevs(cu)
        scanner = self._scanner(cu)
        plans, skip_re, type_res = scanner.plans, scanner.skip_re, scanner.type_res
        rt_forms = scanner.rt_forms
        end = cu.end
        pos = cu.first_child
        depth = 1
        decode = self._decode
        types, rtypes = idx.types, idx.runtime_types
        type_tags: dict[str, int] = {}

        def note_type(name: str | None, tag: int, offset: int, rt: int | None) -> None:
            if name:
                prev_tag = type_tags.get(name)
                # A named Go type has a typedef and a definition under one name: keep the
                # definition, which carries the kind, size and fields.
                if prev_tag is None or (prev_tag == TAG_typedef and tag != TAG_typedef):
                    types[name] = offset
                    type_tags[name] = tag
            if rt and rt not in rtypes:
                rtypes[rt] = offset

        # Fast path for the runs of type DIEs that make up most of the runtime unit: one regular
        # expression match per type (with its members), keyed by a one-byte abbreviation code.
        fast = {code: (tre, abbrevs[code].tag, rt_forms.get(code, 0))
                for code, (tre, _subtree) in type_res.items() if code < 0x80}
        while pos < end:
            if depth == 1:
                while True:
                    entry = fast.get(data[pos])
                    if entry is None:
                        break
                    tre, tag, rt_form = entry
                    m = tre.match(data, pos + 1, end)
                    if m is None:
                        break
                    raw_name, raw_rt = m.group("n", "r")
                    if raw_name:  # (note_type inlined: this loop runs once per type)
                        name = raw_name.decode("utf-8", "replace")
                        prev_tag = type_tags.get(name)
                        if prev_tag is None or (prev_tag == TAG_typedef and tag != TAG_typedef):
                            types[name] = pos
                            type_tags[name] = tag
                    if raw_rt and rt_form != FORM_addrx:
                        rt = uleb128(raw_rt, 0)[0] if rt_form == FORM_udata \
                            else int.from_bytes(raw_rt, "little")
                        if rt and rt not in rtypes:
                            rtypes[rt] = pos
                    elif raw_rt:
                        break  # let the general path below resolve the index
                    pos = m.end()
                    if pos >= end:
                        break
                if pos >= end:
                    break
            elif skip_re is not None:
                m = skip_re.match(data, pos, end)
                if m is not None:
                    pos = m.end()
                    if pos >= end:
                        break
            start = pos
            code = data[pos]
            pos += 1
            if code >= 0x80:
                code, pos = uleb128(data, start)
            if code == 0:
                depth -= 1
                if depth == 0:
                    break
                continue
            ab = abbrevs.get(code)
            if ab is None:
                raise BinaryFormatError(f"unknown abbreviation {code} at {start:#x}")
            m = None
            if depth == 1 and code in type_res:
                tre, subtree = type_res[code]
                m = tre.match(data, pos, end)
            if m is not None:
                pos = m.end()
                if subtree:
                    depth -= 1  # the children and their null were read too (+1 again below)
                raw_name, raw_rt = m.group("n", "r")
                rtype: int | None = None
                if raw_rt:
                    rt_form = rt_forms[code]
                    rtype = uleb128(raw_rt, 0)[0] if rt_form in (FORM_udata, FORM_addrx) \
                        else int.from_bytes(raw_rt, "little")
                    if rt_form == FORM_addrx:
                        rtype = self._addr_index(cu, rtype)
                note_type(raw_name.decode("utf-8", "replace"), ab.tag, start, rtype)
            elif depth == 1:
                attrs, pos = decode(cu, pos, ab)
                tag = ab.tag
                name = attrs.get(AT_name)
                if tag in _TYPE_TAGS:
                    rtv = attrs.get(AT_go_runtime_type)
                    note_type(name, tag, start, rtv if isinstance(rtv, int) else None)
                elif tag == TAG_subprogram:
                    lo = attrs.get(AT_low_pc)
                    if lo is not None and AT_high_pc in attrs:
                        idx.functions.append((lo, attrs[AT_high_pc], start, name,
                                              attrs.get(AT_abstract_origin)))
                    elif AT_ranges in attrs:
                        for rlo, rhi in self._ranges(cu, attrs[AT_ranges]):
                            idx.functions.append((rlo, rhi, start, name, attrs.get(AT_abstract_origin)))
                    elif name is not None:
                        idx.abstract.setdefault(name, start)
                elif tag == TAG_variable and name is not None:
                    idx.variables.setdefault(name, (start, attrs))
                elif tag == TAG_constant and name is not None:
                    idx.constants.setdefault(name, (start, attrs))
            else:
                for op in plans[code]:
                    if op > 0:
                        pos += op
                    elif op == _SK_STR:
                        pos = data.index(0, pos) + 1
                    elif op == _SK_ULEB:
                        while data[pos] & 0x80:
                            pos += 1
                        pos += 1
                    elif op == _SK_B1:
                        pos += data[pos] + 1
                    elif op == _SK_BU:
                        n, pos = uleb128(data, pos)
                        pos += n
                    elif op == _SK_B2:
                        pos += 2 + int.from_bytes(data[pos:pos + 2], "little")
                    elif op == _SK_B4:
                        pos += 4 + int.from_bytes(data[pos:pos + 4], "little")
                    else:  # indirect forms are rare: decode this DIE the slow way
                        _, pos = decode(cu, self._after_code(start), ab)
                        break
            if ab.has_children:
                depth += 1
        idx.functions.sort()
        idx.function_starts = [f[0] for f in idx.functions]
        return idx

    def _units_for_symbol(self, name: str) -> list[CompileUnit]:
        """Units of the package that symbol ``name`` (``net/http.(*Server).Serve``) belongs to."""
        cut = len(name)
        for ch in "[( ":
            i = name.find(ch)
            if i >= 0:
                cut = min(cut, i)
        slash = name.rfind("/", 0, cut)
        by_name = self._cus_by_name
        dot = name.rfind(".", slash + 1, cut)
        while dot > slash:
            cus = by_name.get(name[:dot])
            if cus:
                return cus
            dot = name.rfind(".", slash + 1, dot)
        return []

    # types ---------------------------------------------------------------------------------------

    @cached_property
    def _type_units(self) -> list[CompileUnit]:
        """Where the linker put the types: the runtime unit(s); every unit if there is none."""
        rt = self._cus_by_name.get("runtime")
        return list(rt) if rt else list(self.compile_units)

    def type_by_name(self, name: str) -> GoType | None:
        """The type Go calls ``name`` (``runtime.g``, ``*main.Request``, ``map[string]int``)."""
        for cu in self._type_units:
            off = self._index(cu).types.get(name)
            if off is not None:
                return self.type_by_offset(off)
        return None

    def type_names(self) -> list[str]:
        """Names of every type (reads the runtime unit's index)."""
        names: set[str] = set()
        for cu in self._type_units:
            names.update(self._index(cu).types)
        return sorted(names)

    @cached_property
    def _runtime_type_map(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for cu in self._type_units:
            for rt, off in self._index(cu).runtime_types.items():
                out.setdefault(rt, off)
        return out

    def type_by_runtime_type(self, runtime_type: int) -> GoType | None:
        """The type whose ``DW_AT_go_runtime_type`` is ``runtime_type`` (descriptor - runtime.types)."""
        off = self._runtime_type_map.get(runtime_type)
        return self.type_by_offset(off) if off is not None else None

    def type_by_offset(self, offset: int) -> GoType:
        """The type whose DIE is at ``offset`` (typedefs named like their target fold into it)."""
        t = self._types.get(offset)
        if t is None:
            # setdefault: when threads race, every caller gets the same object (types compare by
            # identity).
            t = self._types.setdefault(offset, self._make_type(offset, 0))
        return t

    def _make_type(self, offset: int, depth: int) -> GoType:
        if depth > _MAX_DEPTH:
            raise BinaryFormatError(f"typedef chain too long at DIE {offset:#x}")
        die = self._read_die(offset)
        a = die.attrs
        name: str = a.get(AT_name) or ""
        tag = die.tag
        go_kind = a.get(AT_go_kind)
        type_ref = a.get(AT_type)
        if tag == TAG_typedef and go_kind is None and type_ref is not None:
            target = self._read_die(type_ref)
            if target.attrs.get(AT_name) == name and type_ref != offset:
                t = self._types.get(type_ref)
                if t is None:
                    t = self._types.setdefault(type_ref, self._make_type(type_ref, depth + 1))
                return t
        kind: TypeKind
        if go_kind is not None and go_kind in _GO_KINDS:
            kind = _GO_KINDS[go_kind]  # type: ignore[assignment]
        elif tag == TAG_base_type:
            kind = _ENCODINGS.get(a.get(AT_encoding, 0), "other")  # type: ignore[assignment]
        else:
            kind = {TAG_structure_type: "struct", TAG_array_type: "array",
                    TAG_subroutine_type: "func", TAG_typedef: "typedef",
                    TAG_unspecified_type: "unspecified"}.get(tag, "other")  # type: ignore[assignment]
            if tag == TAG_pointer_type:
                kind = "ptr" if type_ref is not None else "unsafe.Pointer"
        size = a.get(AT_byte_size)
        cu = self.cu_at_offset(offset)
        if kind == "iface" and type_ref is not None:
            target = self._read_die(type_ref)
            if target.attrs.get(AT_name) == "runtime.eface":
                kind = "eface"
        if size is None:
            if kind in ("ptr", "unsafe.Pointer", "map", "chan", "func"):
                size = cu.address_size
            elif tag == TAG_typedef and type_ref is not None and type_ref != offset:
                size = self._make_type(type_ref, depth + 1).size if type_ref not in self._types \
                    else self._types[type_ref].size
        return GoType(
            name=name, kind=kind, size=size, offset=offset, tag=tag, go_kind=go_kind,
            # 0 is the runtime's nil typeOff: the linker writes it for unreachable descriptors.
            runtime_type=a.get(AT_go_runtime_type) or None, dict_index=a.get(AT_go_dict_index), _dw=self,
            _type_ref=type_ref, _elem_ref=a.get(AT_go_elem), _key_ref=a.get(AT_go_key),
        )

    def _struct_fields(self, t: GoType) -> tuple[Field, ...]:
        die = self._read_die(t.offset, children=True)
        out: list[Field] = []
        for child in die.children:
            if child.tag != TAG_member:
                continue
            loc = child.attrs.get(AT_data_member_location, 0)
            if isinstance(loc, bytes | bytearray | memoryview):
                loc = _member_offset_expr(bytes(loc))
            ref = child.attrs.get(AT_type)
            out.append(Field(
                name=child.attrs.get(AT_name) or "",
                offset=int(loc),
                type=self.type_by_offset(ref) if ref is not None else None,
                embedded=bool(child.attrs.get(AT_go_embedded_field)),
            ))
        return tuple(out)

    def _array_count(self, t: GoType) -> int | None:
        die = self._read_die(t.offset, children=True)
        for child in die.children:
            if child.tag == TAG_subrange_type:
                if AT_count in child.attrs:
                    return int(child.attrs[AT_count])
                if AT_upper_bound in child.attrs:
                    return int(child.attrs[AT_upper_bound]) + 1
        return None

    def struct_size(self, name: str) -> int:
        """Byte size of type ``name``; raises :class:`DwarfLookupError` if it is not there."""
        t = self.type_by_name(name)
        if t is None or t.size is None:
            raise DwarfLookupError(f"type {name} is not in the executable's DWARF")
        return t.size

    def field_offset(self, type_name: str, path: str) -> int:
        """Offset of ``path`` (``atomicstatus.value``: nested struct fields) within ``type_name``."""
        t = self.type_by_name(type_name)
        if t is None:
            raise DwarfLookupError(f"type {type_name} is not in the executable's DWARF")
        return self.field_path(t, path)[0]

    def field_path(self, t: GoType, path: str) -> tuple[int, GoType | None]:
        """(offset, type) of the dotted field path ``path`` within ``t`` (no pointers followed)."""
        offset = 0
        cur: GoType | None = t
        walked: list[str] = []
        for part in path.split("."):
            if cur is None:
                raise DwarfLookupError(f"{t.name}.{'.'.join(walked)} has no type")
            base = cur.strip_typedefs()
            f = base.field(part)
            if f is None:
                names = ", ".join(x.name for x in base.fields) or "none"
                where = ".".join([t.name, *walked])
                raise DwarfLookupError(f"type {where} ({base.name}) has no field {part!r} "
                                       f"(fields: {names})")
            offset += f.offset
            cur = f.type
            walked.append(part)
        return offset, cur

    # constants and globals -----------------------------------------------------------------------

    def constant(self, name: str) -> int | None:
        """Value of the package constant ``name`` (``runtime._Gwaiting``), or None."""
        for cu in self._units_for_symbol(name):
            entry = self._index(cu).constants.get(name)
            if entry is not None:
                return self._const_value(entry[1])
        return None

    def constants_with_prefix(self, prefix: str) -> dict[str, int]:
        """Every constant whose name starts with ``prefix`` (``runtime.waitReason``)."""
        out: dict[str, int] = {}
        units = self._units_for_symbol(prefix) or self._units_for_symbol(prefix + "x")
        for cu in units:
            for name, (_off, attrs) in self._index(cu).constants.items():
                if name.startswith(prefix):
                    v = self._const_value(attrs)
                    if v is not None:
                        out[name] = v
        return out

    def _const_value(self, attrs: dict[int, Any]) -> int | None:
        v = attrs.get(AT_const_value)
        if not isinstance(v, int):
            return None
        ref = attrs.get(AT_type)
        if ref is not None:
            t = self.type_by_offset(ref).strip_typedefs()
            if t.kind == "uint" and t.size:
                v &= (1 << (8 * t.size)) - 1
        return v

    def global_var(self, name: str) -> GlobalVar | None:
        """Address and type of the package-level variable ``name`` (``runtime.allgs``)."""
        for cu in self._units_for_symbol(name):
            entry = self._index(cu).variables.get(name)
            if entry is not None:
                return self._global(cu, entry[1])
        return None

    def globals_of(self, package: str) -> dict[str, GlobalVar]:
        """Every package-level variable of ``package`` (an import path), by full name."""
        out: dict[str, GlobalVar] = {}
        for cu in self._cus_by_name.get(package, []):
            for name, (_off, attrs) in self._index(cu).variables.items():
                g = self._global(cu, attrs)
                if g is not None:
                    out[name] = g
        return out

    def _global(self, cu: CompileUnit, attrs: dict[int, Any]) -> GlobalVar | None:
        loc = attrs.get(AT_location)
        if not isinstance(loc, bytes):
            return None
        pieces = self.eval_location(loc, cu=cu)
        if len(pieces) != 1 or pieces[0].kind != "memory" or pieces[0].address is None:
            return None
        ref = attrs.get(AT_type)
        return GlobalVar(pieces[0].address, self.type_by_offset(ref) if ref is not None else None)

    def eval_location(self, expr: bytes, *, cu: CompileUnit | None = None, cfa: int | None = None,
                      regs: Mapping[int, int] | None = None, frame_base: int | None = None,
                      read_mem: Callable[[int, int], bytes] | None = None) -> list[Piece]:
        """:func:`eval_location` with ``DW_OP_addrx`` resolved through ``cu``'s ``.debug_addr``."""
        addrx = (lambda i: self._addr_index(cu, i)) if cu is not None else None
        size = cu.address_size if cu is not None else 8
        return eval_location(expr, cfa=cfa, regs=regs, frame_base=frame_base, read_mem=read_mem,
                             addrx=addrx, address_size=size)

    # ranges and location lists -------------------------------------------------------------------

    def _ranges(self, cu: CompileUnit, offset: int) -> list[tuple[int, int]]:
        try:
            if cu.version >= 5:
                return self._rnglist(cu, offset)
            return self._ranges_v4(cu, offset)
        except (IndexError, ValueError) as exc:
            raise BinaryFormatError(f"truncated range list at {offset:#x}: {exc}") from exc

    def _ranges_v4(self, cu: CompileUnit, offset: int) -> list[tuple[int, int]]:
        data = self._section(".debug_ranges")
        size = cu.address_size
        top = (1 << (8 * size)) - 1
        base = cu.low_pc
        out: list[tuple[int, int]] = []
        pos = offset
        while True:
            lo, hi = _u(data, pos, size), _u(data, pos + size, size)
            pos += 2 * size
            if lo == 0 and hi == 0:
                return out
            if lo == top:
                base = hi
            elif hi > lo:
                out.append((base + lo, base + hi))

    def _rnglist(self, cu: CompileUnit, offset: int) -> list[tuple[int, int]]:
        data = self._section(".debug_rnglists")
        size = cu.address_size
        base = cu.low_pc
        out: list[tuple[int, int]] = []
        pos = offset
        while True:
            kind = data[pos]
            pos += 1
            if kind == 0:  # end_of_list
                return out
            if kind == 1:  # base_addressx
                i, pos = uleb128(data, pos)
                base = self._addr_index(cu, i)
            elif kind == 2:  # startx_endx
                a, pos = uleb128(data, pos)
                b, pos = uleb128(data, pos)
                out.append((self._addr_index(cu, a), self._addr_index(cu, b)))
            elif kind == 3:  # startx_length
                a, pos = uleb128(data, pos)
                n, pos = uleb128(data, pos)
                lo = self._addr_index(cu, a)
                out.append((lo, lo + n))
            elif kind == 4:  # offset_pair
                a, pos = uleb128(data, pos)
                b, pos = uleb128(data, pos)
                out.append((base + a, base + b))
            elif kind == 5:  # base_address
                base = _u(data, pos, size)
                pos += size
            elif kind == 6:  # start_end
                out.append((_u(data, pos, size), _u(data, pos + size, size)))
                pos += 2 * size
            elif kind == 7:  # start_length
                lo = _u(data, pos, size)
                n, pos = uleb128(data, pos + size)
                out.append((lo, lo + n))
            else:
                raise BinaryFormatError(f"unknown range list entry {kind} at {pos - 1:#x}")

    def _loclist(self, cu: CompileUnit, offset: int) -> tuple[LocationEntry, ...]:
        try:
            if cu.version >= 5:
                return self._loclist_v5(cu, offset)
            return self._loclist_v4(cu, offset)
        except (IndexError, ValueError) as exc:
            raise BinaryFormatError(f"truncated location list at {offset:#x}: {exc}") from exc

    def _loclist_v4(self, cu: CompileUnit, offset: int) -> tuple[LocationEntry, ...]:
        data = self._section(".debug_loc")
        size = cu.address_size
        top = (1 << (8 * size)) - 1
        base = cu.low_pc
        out: list[LocationEntry] = []
        pos = offset
        while True:
            lo, hi = _u(data, pos, size), _u(data, pos + size, size)
            pos += 2 * size
            if lo == 0 and hi == 0:
                return tuple(out)
            if lo == top:
                base = hi
                continue
            n = _u(data, pos, 2)
            expr = data[pos + 2:pos + 2 + n]
            pos += 2 + n
            if hi > lo:
                out.append(LocationEntry(base + lo, base + hi, expr))

    def _loclist_v5(self, cu: CompileUnit, offset: int) -> tuple[LocationEntry, ...]:
        data = self._section(".debug_loclists")
        size = cu.address_size
        base = cu.low_pc
        out: list[LocationEntry] = []
        pos = offset
        while True:
            kind = data[pos]
            pos += 1
            if kind == 0:  # end_of_list
                return tuple(out)
            if kind == 1:  # base_addressx
                i, pos = uleb128(data, pos)
                base = self._addr_index(cu, i)
                continue
            if kind == 6:  # base_address
                base = _u(data, pos, size)
                pos += size
                continue
            if kind == 2:  # startx_endx
                a, pos = uleb128(data, pos)
                b, pos = uleb128(data, pos)
                lo, hi = self._addr_index(cu, a), self._addr_index(cu, b)
            elif kind == 3:  # startx_length
                a, pos = uleb128(data, pos)
                n, pos = uleb128(data, pos)
                lo = self._addr_index(cu, a)
                hi = lo + n
            elif kind == 4:  # offset_pair
                a, pos = uleb128(data, pos)
                b, pos = uleb128(data, pos)
                lo, hi = base + a, base + b
            elif kind == 5:  # default_location
                lo, hi = 0, (1 << (8 * size)) - 1
            elif kind == 7:  # start_end
                lo, hi = _u(data, pos, size), _u(data, pos + size, size)
                pos += 2 * size
            elif kind == 8:  # start_length
                lo = _u(data, pos, size)
                n, pos = uleb128(data, pos + size)
                hi = lo + n
            else:
                raise BinaryFormatError(f"unknown location list entry {kind} at {pos - 1:#x}")
            n, pos = uleb128(data, pos)
            expr = data[pos:pos + n]
            pos += n
            if hi > lo:
                out.append(LocationEntry(lo, hi, expr))

    # functions -----------------------------------------------------------------------------------

    @cached_property
    def _cu_ranges(self) -> tuple[list[int], list[tuple[int, int, CompileUnit]]]:
        spans: list[tuple[int, int, CompileUnit]] = []
        for cu in self.compile_units:
            if cu.ranges_offset is not None:
                spans.extend((lo, hi, cu) for lo, hi in self._ranges(cu, cu.ranges_offset))
            elif cu.high_pc is not None and cu.high_pc > cu.low_pc:
                spans.append((cu.low_pc, cu.high_pc, cu))
        spans.sort(key=lambda s: (s[0], s[1]))
        return [s[0] for s in spans], spans

    def cu_for_pc(self, pc: int) -> CompileUnit | None:
        """The unit whose address ranges hold ``pc``."""
        starts, spans = self._cu_ranges
        i = bisect.bisect_right(starts, pc) - 1
        while i >= 0:
            lo, hi, cu = spans[i]
            if lo <= pc < hi:
                return cu
            if i > 0 and spans[i - 1][1] > pc:  # overlapping spans are rare; look back once more
                i -= 1
                continue
            return None
        return None

    def function_at(self, pc: int) -> Subprogram | None:
        """The concrete function whose pc range holds ``pc``."""
        cu = self.cu_for_pc(pc)
        if cu is None:
            return None
        idx = self._index(cu)
        i = bisect.bisect_right(idx.function_starts, pc) - 1
        while i >= 0:
            lo, hi, off, _name, _origin = idx.functions[i]
            if lo <= pc < hi:
                return self._subprogram(cu, off)
            i -= 1
            if i >= 0 and idx.functions[i][1] <= pc:
                break
        return None

    def function_by_name(self, name: str) -> Subprogram | None:
        """The concrete (out-of-line) function called ``name``, or None."""
        for cu in self._units_for_symbol(name):
            idx = self._index(cu)
            if idx.function_names is None:
                names: dict[str, int] = {}
                for _lo, _hi, off, fname, origin in idx.functions:
                    if fname is None and origin is not None:
                        fname = self._read_die(origin).attrs.get(AT_name)
                    if fname:
                        names.setdefault(fname, off)
                idx.function_names = names
            found = idx.function_names.get(name)
            if found is not None:
                return self._subprogram(cu, found)
        return None

    def functions_of(self, package: str) -> list[tuple[str, int, int]]:
        """(name, low_pc, high_pc) of every concrete function of ``package``."""
        out = []
        for cu in self._cus_by_name.get(package, []):
            for lo, hi, _off, name, origin in self._index(cu).functions:
                if name is None and origin is not None:
                    name = self._read_die(origin).attrs.get(AT_name)
                out.append((name or "?", lo, hi))
        return out

    def frames_at(self, pc: int) -> list[LogicalFrame]:
        """Logical frames at ``pc`` (inlined calls first, the function last)."""
        fn = self.function_at(pc)
        return fn.frames_at(pc) if fn is not None else []

    def variables_at(self, pc: int) -> list[Variable]:
        """Variables in scope at ``pc`` in the innermost logical frame (an inlined call if any)."""
        frames = self.frames_at(pc)
        return frames[0].variables if frames else []

    def _subprogram(self, cu: CompileUnit, offset: int) -> Subprogram:
        sp = self._subprograms.get(offset)
        if sp is None:
            sp = self._subprograms.setdefault(offset, self._build_subprogram(cu, offset))
        return sp

    def _build_subprogram(self, cu: CompileUnit, offset: int) -> Subprogram:
        die = self._read_die(offset, children=True, cu=cu)
        a = die.attrs
        origin_die = self._read_die(a[AT_abstract_origin], children=True) \
            if a.get(AT_abstract_origin) is not None else None
        oa = origin_die.attrs if origin_die is not None else {}
        name = a.get(AT_name) or oa.get(AT_name) or "?"
        low = a.get(AT_low_pc) or 0
        high = a.get(AT_high_pc) or low
        ranges: tuple[tuple[int, int], ...] = ((low, high),)
        if AT_ranges in a:
            ranges = tuple(self._ranges(cu, a[AT_ranges]))
            if ranges:
                low, high = min(r[0] for r in ranges), max(r[1] for r in ranges)
        variables: list[Variable] = []
        inlined: list[InlinedCall] = []
        self._collect_scope(cu, die, ranges, variables, inlined, 0)
        if origin_die is not None:
            self._add_missing_origin_vars(origin_die, variables, ranges)
        decl_file = a.get(AT_decl_file, oa.get(AT_decl_file))
        return Subprogram(
            name=name, offset=offset, low_pc=low, high_pc=high, frame_base=a.get(AT_frame_base),
            decl_file=self.file_name(cu, decl_file) if decl_file is not None else None,
            decl_line=a.get(AT_decl_line, oa.get(AT_decl_line)), cu=cu, variables=variables,
            inlined=inlined, external=bool(a.get(AT_external, oa.get(AT_external))),
            trampoline=bool(a.get(AT_trampoline)),
        )

    def _collect_scope(self, cu: CompileUnit, die: _Die, scope: tuple[tuple[int, int], ...],
                       variables: list[Variable], inlined: list[InlinedCall], depth: int) -> None:
        """Variables of ``die``'s body (lexical blocks flattened) and its inlined calls."""
        if depth > _MAX_DEPTH:
            raise BinaryFormatError(f"lexical blocks nested too deep at {die.offset:#x}")
        for child in die.children:
            tag = child.tag
            if tag == TAG_formal_parameter or tag == TAG_variable:
                variables.append(self._variable(cu, child, scope))
            elif tag == TAG_lexical_block:
                self._collect_scope(cu, child, self._die_ranges(cu, child) or scope, variables,
                                    inlined, depth + 1)
            elif tag == TAG_inlined_subroutine:
                inlined.append(self._inlined_call(cu, child, depth + 1))

    def _die_ranges(self, cu: CompileUnit, die: _Die) -> tuple[tuple[int, int], ...]:
        a = die.attrs
        if AT_ranges in a and a[AT_ranges] is not None:
            return tuple(self._ranges(cu, a[AT_ranges]))
        lo = a.get(AT_low_pc)
        hi = a.get(AT_high_pc)
        if lo is not None and hi is not None and hi > lo:
            return ((lo, hi),)
        return ()

    def _inlined_call(self, cu: CompileUnit, die: _Die, depth: int) -> InlinedCall:
        a = die.attrs
        origin_off = a.get(AT_abstract_origin)
        origin = self._read_die(origin_off, children=True) if origin_off is not None else None
        name = (origin.attrs.get(AT_name) if origin is not None else None) or a.get(AT_name) or "?"
        ranges = self._die_ranges(cu, die)
        variables: list[Variable] = []
        children: list[InlinedCall] = []
        self._collect_scope(cu, die, ranges, variables, children, depth)
        if origin is not None:
            self._add_missing_origin_vars(origin, variables, ranges)
        call_file = a.get(AT_call_file)
        return InlinedCall(
            name=name, origin_offset=origin_off or 0,
            call_file=self.file_name(cu, call_file) if call_file is not None else None,
            call_line=a.get(AT_call_line), ranges=ranges, variables=variables, children=children,
            offset=die.offset,
        )

    def _add_missing_origin_vars(self, origin: _Die, variables: list[Variable],
                                 scope: tuple[tuple[int, int], ...]) -> None:
        """Parameters the abstract function declares but the concrete copy dropped: optimized out."""
        have = {v.offset for v in variables} | {v.name for v in variables}
        for child in origin.children:
            if child.tag != TAG_formal_parameter:
                continue
            if child.offset in have or child.attrs.get(AT_name) in have:
                continue
            v = self._variable(self.cu_at_offset(child.offset), child, scope)
            v.location = None
            v.location_list = None
            variables.append(v)

    def _variable(self, cu: CompileUnit, die: _Die, scope: tuple[tuple[int, int], ...]) -> Variable:
        a = die.attrs
        merged = a
        origin_off = a.get(AT_abstract_origin)
        if origin_off is not None:
            origin = self._read_die(origin_off)
            merged = {**origin.attrs, **a}
        loc = a.get(AT_location)
        location: bytes | None = None
        loclist: tuple[LocationEntry, ...] | None = None
        if isinstance(loc, bytes):
            location = loc or None  # an empty expression: optimized out
        elif isinstance(loc, int):
            loclist = self._loclist(cu, loc)
        ref = merged.get(AT_type)
        return Variable(
            name=merged.get(AT_name) or "",
            kind="arg" if die.tag == TAG_formal_parameter else "local",
            type=self.type_by_offset(ref) if ref is not None else None,
            is_return_param=bool(merged.get(AT_variable_parameter)),
            decl_line=merged.get(AT_decl_line),
            location=location,
            location_list=loclist,
            scope=scope,
            closure_offset=merged.get(AT_go_closure_offset),
            offset=origin_off if origin_off is not None else die.offset,
        )

    # line tables: only their file names -------------------------------------------------------

    def file_name(self, cu: CompileUnit, index: int) -> str | None:
        """File ``index`` of ``cu``'s line table (as ``DW_AT_decl_file``/``call_file`` use it)."""
        files = self._file_table(cu)
        if files is None or not 0 <= index < len(files):
            return None
        return files[index] or None

    def _file_table(self, cu: CompileUnit) -> list[str] | None:
        if cu.offset in self._file_tables:
            return self._file_tables[cu.offset]
        files = None
        if cu.stmt_list is not None:
            try:
                files = self._parse_file_table(cu, cu.stmt_list)
            except (IndexError, ValueError) as exc:
                raise BinaryFormatError(f"truncated line table of unit {cu.name!r}: {exc}") from exc
        self._file_tables[cu.offset] = files
        return files

    def _parse_file_table(self, cu: CompileUnit, offset: int) -> list[str]:
        """The file names of the ``.debug_line`` program at ``offset`` (header versions 2-5);
        the line-number program itself is not decoded (the pclntab maps pcs to lines)."""
        data = self._section(".debug_line")
        pos = offset
        unit_length = _u(data, pos, 4)
        pos += 4
        offset_size = 4
        if unit_length == 0xFFFFFFFF:
            unit_length = _u(data, pos, 8)
            pos += 8
            offset_size = 8
        end = pos + unit_length
        if end > len(data):
            raise BinaryFormatError(f"line table at {offset:#x} runs past .debug_line")
        version = _u(data, pos, 2)
        pos += 2
        if version >= 5:
            pos += 2  # address_size, segment_selector_size
        pos += offset_size  # header_length
        pos += 1  # minimum_instruction_length
        if version >= 4:
            pos += 1  # maximum_operations_per_instruction
        opcode_base = data[pos + 3]  # after default_is_stmt, line_base, line_range
        pos += 4 + opcode_base - 1  # and standard_opcode_lengths
        dirs: list[str] = []
        files: list[str] = []
        if version >= 5:
            dirs_raw, pos = self._entry_table(cu, data, pos, offset_size)
            dirs = [d.get(1, "") for d in dirs_raw]  # DW_LNCT_path
            files_raw, pos = self._entry_table(cu, data, pos, offset_size)
            for f in files_raw:
                files.append(_join_path(dirs, f.get(1, ""), f.get(2, 0)))
        else:
            dirs = [cu.comp_dir]
            while data[pos] != 0:
                d, pos = _cstr(data, pos)
                dirs.append(d)
            pos += 1
            files = [""]  # file numbers start at 1 before DWARF 5
            while data[pos] != 0:
                name, pos = _cstr(data, pos)
                di, pos = uleb128(data, pos)
                _, pos = uleb128(data, pos)
                _, pos = uleb128(data, pos)
                files.append(_join_path(dirs, name, di))
        return files

    def _entry_table(self, cu: CompileUnit, data: bytes, pos: int,
                     offset_size: int) -> tuple[list[dict[int, Any]], int]:
        """A DWARF 5 directory or file-name table: entry format, count, entries."""
        nformats = data[pos]
        pos += 1
        formats = []
        for _ in range(nformats):
            ct, pos = uleb128(data, pos)
            form, pos = uleb128(data, pos)
            formats.append((ct, form))
        count, pos = uleb128(data, pos)
        entries = []
        for _ in range(count):
            entry: dict[int, Any] = {}
            for ct, form in formats:
                v: Any
                if form == FORM_string:
                    v, pos = _cstr(data, pos)
                elif form in (FORM_line_strp, FORM_strp):
                    off = _u(data, pos, offset_size)
                    pos += offset_size
                    v = self._string_at(".debug_line_str" if form == FORM_line_strp else ".debug_str", off)
                elif form == FORM_udata:
                    v, pos = uleb128(data, pos)
                elif form in (FORM_data1, FORM_data2, FORM_data4, FORM_data8, FORM_data16):
                    size = {FORM_data1: 1, FORM_data2: 2, FORM_data4: 4, FORM_data8: 8,
                            FORM_data16: 16}[form]
                    v = data[pos:pos + size] if size == 16 else _u(data, pos, size)
                    pos += size
                elif form == FORM_block:
                    n, pos = uleb128(data, pos)
                    v = data[pos:pos + n]
                    pos += n
                elif form in _FORMS_STRX:
                    size = _FORMS_STRX[form]
                    if size:
                        i = _u(data, pos, size)
                        pos += size
                    else:
                        i, pos = uleb128(data, pos)
                    v = self._str_index(cu, i)
                else:
                    raise BinaryFormatError(f"unsupported form {form:#x} in a DWARF 5 line header")
                entry[ct] = v
            entries.append(entry)
        return entries, pos

def _join_path(dirs: Sequence[str], name: str, dir_index: int) -> str:
    if not name or name.startswith("/") or not (0 <= dir_index < len(dirs)):
        return name
    d = dirs[dir_index]
    if not d or d == ".":
        return name
    return d.rstrip("/") + "/" + name


def _member_offset_expr(expr: bytes) -> int:
    """``DW_AT_data_member_location`` as an expression (``DW_OP_plus_uconst N``), as DWARF 2 has it."""
    if expr and expr[0] == 0x23:
        return uleb128(expr, 1)[0]
    if expr and expr[0] == 0x10:
        return uleb128(expr, 1)[0]
    raise BinaryFormatError(f"unsupported member location expression {expr.hex()}")

