"""Parser of a Go executable's ``.gopclntab``: functions, pc → file:line, pcsp and inlining.

Releases and layouts handled (read from each release's ``runtime/symtab.go``,
``runtime/symtabinl.go``, ``runtime/runtime2.go``, ``internal/abi/symtab.go`` and
``cmd/link/internal/ld/pcln.go``):

* magic ``0xfffffff1`` — Go 1.20 … 1.27 (tested with real binaries of 1.21 … 1.27).
  ``pcHeader`` is ``magic u32, pad1 u8, pad2 u8, minLC u8, ptrSize u8`` then eight pointer-sized
  words: ``nfunc, nfiles, textStart, funcnameOffset, cuOffset, filetabOffset, pctabOffset,
  pclnOffset`` (offsets from the header). ``_func`` is 44 bytes (``entryOff, nameOff, args,
  deferreturn, pcsp, pcfile, pcln, npcdata, cuOffset, startLine`` then ``funcID, flag, pad,
  nfuncdata``), followed by ``npcdata`` u32 pctab offsets and ``nfuncdata`` u32 offsets from
  ``moduledata.gofunc``. An inline-tree entry (``runtime.inlinedCall``) is 16 bytes:
  ``funcID u8, pad[3], nameOff i32, parentPc i32, startLine i32``.
  From Go 1.26 the header's ``textStart`` word is written as 0 (the linker no longer relocates it):
  the text base is ``moduledata.text`` (the ``runtime.text`` symbol), which the caller passes as
  ``text_start`` (see :mod:`explorer.binary.moduledata` for a symbol-free way to get it).
* magic ``0xfffffff0`` — Go 1.18 and 1.19, accepted because it is cheap: the same header, a 40-byte
  ``_func`` without ``startLine``, and 20-byte inline entries ``parent i16, funcID u8, pad, file
  i32, line i32, nameOff i32, parentPc i32``. Not exercised by the real-binary tests.

Anything else raises :class:`~explorer.errors.BinaryFormatError`. Both byte orders are accepted
(the magic is chosen so that it reads differently in the other one).

Only the header and the ``ftab`` (function entry offsets, already sorted by the linker) are read
up front; a ``_func`` is decoded when asked for and kept in a small per-table cache. Every table walk
is bounded by the bytes it reads, so a malformed table raises ``BinaryFormatError`` instead of
looping.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from explorer.binary.goabi import (
    FUNC_FLAG_ASM,
    FUNC_FLAG_SPWRITE,
    FUNC_FLAG_TOPFRAME,
    FUNCDATA_INL_TREE,
    FUNCID_WRAPPER_BY_MINOR,
    MAGIC_GO118,
    MAGIC_GO120,
    NO_FUNCDATA,
    PCDATA_INL_TREE_INDEX,
)
from explorer.binary.pcheader import PcHeader, parse_header
from explorer.binary.varint import uvarint
from explorer.errors import BinaryFormatError

_MAX_INLINE_DEPTH = 1024  # far beyond any real inlining budget; a guard against cyclic trees


@dataclass(frozen=True, slots=True)
class Func:
    """One ``runtime._func`` record. PCs are absolute (``text_start`` + offset)."""

    index: int  # position in the ftab
    entry: int
    end: int  # entry of the next function (exclusive end)
    name: str
    args: int
    deferreturn: int
    pcsp: int  # pctab offsets of the pc-value tables (0 = none)
    pcfile: int
    pcln: int
    cu_offset: int
    start_line: int  # 0 before Go 1.20
    func_id: int  # raw internal/abi.FuncID: numbers move between releases, prefer names
    flag: int
    pcdata: tuple[int, ...]
    funcdata: tuple[int, ...]  # offsets from moduledata.gofunc, 0xffffffff = none

    @property
    def is_topframe(self) -> bool:
        """FuncFlagTopFrame: a traceback ends here (goexit, mstart, rt0_go...)."""
        return bool(self.flag & FUNC_FLAG_TOPFRAME)

    @property
    def is_spwrite(self) -> bool:
        """FuncFlagSPWrite: writes SP arbitrarily, so pcsp cannot unwind past it."""
        return bool(self.flag & FUNC_FLAG_SPWRITE)

    @property
    def is_asm(self) -> bool:
        """FuncFlagAsm: implemented in assembly."""
        return bool(self.flag & FUNC_FLAG_ASM)

    def funcdata_offset(self, index: int) -> int | None:
        """Offset from ``moduledata.gofunc`` of funcdata ``index``, or None when absent."""
        if 0 <= index < len(self.funcdata) and self.funcdata[index] != NO_FUNCDATA:
            return self.funcdata[index]
        return None

    def __contains__(self, pc: object) -> bool:
        return isinstance(pc, int) and self.entry <= pc < self.end


@dataclass(frozen=True, slots=True)
class InlineFrame:
    """One logical frame at a pc: an inlined call or, last, the physical function itself."""

    name: str
    file: str
    line: int
    func_id: int  # raw FuncID of the (inlined) function
    start_line: int
    is_inlined: bool
    pc: int  # the pc whose file:line this frame shows


def func_name_for_print(name: str) -> str:
    """The name as the runtime's traceback prints it (``funcNameForPrint``): shapes become ``[...]``."""
    i = name.find("[")
    if i < 0:
        return name
    j = name.rfind("]")
    if j <= i:
        return name
    interior = name[i + 1 : j]
    if "[" not in interior:
        return name[:i] + "[...]" + name[j + 1 :]
    # A generic method of a generic type: "pkg.T[shape].M[shape]" → "pkg.T[...].M[...]".
    depth, rbr, lbr = 1, -1, -1
    for k, c in enumerate(interior):
        if c == "[":
            depth += 1
            if depth != 1:
                continue
            lbr = k
            break
        if c == "]":
            depth -= 1
            if depth < 0:
                break
            if depth != 0:
                continue
            rbr = k
    if depth == 1:
        if rbr >= 0 and lbr > rbr:
            return name[:i] + "[...]" + interior[rbr + 1 : lbr] + "[...]" + name[j + 1 :]
        if rbr == -1 and lbr == -1:
            return name[:i] + "[...]" + name[j + 1 :]
    return name


def bytes_reader(base: int, data: bytes | bytearray | memoryview) -> Callable[[int, int], bytes]:
    """A ``read(addr, size)`` over one block of bytes loaded at ``base`` (e.g. ``.gopclntab``)."""

    def read(addr: int, size: int) -> bytes:
        off = addr - base
        if off < 0 or size < 0 or off + size > len(data):
            raise BinaryFormatError(f"address {addr:#x}+{size} is outside {base:#x}+{len(data):#x}")
        return bytes(data[off : off + size])

    return read


class Pclntab:
    """A parsed ``.gopclntab``; build it with :meth:`parse`."""

    _FUNC_CACHE_MAX = 4096

    def __init__(self, data: bytes, header: PcHeader, text_start: int,
                 text_sections: Sequence[tuple[int, int, int]] | None = None) -> None:
        self._data = data
        self.header = header
        self.text_start = text_start
        bo = header.byteorder
        self._bo = bo
        self._u32 = struct.Struct(bo + "I")
        if header.magic == MAGIC_GO120:
            self._func_struct = struct.Struct(bo + "IiiIIIIIIiBBxB")
        else:
            self._func_struct = struct.Struct(bo + "IiiIIIIIIBBxB")
        # [vaddr, end, baseaddr] per text section (moduledata.textsectmap), only when there are several.
        self._textsects = list(text_sections) if text_sections and len(text_sections) > 1 else []
        self._bounds = self._table_bounds()
        ftab = array("I")
        start = header.pcln_offset
        ftab.frombytes(data[start : start + 8 * (header.nfunc + 1)])
        if (bo == "<") != (struct.pack("=I", 1) == struct.pack("<I", 1)):
            ftab.byteswap()
        self._entries = ftab[0::2]  # entry offsets, nfunc+1 (the last is the end of the last func)
        self._funcoffs = ftab[1::2]
        for i in range(header.nfunc):
            if self._entries[i] > self._entries[i + 1]:
                raise BinaryFormatError(f".gopclntab ftab is not sorted at index {i}")
        self._cache: dict[int, Func] = {}
        self._names: dict[int, str] = {}
        self._files: dict[int, str] = {}

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview, *, text_start: int | None = None,
              text_sections: Sequence[tuple[int, int, int]] | None = None) -> Pclntab:
        """Parse ``.gopclntab`` bytes.

        ``text_start`` is the address function entry offsets count from (``moduledata.text``, the
        ``runtime.text`` symbol). It overrides the header's ``textStart``, and is required from Go
        1.26, whose header holds 0 there. ``text_sections`` is ``moduledata.textsectmap`` as
        ``(vaddr, end, baseaddr)`` triples, needed only for binaries split in several text sections
        (very large ppc64/arm64 programs).
        """
        raw = data if isinstance(data, bytes) else bytes(data)
        header = parse_header(raw)
        if text_start is None:
            if header.text_start == 0:
                raise BinaryFormatError(
                    ".gopclntab header has no text start (Go 1.26+): pass text_start=moduledata.text"
                )
            text_start = header.text_start
        return cls(raw, header, text_start, text_sections)

    def _table_bounds(self) -> dict[str, tuple[int, int]]:
        """[start, end) of each sub-table: each ends where the next one (in address order) starts."""
        h = self.header
        starts = {"funcnametab": h.funcname_offset, "cutab": h.cu_offset, "filetab": h.filetab_offset,
                  "pctab": h.pctab_offset, "pclntable": h.pcln_offset}
        points = sorted(set(starts.values()) | {len(self._data)})
        bounds = {}
        for name, s in starts.items():
            later = [p for p in points if p > s]
            bounds[name] = (s, later[0] if later else len(self._data))
        return bounds

    # -- header facts ---------------------------------------------------------------------------------

    @property
    def ptr_size(self) -> int:
        """Pointer size of the target (4 or 8)."""
        return self.header.ptr_size

    @property
    def quantum(self) -> int:
        """Instruction size quantum (minLC): 1 on amd64/386, 4 on arm64, 2 on s390x."""
        return self.header.min_lc

    @property
    def nfunc(self) -> int:
        """Number of functions."""
        return self.header.nfunc

    @property
    def magic(self) -> int:
        """The header magic (0xfffffff1 for Go 1.20+)."""
        return self.header.magic

    @property
    def min_pc(self) -> int:
        """Entry of the first function (moduledata.minpc)."""
        return self._text_addr(self._entries[0])

    @property
    def max_pc(self) -> int:
        """End of the last function (moduledata.maxpc)."""
        return self._text_addr(self._entries[self.nfunc])

    # -- text offsets -------------------------------------------------------------------------------

    def _text_addr(self, off: int) -> int:
        """``moduledata.textAddr``."""
        if self._textsects:
            last = len(self._textsects) - 1
            for i, (vaddr, end, base) in enumerate(self._textsects):
                if vaddr <= off < end or (i == last and off == end):
                    return base + off - vaddr
        return self.text_start + off

    def _text_off(self, pc: int) -> int | None:
        """``moduledata.textOff``: the text offset of ``pc``, or None outside every text section."""
        if self._textsects:
            for vaddr, end, base in self._textsects:
                if base <= pc < base + (end - vaddr):
                    return pc - base + vaddr
            return None
        off = pc - self.text_start
        return off if off >= 0 else None

    # -- functions ----------------------------------------------------------------------------------

    def func_at(self, index: int) -> Func:
        """The function at ftab position ``index`` (0 ≤ index < nfunc)."""
        f = self._cache.get(index)
        if f is not None:
            return f
        if not 0 <= index < self.nfunc:
            raise IndexError(index)
        f = self._decode_func(index)
        if len(self._cache) >= self._FUNC_CACHE_MAX:
            self._cache.clear()
        self._cache[index] = f
        return f

    def _decode_func(self, index: int) -> Func:
        data = self._data
        base, limit = self._bounds["pclntable"]
        off = base + self._funcoffs[index]
        st = self._func_struct
        if off + st.size > limit:
            raise BinaryFormatError(f"_func {index} at {off:#x} is outside .gopclntab")
        fields = st.unpack_from(data, off)
        if self.header.magic == MAGIC_GO120:
            (entry_off, name_off, args, deferreturn, pcsp, pcfile, pcln, npcdata, cu_off, start_line,
             func_id, flag, nfuncdata) = fields
        else:
            (entry_off, name_off, args, deferreturn, pcsp, pcfile, pcln, npcdata, cu_off,
             func_id, flag, nfuncdata) = fields
            start_line = 0
        if entry_off != self._entries[index]:
            raise BinaryFormatError(
                f"_func {index}: entry offset {entry_off:#x} differs from ftab {self._entries[index]:#x}"
            )
        tail = off + st.size
        if tail + 4 * (npcdata + nfuncdata) > limit:
            raise BinaryFormatError(f"_func {index}: {npcdata} pcdata/{nfuncdata} funcdata overrun")
        tables = struct.unpack_from(f"{self._bo}{npcdata + nfuncdata}I", data, tail)
        return Func(
            index=index,
            entry=self._text_addr(entry_off),
            end=self._text_addr(self._entries[index + 1]),
            name=self.func_name(name_off),
            args=args,
            deferreturn=deferreturn,
            pcsp=pcsp,
            pcfile=pcfile,
            pcln=pcln,
            cu_offset=cu_off,
            start_line=start_line,
            func_id=func_id,
            flag=flag,
            pcdata=tuple(tables[:npcdata]),
            funcdata=tuple(tables[npcdata:]),
        )

    def funcs(self) -> Iterator[Func]:
        """Every function, in address order (decoded as iterated)."""
        for i in range(self.nfunc):
            yield self.func_at(i)

    def find_func(self, pc: int) -> Func | None:
        """The function whose [entry, end) holds ``pc`` (runtime ``findfunc``), or None."""
        off = self._text_off(pc)
        if off is None or off < self._entries[0] or off >= self._entries[self.nfunc]:
            return None
        i = bisect_right(self._entries, off, 0, self.nfunc) - 1
        return self.func_at(i) if i >= 0 else None

    @cached_property
    def _name_index(self) -> dict[str, list[int]]:
        base, limit = self._bounds["pclntable"]
        index: dict[str, list[int]] = {}
        name_at = 4  # nameOff follows entryOff in every layout
        for i in range(self.nfunc):
            off = base + self._funcoffs[i] + name_at
            if off + 4 > limit:
                raise BinaryFormatError(f"_func {i} is outside .gopclntab")
            (name_off,) = struct.unpack_from(self._bo + "i", self._data, off)
            index.setdefault(self.func_name(name_off), []).append(i)
        return index

    def func_by_name(self, name: str) -> Func | None:
        """The lowest-addressed function named ``name`` (as in the binary, e.g. ``main.F[go.shape.int]``).

        A few names occur twice: an assembly function and its ABI wrapper share the name
        (``funcs_by_name`` gives all of them).
        """
        found = self._name_index.get(name)
        return None if not found else self.func_at(found[0])

    def funcs_by_name(self, name: str) -> list[Func]:
        """Every function named ``name``, in address order."""
        return [self.func_at(i) for i in self._name_index.get(name, ())]

    def function_names(self) -> list[str]:
        """Every function name, once (the order is unspecified)."""
        return list(self._name_index)

    def file_names(self) -> list[str]:
        """Every file name of the file table, once, in table order (what ``FILE:LINE`` resolves
        against)."""
        start, limit = self._bounds["filetab"]
        seen: dict[str, None] = {}
        for raw in self._data[start:limit].split(b"\0"):
            if raw:
                seen.setdefault(raw.decode("utf-8", "replace"), None)
        return list(seen)

    # -- strings ------------------------------------------------------------------------------------

    def _cstring(self, table: str, off: int) -> str:
        start, limit = self._bounds[table]
        pos = start + off
        if off < 0 or pos >= limit:
            raise BinaryFormatError(f"{table} offset {off:#x} is outside its table")
        end = self._data.find(b"\0", pos, limit)
        if end < 0:
            raise BinaryFormatError(f"{table} string at {off:#x} is not terminated")
        return self._data[pos:end].decode("utf-8", "replace")

    def func_name(self, name_off: int) -> str:
        """The string at ``name_off`` in funcnametab (a ``_func.nameOff`` or inline-tree nameOff)."""
        name = self._names.get(name_off)
        if name is None:
            name = self._cstring("funcnametab", name_off)
            self._names[name_off] = name
        return name

    def file_name(self, func: Func, fileno: int) -> str:
        """File ``fileno`` of ``func``'s compilation unit (runtime ``funcfile``)."""
        start, limit = self._bounds["cutab"]
        pos = start + 4 * (func.cu_offset + fileno)
        if fileno < 0 or pos + 4 > limit:
            raise BinaryFormatError(f"{func.name}: file index {fileno} is outside cutab")
        (fileoff,) = self._u32.unpack_from(self._data, pos)
        if fileoff == 0xFFFFFFFF:
            return "?"
        name = self._files.get(fileoff)
        if name is None:
            name = self._cstring("filetab", fileoff)
            self._files[fileoff] = name
        return name

    # -- pc-value tables ----------------------------------------------------------------------------

    def pcvalue(self, func: Func, table_off: int, pc: int) -> int | None:
        """Value of the pc-value table at ``table_off`` (a pctab offset) at ``pc`` (runtime ``pcvalue``).

        None when there is no table (offset 0) or the table does not cover ``pc``. A table that runs
        past the end of pctab raises :class:`BinaryFormatError`.
        """
        if table_off == 0:
            return None
        start, limit = self._bounds["pctab"]
        data = self._data
        p = start + table_off
        if p >= limit:
            raise BinaryFormatError(f"{func.name}: pc-value table {table_off:#x} is outside pctab")
        quantum = self.header.min_lc
        entry = cur = func.entry
        val = -1
        while True:
            # step(): a zig-zag varint value delta (0 ends the table except first) then a varint pc delta.
            if p >= limit:
                raise BinaryFormatError(f"{func.name}: pc-value table {table_off:#x} runs off pctab")
            b = data[p]
            if b == 0 and cur != entry:  # runtime step(): first is "pc == f.entry()"
                return None
            if b < 0x80:
                uv = b
                p += 1
            else:
                uv, p = uvarint(data, p, limit, 5, func.name)
                uv &= 0xFFFFFFFF  # runtime.readvarint: a uint32
            val += -(uv >> 1) - 1 if uv & 1 else uv >> 1
            if p >= limit:
                raise BinaryFormatError(f"{func.name}: pc-value table {table_off:#x} runs off pctab")
            b = data[p]
            if b < 0x80:
                pcdelta = b
                p += 1
            else:
                pcdelta, p = uvarint(data, p, limit, 5, func.name)
                pcdelta &= 0xFFFFFFFF
            cur += pcdelta * quantum
            if pc < cur:
                # Values are int32 in the runtime: wrap like it does.
                return ((val + 0x80000000) & 0xFFFFFFFF) - 0x80000000

    def pc_ranges(self, func: Func, table_off: int) -> list[tuple[int, int, int]]:
        """The whole table as ``(start_pc, end_pc, value)`` runs (for tests and disassembly views)."""
        out: list[tuple[int, int, int]] = []
        if table_off == 0:
            return out
        start, limit = self._bounds["pctab"]
        data = self._data
        p = start + table_off
        entry = cur = func.entry
        val = -1
        while p < limit:
            if data[p] == 0 and cur != entry:
                return out
            uv, p = uvarint(data, p, limit, 5, func.name)
            uv &= 0xFFFFFFFF
            val += -(uv >> 1) - 1 if uv & 1 else uv >> 1
            if p >= limit:
                break
            pcdelta, p = uvarint(data, p, limit, 5, func.name)
            pcdelta &= 0xFFFFFFFF
            prev = cur
            cur += pcdelta * self.header.min_lc
            out.append((prev, cur, ((val + 0x80000000) & 0xFFFFFFFF) - 0x80000000))
        raise BinaryFormatError(f"{func.name}: pc-value table {table_off:#x} runs off pctab")

    def sp_delta(self, func: Func, pc: int) -> int | None:
        """Bytes the function has pushed on the stack at ``pc`` (the pcsp table; 0 at entry)."""
        return self.pcvalue(func, func.pcsp, pc)

    def file_line(self, func: Func, pc: int) -> tuple[str, int]:
        """File and line of ``pc`` (the innermost inlined position), like runtime ``funcline1``.

        ``("?", 0)`` when the tables do not cover ``pc``. For a return address pass ``pc - 1``.
        """
        fileno = self.pcvalue(func, func.pcfile, pc)
        line = self.pcvalue(func, func.pcln, pc)
        if fileno is None or line is None or fileno < 0 or line < 0:
            return "?", 0
        return self.file_name(func, fileno), line

    def pcdata_value(self, func: Func, index: int, pc: int) -> int:
        """Value of PCDATA table ``index`` at ``pc``; -1 when absent, like runtime ``pcdatavalue``."""
        if not 0 <= index < len(func.pcdata):
            return -1
        v = self.pcvalue(func, func.pcdata[index], pc)
        return -1 if v is None else v

    # -- inlining -----------------------------------------------------------------------------------

    def inline_frames(self, func: Func, pc: int, read: Callable[[int, int], bytes],
                      gofunc: int) -> list[InlineFrame]:
        """Logical frames at ``pc``, innermost first; the last one is ``func`` itself.

        Follows the runtime's ``newInlineUnwinder``/``next``/``fileLine``: the inline tree (funcdata
        ``FUNCDATA_InlTree``) is at ``gofunc + offset``, read through ``read(addr, size)``; the index
        at a pc is ``PCDATA_InlTreeIndex``; a caller's file:line is that of ``entry + parentPc``.
        ``pc`` must be a "call pc" (``pc - 1`` for a return address). Errors of ``read`` propagate.
        """
        tree_off = func.funcdata_offset(FUNCDATA_INL_TREE)
        frames: list[InlineFrame] = []
        cur = pc
        if tree_off is not None:
            new = self.header.magic == MAGIC_GO120
            rec_size = 16 if new else 20
            fmt = self._bo + ("BxxxiiI" if new else "hBxiiii")
            idx = self.pcdata_value(func, PCDATA_INL_TREE_INDEX, cur)
            seen: set[int] = set()
            while idx >= 0:
                if idx in seen or len(seen) >= _MAX_INLINE_DEPTH:
                    raise BinaryFormatError(f"{func.name}: inline tree loops at index {idx}")
                seen.add(idx)
                raw = read(gofunc + tree_off + idx * rec_size, rec_size)
                if len(raw) != rec_size:
                    raise BinaryFormatError(f"{func.name}: short read of inline tree entry {idx}")
                if new:
                    func_id, name_off, parent_pc, start_line = struct.unpack(fmt, raw)
                else:
                    _parent, func_id, _file, _line, name_off, parent_pc = struct.unpack(fmt, raw)
                    start_line = 0
                file, line = self.file_line(func, cur)
                frames.append(InlineFrame(self.func_name(name_off), file, line, func_id, start_line,
                                          True, cur))
                cur = func.entry + parent_pc
                idx = self.pcdata_value(func, PCDATA_INL_TREE_INDEX, cur)
        file, line = self.file_line(func, cur)
        frames.append(InlineFrame(func.name, file, line, func.func_id, func.start_line, False, cur))
        return frames


__all__ = [
    "FUNCDATA_INL_TREE",
    "FUNCID_WRAPPER_BY_MINOR",
    "FUNC_FLAG_ASM",
    "FUNC_FLAG_SPWRITE",
    "FUNC_FLAG_TOPFRAME",
    "MAGIC_GO118",
    "MAGIC_GO120",
    "PCDATA_INL_TREE_INDEX",
    "Func",
    "InlineFrame",
    "PcHeader",
    "Pclntab",
    "bytes_reader",
    "func_name_for_print",
    "parse_header",
]
