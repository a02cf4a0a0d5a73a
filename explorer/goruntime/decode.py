"""Decoding Go values from a core: the per-process :class:`Decoder` (memory, DWARF, type descriptors,
function names) that turns a DWARF type and a :class:`~explorer.goruntime.values.Loc` into a
:class:`~explorer.goruntime.values.Value`, and the dictionaries of generic functions. The layouts it
handles are listed in :mod:`explorer.goruntime.values`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.core.memory import Memory, check_array
from explorer.errors import ExplorerError, UnreadableMemory
from explorer.goruntime.values import DecodeError, GenericDict, Loc, Value, mem_reason, unreadable

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoDwarf, GoType
    from explorer.goruntime.process import GoProcess
    from explorer.goruntime.rtype import RTypeReader

_KIND_OF = {
    "bool": "bool", "int": "int", "uint": "uint", "float": "float", "complex": "complex",
    "string": "string", "slice": "slice", "array": "array", "struct": "struct", "ptr": "ptr",
    "unsafe.Pointer": "ptr", "map": "map", "chan": "chan", "func": "func", "iface": "iface",
    "eface": "iface",
}


# ---------------------------------------------------------------------------------------------------
# Per-process decoding context


class Decoder:
    """What decoding needs of a process: memory, DWARF, type descriptors, function names.

    One per :class:`~explorer.goruntime.process.GoProcess` (see :func:`decoder`); caches the
    DWARF types of type descriptors and the layouts of runtime structures.
    """

    def __init__(self, proc: GoProcess) -> None:
        dwarf = proc.dwarf
        if dwarf is None:
            from explorer.errors import NoDwarfError

            raise NoDwarfError("the executable has no DWARF (stripped): typed variables cannot be shown")
        self.proc = proc
        self.mem: Memory = proc.memory
        self.dwarf: GoDwarf = dwarf
        self.bias = int(getattr(proc, "pie_bias", 0) or 0)
        self._rtype_types: dict[int, GoType | None] = {}
        self._iface_type_off: int | None = None

    # -- type descriptors -----------------------------------------------------------------------

    @property
    def rtypes(self) -> RTypeReader:
        from explorer.goruntime.panics import type_reader

        return type_reader(self.proc)

    @property
    def types_base(self) -> int:
        return int(self.rtypes.types_base or 0)

    def type_of_descriptor(self, addr: int) -> GoType | None:
        """The DWARF type of the runtime type descriptor at ``addr`` (None if DWARF lacks it)."""
        if addr in self._rtype_types:
            return self._rtype_types[addr]
        t = None
        if self.dwarf is not None and self.types_base:
            t = self.dwarf.type_by_runtime_type(addr - self.types_base)
            if t is None:
                try:
                    name = self.rtypes.read(addr).name
                except ExplorerError:
                    name = ""
                if name:
                    t = self.dwarf.type_by_name(name)
        self._rtype_types[addr] = t
        return t

    def itab_type_offset(self) -> int:
        """Offset of the type descriptor pointer in an itab: ``_type`` (1.21), ``Type`` (1.22+)."""
        if self._iface_type_off is None:
            off = 8
            if self.dwarf is not None:
                for name in ("internal/abi.ITab", "runtime.itab"):
                    t = self.dwarf.type_by_name(name)
                    if t is None:
                        continue
                    f = t.strip_typedefs().field("Type") or t.strip_typedefs().field("_type")
                    if f is not None:
                        off = f.offset
                        break
            self._iface_type_off = off
        return self._iface_type_off

    def function_name(self, pc: int) -> str | None:
        try:
            f = self.proc.pclntab.find_func(pc)
        except ExplorerError:
            return None
        return f.name if f is not None else None

    # -- decoding --------------------------------------------------------------------------------

    def decode(self, t: GoType | None, loc: Loc, *, gdict: GenericDict | None = None,
               type_name: str | None = None) -> Value:
        """The value of type ``t`` at ``loc``; problems make an ``unreadable`` value, never raise."""
        name = type_name or (t.name if t is not None else "?")
        if t is None:
            return unreadable(name, loc.addr, "no type information")
        try:
            return self._decode(t, loc, gdict, name)
        except UnreadableMemory as e:
            return unreadable(name, loc.addr, mem_reason(e))
        except (ExplorerError, IndexError, struct.error, RecursionError) as e:
            return unreadable(name, loc.addr, str(e) or type(e).__name__)

    def _decode(self, t: GoType, loc: Loc, gdict: GenericDict | None, name: str) -> Value:
        t, name = self._resolve(t, gdict, name)
        kind = t.kind
        mem = self.mem
        size = t.size
        v = Value(name, _KIND_OF.get(kind, "unreadable"), loc.addr, size=size)
        v._dec, v._t, v._loc, v._gdict = self, t, loc, gdict
        if kind in ("bool", "int", "uint", "float", "complex"):
            if size is None or size not in (1, 2, 4, 8, 16) or (kind == "complex" and size not in (8, 16)):
                raise DecodeError(f"{name}: unsupported size {size}")
            raw = loc.read(mem, 0, size)
            if kind == "bool":
                v.value = raw[0] != 0
            elif kind == "int":
                v.value = int.from_bytes(raw, "little", signed=True)
            elif kind == "uint":
                v.value = int.from_bytes(raw, "little")
            elif kind == "float":
                v.value = _float(raw)
            else:
                half = size // 2
                v.real, v.imag = _float(raw[:half]), _float(raw[half:])
            return v
        if kind == "string":
            ptr, n = struct.unpack("<Qq", loc.read(mem, 0, 16))
            v.data, v.length = ptr, n
            check_array(mem, ptr, n, 1, "string")
            return v
        if kind == "slice":
            ptr, n, c = struct.unpack("<Qqq", loc.read(mem, 0, 24))
            v.data, v.length, v.cap = ptr, n, c
            if n < 0 or c < n:
                raise DecodeError(f"bad slice header: len {n}, cap {c}")
            elem = t.elem
            if elem is None or elem.size is None:
                raise DecodeError(f"{name}: element type unknown")
            v.elem_type = elem.name
            check_array(mem, ptr, n, elem.size, "slice")
            return v
        if kind in ("array", "struct") and loc.data is None and loc.addr is not None and size:
            got = mem.readable_prefix(loc.addr, size)
            if got < size:
                raise UnreadableMemory(loc.addr + got, size - got, mem.why_unreadable(loc.addr + got) or "unmapped")
        if kind == "array":
            elem = t.elem
            n = t.count if t.count is not None else 0
            v.length = n
            v.elem_type = elem.name if elem is not None else None
            return v
        if kind == "struct":
            return v
        if kind in ("ptr", "unsafe.Pointer"):
            v.value = loc.read_ptr(mem)
            return v
        if kind == "func":
            closure = loc.read_ptr(mem)
            v.value = closure
            if closure:
                pc = mem.read_ptr(closure)
                v.data = pc
                v.function = self.function_name(pc) or f"{pc:#x}"
            return v
        if kind == "map":
            from explorer.goruntime.maps import read_map

            hdr = loc.read_ptr(mem)
            v.value = hdr
            v.elem_type = t.elem.name if t.elem is not None else None
            if hdr:
                info = read_map(mem, t, hdr)
                v._map = info
                v.length = info.count
            else:
                v.length = 0
            return v
        if kind == "chan":
            hdr = loc.read_ptr(mem)
            v.value = hdr
            v.elem_type = t.elem.name if t.elem is not None else None
            if hdr:
                ch = _read_chan(mem, t, hdr)
                v._chan = ch
                v.length, v.cap, v.data, v.closed = ch.qcount, ch.dataqsiz, ch.buf, ch.closed
            else:
                v.length, v.cap = 0, 0
            return v
        if kind in ("iface", "eface"):
            w0, w1 = struct.unpack("<QQ", loc.read(mem, 0, 16))
            v.value = w1
            if not w0:
                return v  # nil interface
            desc = w0
            if kind == "iface":
                desc = mem.read_ptr(w0 + self.itab_type_offset())
            v.data = desc
            rt = self.rtypes.read(desc)
            v.dynamic_type = rt.name
            v._iface = (desc, w1, rt.direct_iface)
            return v
        raise DecodeError(f"{name}: values of this type ({kind}) are not supported")

    def _resolve(self, t: GoType, gdict: GenericDict | None, name: str) -> tuple[GoType, str]:
        """Follow typedefs without a Go kind (shape parameters, aliases) to a decodable type."""
        for _ in range(16):
            if t.dict_index is not None and gdict is not None:
                real = gdict.resolve(t.dict_index)
                if real is not None:
                    return real, real.name
            if t.kind in ("typedef", "unspecified", "other") and t.target is not None:
                t = t.target
                if name.startswith("."):
                    name = t.name
                continue
            return t, name
        raise DecodeError(f"{name}: typedef chain too long")

    def type_name(self, t: GoType | None, gdict: GenericDict | None = None) -> str:
        """The name a value of type ``t`` is shown with (shape parameters resolved if possible)."""
        if t is None:
            return "?"
        try:
            return self._resolve(t, gdict, t.name)[1]
        except ExplorerError:
            return t.name

    def global_value(self, name: str) -> Value | None:
        """The package-level variable ``name`` (``main.config``), or None if DWARF lacks it."""
        if self.dwarf is None:
            return None
        gv = self.dwarf.global_var(name)
        if gv is None:
            return None
        return self.decode(gv.type, Loc(int(gv.address) + self.bias))


def decoder(proc: GoProcess) -> Decoder:
    """The process's :class:`Decoder` (made once and kept on the process)."""
    d = proc.__dict__.get("_value_decoder")
    if d is None:
        d = Decoder(proc)
        proc.__dict__["_value_decoder"] = d
    return d


# ---------------------------------------------------------------------------------------------------
# Helpers


def _float(raw: bytes) -> float:
    return float(struct.unpack("<f" if len(raw) == 4 else "<d", raw)[0])


@dataclass
class ChanInfo:
    qcount: int
    dataqsiz: int
    buf: int
    elemsize: int
    recvx: int
    closed: bool
    header_size: int


def _struct_behind(t: GoType) -> GoType | None:
    """The struct a map/chan type's header pointer points to (hash<K,V>, map<K,V>, hchan<T>)."""
    cur: GoType | None = t
    for _ in range(8):
        if cur is None:
            return None
        if cur.kind == "struct" and cur.tag == 0x13:
            return cur
        cur = cur.target
    return None


def _read_chan(mem: Memory, t: GoType, hdr: int) -> ChanInfo:
    st = _struct_behind(t)
    if st is None:
        raise DecodeError(f"{t.name}: no hchan type in DWARF")

    def off(name: str, default: int) -> int:
        f = st.field(name)
        return f.offset if f is not None else default

    size = st.size or 96
    raw = mem.read(hdr, size)

    def u(name: str, default: int, width: int = 8) -> int:
        o = off(name, default)
        return int.from_bytes(raw[o:o + width], "little")

    qcount, dataqsiz, buf = u("qcount", 0), u("dataqsiz", 8), u("buf", 16)
    elemsize = u("elemsize", 24, 2)
    closed = u("closed", 28, 4) != 0
    recvx = u("recvx", 48)
    if dataqsiz > 1 << 40 or qcount > dataqsiz or (dataqsiz and recvx >= dataqsiz):
        raise DecodeError(f"bad channel: qcount {qcount}, dataqsiz {dataqsiz}, recvx {recvx}")
    if qcount and elemsize:
        check_array(mem, buf, dataqsiz, elemsize, "channel buffer")
    return ChanInfo(qcount, dataqsiz, buf, elemsize, recvx, closed, size)
