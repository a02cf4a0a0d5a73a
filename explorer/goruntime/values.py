"""Typed Go values read from a core: the value model behind ``vars``, ``print``, ``x`` and ``save``.

A :class:`Value` is decoded from a DWARF type (:class:`~explorer.binary.dwarf.GoType`) and a place
(:class:`Loc`: an address in the core, or bytes assembled from registers and pieces). Scalars and
headers (a string's pointer and length, a slice's array/len/cap, a map's count, a channel's queue
counters, an interface's two words) are read when the value is made; what they point to (elements,
fields, entries, targets) is decoded lazily when asked for, by the process's
:class:`~explorer.goruntime.decode.Decoder` (:mod:`explorer.goruntime.decode`). How values are shown (delve-style text,
the JSON value tree) is the render layer's: :mod:`explorer.render.values`, :mod:`explorer.render.valuejson`.

Layouts handled, Go 1.21–1.27 (linux amd64/arm64), all taken from the binary's DWARF:

- strings ``{str, len}``, slices ``{array, len, cap}``, ``runtime.eface {_type, data}`` and
  ``runtime.iface {tab, data}`` with the type at ``itab._type`` (1.21) / ``ITab.Type`` (1.22+);
- the dynamic type of an interface is the type descriptor, mapped to DWARF through
  ``DW_AT_go_runtime_type`` (descriptor address minus ``runtime.types``), with the direct-iface flag
  of :mod:`explorer.goruntime.rtype`;
- maps: see :mod:`explorer.goruntime.maps` (classic buckets up to 1.23, swiss tables from 1.24);
- channels ``hchan<T>`` (queued element i at ``buf + ((recvx + i) % dataqsiz) * elemsize``);
- func values: a pointer to a closure whose first word is the function's entry pc;
- generic shape types (``.param0`` typedefs with ``DW_AT_go_dict_index``) resolved through the
  frame's ``.dict`` argument, an array of type descriptor pointers.

Every read is bounded: a length that the core cannot hold (a garbage ``len`` of 2^60, an unmapped
pointer) makes an ``unreadable`` value carrying the reason, never an allocation or a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from explorer.core.memory import Memory
from explorer.errors import ExplorerError, UnreadableMemory

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoType

PTR = 8
#: Elements, entries and fields given per collection (CLI.md), then ``truncated``.
MAX_ELEMENTS = 10_000
#: Bytes of a string's text read for display; longer strings are ``truncated``.
MAX_STRING = 1 << 20


class DecodeError(ExplorerError):
    """A value cannot be decoded (its type is not understood); the value shows as unreadable."""


# ---------------------------------------------------------------------------------------------------
# Where a value's bytes are


@dataclass(frozen=True)
class Loc:
    """A value's bytes: at ``addr`` in the core, or ``data`` (from registers, pieces, a word)."""

    addr: int | None = None
    data: bytes | None = None

    def read(self, mem: Memory, off: int, size: int) -> bytes:
        if self.data is not None:
            if off < 0 or off + size > len(self.data):
                raise UnreadableMemory(off, size, "the value's bytes are shorter than its type")
            return self.data[off:off + size]
        if self.addr is None:
            raise UnreadableMemory(0, size, "no location")
        return bytes(mem.read(self.addr + off, size))

    def read_ptr(self, mem: Memory, off: int = 0) -> int:
        """The pointer-sized word at ``off``."""
        if self.data is None and self.addr is not None:
            return mem.read_ptr(self.addr + off)
        return int.from_bytes(self.read(mem, off, PTR), "little")

    def sub(self, off: int, size: int | None = None) -> Loc:
        if self.data is not None:
            end = None if size is None else off + size
            return Loc(self.addr + off if self.addr is not None else None, self.data[off:end])
        return Loc(self.addr + off if self.addr is not None else None)



class ValueDecoder(Protocol):
    """What a :class:`Value` needs of the decoder that made it (to decode its children lazily):
    :class:`explorer.goruntime.decode.Decoder` is the one implementation."""

    mem: Memory

    def decode(self, t: GoType | None, loc: Loc, *, gdict: GenericDict | None = None,
               type_name: str | None = None) -> Value: ...

    def type_of_descriptor(self, addr: int) -> GoType | None: ...


class GenericDict:
    """A generic function's dictionary: ``.dict`` points at type descriptor pointers."""

    def __init__(self, dec: ValueDecoder, addr: int) -> None:
        self.dec = dec
        self.addr = addr
        self._cache: dict[int, GoType | None] = {}

    def resolve(self, index: int) -> GoType | None:
        if index in self._cache:
            return self._cache[index]
        t = None
        if self.addr and 0 <= index < 4096:
            try:
                desc = self.dec.mem.read_ptr(self.addr + PTR * index)
                t = self.dec.type_of_descriptor(desc) if desc else None
            except ExplorerError:
                t = None
        self._cache[index] = t
        return t


# ---------------------------------------------------------------------------------------------------
# The value model


@dataclass(eq=False)
class Value:
    """One decoded Go value (see the module docstring); fields beyond ``kind`` depend on it.

    ``value``: the scalar (bool/int/float), a pointer's address, a map's or channel's header
    address, a func's closure address, an interface's data word. ``length``/``cap``/``data``: of
    strings, slices, arrays, maps and channels. ``error``: why an ``unreadable`` value is so.
    """

    type_name: str
    kind: str
    address: int | None
    value: Any = None
    real: float | None = None
    imag: float | None = None
    length: int | None = None
    cap: int | None = None
    data: int | None = None
    dynamic_type: str | None = None
    elem_type: str | None = None
    function: str | None = None
    error: str | None = None
    size: int | None = None
    closed: bool | None = None
    _dec: ValueDecoder | None = field(default=None, repr=False)
    _t: GoType | None = field(default=None, repr=False)
    _loc: Loc | None = field(default=None, repr=False)
    _gdict: GenericDict | None = field(default=None, repr=False)
    _map: Any = field(default=None, repr=False)
    _chan: Any = field(default=None, repr=False)
    _iface: tuple[int, int, bool] | None = field(default=None, repr=False)
    _dyn: Value | None = field(default=None, repr=False)
    _target: Value | None = field(default=None, repr=False)

    # -- structure -------------------------------------------------------------------------------

    @property
    def is_nil(self) -> bool:
        """A nil pointer, map, channel, func, interface or slice."""
        if self.kind in ("ptr", "map", "chan", "func"):
            return not self.value
        if self.kind == "iface":
            return self._iface is None
        if self.kind == "slice":
            return not self.data
        return False

    @property
    def has_children(self) -> bool:
        """Whether :meth:`children` has anything to show (without decoding it)."""
        k = self.kind
        if k == "struct":
            return bool(self._t is not None and self._t.strip_typedefs().fields)
        if k in ("slice", "array", "map", "chan"):
            return bool(self.length)
        if k == "ptr":
            return bool(self.value) and self._t is not None and self._t.kind == "ptr"
        if k == "iface":
            return self._iface is not None
        return False

    @property
    def child_count(self) -> int:
        """How many children there are in all (``children`` gives at most ``MAX_ELEMENTS``)."""
        k = self.kind
        if k in ("slice", "array", "map", "chan"):
            return int(self.length or 0)
        if k == "struct":
            return len(self._t.strip_typedefs().fields) if self._t is not None else 0
        return 1 if self.has_children else 0

    def fields(self) -> list[tuple[Any, Value]]:
        """A struct's (Field, Value) pairs in declaration order."""
        if self.kind != "struct" or self._t is None or self._dec is None or self._loc is None:
            return []
        st = self._t.strip_typedefs()
        out = []
        for f in st.fields[:MAX_ELEMENTS]:
            size = f.type.size if f.type is not None else None
            out.append((f, self._dec.decode(f.type, self._loc.sub(f.offset, size), gdict=self._gdict)))
        return out

    def field(self, name: str) -> Value | None:
        """The struct field ``name``, looking into embedded structs (and pointers to them) as Go
        promotes their fields."""
        return _find_field(self, name, 0)

    def elements(self, limit: int = MAX_ELEMENTS, start: int = 0) -> list[Value]:
        """Elements ``start..start+limit`` of a slice or array."""
        if self.kind not in ("slice", "array") or self._t is None or self._dec is None:
            return []
        elem = self._t.elem
        n = int(self.length or 0)
        if elem is None or elem.size is None:
            return []
        es = elem.size
        end = min(n, start + max(0, limit))
        out = []
        for i in range(max(0, start), end):
            if self.kind == "slice":
                loc = Loc(int(self.data or 0) + i * es)
            else:
                assert self._loc is not None
                loc = self._loc.sub(i * es, es)
            out.append(self._dec.decode(elem, loc, gdict=self._gdict))
        return out

    def element(self, i: int) -> Value:
        """Element ``i`` of a slice, array or string (a string's bytes are ``uint8`` values)."""
        if self.kind == "string":
            if not 0 <= i < int(self.length or 0):
                raise IndexError(i)
            assert self._dec is not None
            b = self._dec.mem.read(int(self.data or 0) + i, 1)[0]
            return Value("uint8", "uint", int(self.data or 0) + i, value=b, size=1)
        if not 0 <= i < int(self.length or 0):
            raise IndexError(i)
        got = self.elements(1, i)
        if not got:
            raise IndexError(i)
        return got[0]

    def entries(self, limit: int = MAX_ELEMENTS) -> list[tuple[Value, Value]]:
        """A map's (key, value) pairs, at most ``limit``."""
        if self.kind != "map" or self._map is None or self._dec is None:
            return []
        from explorer.goruntime.maps import iter_entries

        info = self._map
        out = []
        for kaddr, vaddr in iter_entries(self._dec.mem, info, limit):
            out.append((self._dec.decode(info.key_type, Loc(kaddr), gdict=self._gdict),
                        self._dec.decode(info.elem_type, Loc(vaddr), gdict=self._gdict)))
        return out

    def queued(self, limit: int = MAX_ELEMENTS) -> list[Value]:
        """A buffered channel's queued elements, oldest first."""
        ch = self._chan
        if self.kind != "chan" or ch is None or self._dec is None or self._t is None or self._t.elem is None:
            return []
        out = []
        es = ch.elemsize
        for i in range(min(ch.qcount, limit)):
            slot = (ch.recvx + i) % ch.dataqsiz if ch.dataqsiz else 0
            out.append(self._dec.decode(self._t.elem, Loc(ch.buf + slot * es), gdict=self._gdict))
        return out

    def target(self) -> Value | None:
        """What a (typed, non-nil) pointer points to."""
        if self.kind != "ptr" or not self.value or self._t is None or self._dec is None:
            return None
        if self._target is None:
            elem = self._t.elem if self._t.kind == "ptr" else None
            if elem is None:
                return None
            self._target = self._dec.decode(elem, Loc(int(self.value)), gdict=self._gdict)
        return self._target

    def dynamic_value(self) -> Value | None:
        """The value an interface holds (decoded with its dynamic type), None for nil."""
        if self.kind != "iface" or self._iface is None or self._dec is None:
            return None
        if self._dyn is None:
            desc, word, direct = self._iface
            t = self._dec.type_of_descriptor(desc)
            name = self.dynamic_type or "?"
            if t is None:
                self._dyn = unreadable(name, None if direct else word,
                                       f"type {name} is not in the executable's DWARF")
            elif direct:
                assert self._loc is not None
                self._dyn = self._dec.decode(t, self._loc.sub(PTR, PTR), type_name=name)
            else:
                self._dyn = self._dec.decode(t, Loc(word), type_name=name)
        return self._dyn

    def text(self, limit: int = MAX_STRING) -> tuple[str, bool]:
        """A string's text (invalid UTF-8 escaped as ``\\xNN``) and whether it was cut at ``limit``."""
        raw, cut = self.raw_text(limit)
        return raw.decode("utf-8", "backslashreplace"), cut

    def raw_text(self, limit: int = MAX_STRING) -> tuple[bytes, bool]:
        """A string's bytes (at most ``limit``) and whether they were cut."""
        if self.kind != "string" or self._dec is None:
            return b"", False
        n = int(self.length or 0)
        take = min(n, limit)
        return (bytes(self._dec.mem.read(int(self.data or 0), take)) if take else b""), take < n

    def raw_bytes(self, limit: int = MAX_STRING) -> bytes:
        """The bytes :meth:`byte_range` names, at most ``limit``."""
        rng = self.byte_range()
        if rng is None or self._dec is None:
            return b""
        addr, size = rng
        if self._loc is not None and self._loc.data is not None and addr == self.address:
            return self._loc.data[:min(size, limit)]
        return self._dec.mem.read(addr, min(size, limit))

    # -- what save and x use ---------------------------------------------------------------------

    def byte_range(self) -> tuple[int, int] | None:
        """(address, size) of the bytes behind the value: a slice's ``len*elemsize`` bytes from its
        data pointer, a string's bytes, a pointer's target, an interface's dynamic value, a map's
        or channel's header; otherwise the value's own bytes. None if they are not in memory."""
        k = self.kind
        if k == "unreadable":
            return None
        if k == "string":
            return int(self.data or 0), int(self.length or 0)
        if k == "slice":
            es = self._t.elem.size if self._t is not None and self._t.elem is not None else None
            return int(self.data or 0), int(self.length or 0) * int(es or 0)
        if k == "ptr":
            if not self.value:
                return None
            tgt = self.target()
            if tgt is not None and tgt.kind in ("slice", "string"):
                # x &body, save p (a *[]byte, *string): the bytes it holds, not its 24-byte header
                return tgt.byte_range()
            size = tgt.size if tgt is not None and tgt.size is not None else 0
            return int(self.value), int(size)
        if k == "iface":
            d = self.dynamic_value()
            if d is None:
                return None
            if d.address is not None and d.kind not in ("ptr", "map", "chan"):
                return d.address, int(d.size or 0)
            return d.byte_range()
        if k == "map" and self._map is not None:
            return int(self.value), int(self._map.header_size)
        if k == "chan" and self._chan is not None:
            return int(self.value), int(self._chan.header_size)
        if self.address is None or self.size is None:
            return None
        return self.address, int(self.size)

@dataclass
class Variable:
    """An argument or local of a frame, with its value."""

    name: str
    kind: str  # "arg" or "local"
    value: Value
    decl_line: int | None = None

def unreadable(type_name: str, address: int | None, reason: str) -> Value:
    """A value that cannot be shown, with why (``optimized out``, ``unmapped at 0x...``...)."""
    return Value(type_name, "unreadable", address, error=reason)


# ---------------------------------------------------------------------------------------------------
# Helpers



def mem_reason(e: UnreadableMemory) -> str:
    return f"{e.reason} at {e.addr:#x}"


def _find_field(v: Value, name: str, depth: int) -> Value | None:
    if depth > 8:
        return None
    if v.kind == "ptr":
        t = v.target()
        return _find_field(t, name, depth + 1) if t is not None else None
    if v.kind != "struct":
        return None
    fields = v.fields()
    for f, fv in fields:
        if f.name == name:
            return fv
    for f, fv in fields:  # promoted fields of embedded structs, breadth first by depth
        if f.embedded:
            got = _find_field(fv, name, depth + 1)
            if got is not None:
                return got
    return None
