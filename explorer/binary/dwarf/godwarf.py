""":class:`GoDwarf`, the index the rest of the program asks: types, constants, globals, functions.

It is the DIE reader (:class:`~.reader.DieReader`) plus the lazy lookups built on it; each kind of
lookup lives in its module (``types``, ``functions``, ``index``, ``lists``, ``lineprogram``) and
this class keeps the caches, so that the index can be shared by threads (caches are filled with
``setdefault``: racing threads get the same objects).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from explorer.binary.dwarf.constants import DW_AT_const_value, DW_AT_location, DW_AT_name, DW_AT_type
from explorer.binary.dwarf.functions import LogicalFrame, Subprogram, Variable, build_subprogram
from explorer.binary.dwarf.index import UnitIndex, build_index, package_of_symbol
from explorer.binary.dwarf.lineprogram import file_table
from explorer.binary.dwarf.lists import ranges
from explorer.binary.dwarf.location import Piece, eval_location
from explorer.binary.dwarf.reader import CompileUnit, DieReader, go_version_of
from explorer.binary.dwarf.sections import raw_debug_sections, section_data
from explorer.binary.dwarf.types import GoType, make_type
from explorer.errors import BinaryFormatError, NoDwarfError

if TYPE_CHECKING:
    from elftools.elf.elffile import ELFFile


class DwarfLookupError(BinaryFormatError):
    """A type, field or entry the caller relies on is not in the executable's DWARF."""


class GlobalVar(NamedTuple):
    """A package-level variable: its link-time address and type."""

    address: int
    type: GoType | None


class GoDwarf(DieReader):
    """A lazy DWARF index over one Go executable (see the package docstring)."""

    def __init__(self, elf: ELFFile) -> None:
        """Index ``elf`` (its debug sections are read now: the file may be closed afterwards);
        raises :class:`NoDwarfError` when it has no ``.debug_info``."""
        raw = raw_debug_sections(elf)
        info = section_data(raw[".debug_info"]) if ".debug_info" in raw else b""
        if not info:
            raise NoDwarfError("the executable has no DWARF (built with -ldflags=-w or stripped)")
        if not elf.little_endian:
            raise BinaryFormatError("big-endian DWARF is not supported")
        super().__init__(raw, info)
        self._indexes: dict[int, UnitIndex] = {}
        self._types: dict[int, GoType] = {}
        self._subprograms: dict[int, Subprogram] = {}
        self._file_tables: dict[int, list[str] | None] = {}

    @classmethod
    def from_elffile(cls, elf: ELFFile) -> GoDwarf | None:
        """The index of ``elf``, or None when it carries no DWARF."""
        try:
            return cls(elf)
        except NoDwarfError:
            return None

    # units ---------------------------------------------------------------------------------------

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
        return go_version_of(self.producer)

    def _index(self, cu: CompileUnit) -> UnitIndex:
        """The index of ``cu``'s direct children, built on first use."""
        idx = self._indexes.get(cu.offset)
        if idx is None:
            try:
                idx = build_index(self, cu)
            except (IndexError, ValueError) as exc:
                raise BinaryFormatError(f"truncated DIEs in unit {cu.name!r}: {exc}") from exc
            idx = self._indexes.setdefault(cu.offset, idx)
        return idx

    def _units_for_symbol(self, name: str) -> list[CompileUnit]:
        return package_of_symbol(name, self._cus_by_name)

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
            t = self._types.setdefault(offset, make_type(self, offset, 0))
        return t

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
        v = attrs.get(DW_AT_const_value)
        if not isinstance(v, int):
            return None
        ref = attrs.get(DW_AT_type)
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
        loc = attrs.get(DW_AT_location)
        if not isinstance(loc, bytes):
            return None
        pieces = self.eval_location(loc, cu=cu)
        if len(pieces) != 1 or pieces[0].kind != "memory" or pieces[0].address is None:
            return None
        ref = attrs.get(DW_AT_type)
        return GlobalVar(pieces[0].address, self.type_by_offset(ref) if ref is not None else None)

    def eval_location(self, expr: bytes, *, cu: CompileUnit | None = None, cfa: int | None = None,
                      regs: Mapping[int, int] | None = None, frame_base: int | None = None,
                      read_mem: Callable[[int, int], bytes] | None = None) -> list[Piece]:
        """:func:`eval_location` with ``DW_OP_addrx`` resolved through ``cu``'s ``.debug_addr``."""
        addrx = (lambda i: self._addr_index(cu, i)) if cu is not None else None
        size = cu.address_size if cu is not None else 8
        return eval_location(expr, cfa=cfa, regs=regs, frame_base=frame_base, read_mem=read_mem,
                             addrx=addrx, address_size=size)

    # functions -----------------------------------------------------------------------------------

    @cached_property
    def _cu_ranges(self) -> tuple[list[int], list[tuple[int, int, CompileUnit]]]:
        spans: list[tuple[int, int, CompileUnit]] = []
        for cu in self.compile_units:
            if cu.ranges_offset is not None:
                spans.extend((lo, hi, cu) for lo, hi in ranges(self, cu, cu.ranges_offset))
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
                        fname = self._read_die(origin).attrs.get(DW_AT_name)
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
                    name = self._read_die(origin).attrs.get(DW_AT_name)
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
            sp = self._subprograms.setdefault(offset, build_subprogram(self, cu, offset))
        return sp

    # file names ----------------------------------------------------------------------------------

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
                files = file_table(self, cu, cu.stmt_list)
            except (IndexError, ValueError) as exc:
                raise BinaryFormatError(f"truncated line table of unit {cu.name!r}: {exc}") from exc
        self._file_tables[cu.offset] = files
        return files
