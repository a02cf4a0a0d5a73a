"""Runtime type descriptors (``internal/abi.Type`` and its kinds) as the heap walk needs them.

Go 1.21–1.27. A descriptor gives a type's size, its pointer bytes (``PtrBytes``: the prefix that can
hold pointers), its pointer mask (``GCData``: one bit per word of that prefix), its kind, name, and
for composite kinds the parts (``PtrType.Elem``, ``SliceType.Elem``, ``ArrayType.{Elem,Len}``,
``ChanType.Elem``, ``StructType.Fields``, the map type's key, element, and group (swiss maps,
1.24+) or bucket (classic maps, <= 1.23, and 1.24's ``OldMapType``) type).

Where the mask is:

- normally ``GCData`` points to the bitmap;
- up to 1.23 a type with ``KindGCProg`` (bit 6 of ``Kind_``) has a GC *program* there instead (only
  huge types; large objects of them get a synthetic type with ``TFlagUnrolledBitmap`` whose
  ``GCData`` is a bitmap again);
- from 1.24 a type with ``TFlagGCMaskOnDemand`` has in ``GCData`` the address of a word where the
  runtime stores a bitmap built on first use (nil until then).

When there is no usable bitmap the mask is built from the type's structure as the runtime's
``buildGCMask`` does. Descriptors are read from a hostile core: every size is bounded, every
pointer checked, and a descriptor that does not make sense is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.goruntime.heap.memview import VecMemory
    from explorer.goruntime.process import GoProcess

# internal/abi.Kind
BOOL, INT, INT8, INT16, INT32, INT64, UINT, UINT8, UINT16, UINT32, UINT64, UINTPTR = range(1, 13)
FLOAT32, FLOAT64, COMPLEX64, COMPLEX128, ARRAY, CHAN, FUNC, INTERFACE, MAP, POINTER, SLICE = range(13, 24)
STRING, STRUCT, UNSAFE_POINTER = 24, 25, 26
KIND_MASK = 0x1F
KIND_DIRECT_IFACE = 1 << 5  # up to 1.25
KIND_GC_PROG = 1 << 6  # up to 1.23
TFLAG_EXTRA_STAR = 1 << 1
TFLAG_UNROLLED_OR_ON_DEMAND = 1 << 4  # TFlagUnrolledBitmap (1.22-1.23), TFlagGCMaskOnDemand (1.24+)
TFLAG_DIRECT_IFACE = 1 << 5  # 1.26+

MAX_TYPE_SIZE = 1 << 40
MAX_MASK_WORDS = 1 << 27  # a 1 GiB pointer prefix: beyond that the descriptor is garbage
MAX_FIELDS = 1 << 16

I64 = npt.NDArray[np.int64]


@dataclass(eq=False)
class RType:
    """One runtime type descriptor (identity: its address)."""

    addr: int
    size: int
    ptrbytes: int
    tflag: int
    kind_raw: int
    gcdata: int
    name: str
    direct_iface: bool
    _mask: I64 | None = field(default=None, repr=False)

    @property
    def kind(self) -> int:
        return self.kind_raw & KIND_MASK

    @property
    def has_pointers(self) -> bool:
        return self.ptrbytes > 0


@dataclass(frozen=True)
class StructField:
    name: str
    type: RType
    offset: int
    embedded: bool


class TypeDescriptors:
    """Decodes and caches the descriptors of one process."""

    def __init__(self, proc: GoProcess, vm: VecMemory) -> None:
        from explorer.goruntime.panics import type_reader

        self.proc = proc
        self.vm = vm
        self.mem = proc.memory
        self.minor = proc.go_minor or 0
        self.names = type_reader(proc)
        layout = proc.layout
        t = "internal/abi.Type"

        def off(struct: str, name: str, default: int | None) -> int | None:
            v = layout.offset(struct, name)
            return default if v is None else v

        self.o_size = off(t, "Size_", 0) or 0
        self.o_ptrbytes = off(t, "PtrBytes", 8) or 8
        self.o_tflag = off(t, "TFlag", 20) or 20
        self.o_kind = off(t, "Kind_", 23) or 23
        self.o_gcdata = off(t, "GCData", 32) or 32
        self.o_elem = off("internal/abi.PtrType", "Elem", 48) or 48
        self.o_array_len = off("internal/abi.ArrayType", "Len", 64) or 64
        self.o_fields = off("internal/abi.StructType", "Fields", 56) or 56
        sf = "internal/abi.StructField"
        self.o_sf_name = off(sf, "Name", 0) or 0
        self.o_sf_typ = off(sf, "Typ", 8) or 8
        self.o_sf_offset = off(sf, "Offset", 16) or 16
        self.sf_size = layout.source.size(sf) or 24
        # Map type descriptors: swiss (Group) from 1.24, classic (Bucket) before.
        self.swiss = self.minor >= 24
        for name in ("internal/abi.SwissMapType", "internal/abi.MapType"):
            if layout.has(name) and layout.offset(name, "Group") is not None:
                self.map_struct = name
                break
        else:
            self.map_struct = "internal/abi.MapType" if layout.has("internal/abi.MapType") else \
                "internal/abi.OldMapType"
        ms = self.map_struct
        self.o_map_key = off(ms, "Key", 48) or 48
        self.o_map_elem = off(ms, "Elem", 56) or 56
        group = off(ms, "Group", None) if self.swiss else off(ms, "Bucket", None)
        self.o_map_group: int = 64 if group is None else group
        self._cache: dict[int, RType | None] = {}
        self._fields: dict[int, list[StructField]] = {}

    # -- descriptors ---------------------------------------------------------------------------

    def get(self, addr: int) -> RType | None:
        """The descriptor at ``addr``, or None if there is none that makes sense there."""
        if addr in self._cache:
            return self._cache[addr]
        rt = self._read(addr)
        self._cache[addr] = rt
        return rt

    def _read(self, addr: int) -> RType | None:
        if not addr or addr % 8:
            return None
        head = self.mem.try_read(addr, 48)
        if head is None:
            return None
        size = int.from_bytes(head[self.o_size : self.o_size + 8], "little")
        ptrbytes = int.from_bytes(head[self.o_ptrbytes : self.o_ptrbytes + 8], "little")
        tflag = head[self.o_tflag]
        kind_raw = head[self.o_kind]
        gcdata = int.from_bytes(head[self.o_gcdata : self.o_gcdata + 8], "little")
        kind = kind_raw & KIND_MASK
        # 1.22-1.23 large objects of types with GC programs get a synthetic descriptor (in a manual
        # span) with only Size_, PtrBytes, GCData (an unrolled bitmap) and TFlagUnrolledBitmap set.
        synthetic = kind == 0 and self.minor in (22, 23) and tflag == TFLAG_UNROLLED_OR_ON_DEMAND
        if not (1 <= kind <= UNSAFE_POINTER or synthetic) or size > MAX_TYPE_SIZE or ptrbytes > size \
                or ptrbytes % 8:
            return None
        name = ""
        if not synthetic:
            try:
                name = self.names.read(addr).name
            except ExplorerError:
                name = ""
        direct = bool(tflag & TFLAG_DIRECT_IFACE) if self.minor >= 26 else bool(kind_raw & KIND_DIRECT_IFACE)
        return RType(addr, size, ptrbytes, tflag, kind_raw, gcdata, name, direct)

    def _ptr_at(self, addr: int) -> int:
        v = self.mem.try_read(addr, 8)
        return int.from_bytes(v, "little") if v is not None else 0

    def elem(self, t: RType) -> RType | None:
        """Element type of a pointer, slice, array or channel; value type of a map."""
        if t.kind in (POINTER, SLICE, ARRAY, CHAN):
            return self.get(self._ptr_at(t.addr + self.o_elem))
        if t.kind == MAP:
            return self.get(self._ptr_at(t.addr + self.o_map_elem))
        return None

    def key(self, t: RType) -> RType | None:
        return self.get(self._ptr_at(t.addr + self.o_map_key)) if t.kind == MAP else None

    def map_group(self, t: RType) -> RType | None:
        """The group (swiss) or bucket (classic) type of a map type."""
        return self.get(self._ptr_at(t.addr + self.o_map_group)) if t.kind == MAP else None

    def array_len(self, t: RType) -> int:
        if t.kind != ARRAY:
            return 0
        return self._ptr_at(t.addr + self.o_array_len)

    def fields(self, t: RType) -> list[StructField]:
        """A struct's fields (name, type, offset)."""
        if t.kind != STRUCT:
            return []
        got = self._fields.get(t.addr)
        if got is not None:
            return got
        hdr = self.mem.try_read(t.addr + self.o_fields, 16)
        out: list[StructField] = []
        if hdr is not None:
            ptr = int.from_bytes(hdr[:8], "little")
            n = int.from_bytes(hdr[8:16], "little")
            raw = self.mem.try_read(ptr, n * self.sf_size) if 0 < n <= MAX_FIELDS else None
            for i in range(n if raw is not None else 0):
                rec = raw[i * self.sf_size : (i + 1) * self.sf_size]  # type: ignore[index]
                name_ptr = int.from_bytes(rec[self.o_sf_name : self.o_sf_name + 8], "little")
                typ = self.get(int.from_bytes(rec[self.o_sf_typ : self.o_sf_typ + 8], "little"))
                offset = int.from_bytes(rec[self.o_sf_offset : self.o_sf_offset + 8], "little")
                if typ is None or offset + typ.size > t.size:
                    continue
                name, embedded = self._field_name(name_ptr)
                out.append(StructField(name, typ, offset, embedded))
        self._fields[t.addr] = out
        return out

    def _field_name(self, addr: int) -> tuple[str, bool]:
        """An ``abi.Name``: flags byte (bit 3: embedded), varint length, bytes."""
        try:
            name = self.names.name_at(addr)
        except ExplorerError:
            return "?", False
        flags = self.mem.try_read(addr, 1)
        return name, bool(flags and flags[0] & (1 << 3))

    # -- pointer masks --------------------------------------------------------------------------

    def mask(self, t: RType) -> I64:
        """Word indices (within one value of ``t``) that hold pointers, ascending."""
        if t._mask is not None:
            return t._mask
        words = t.ptrbytes // 8
        m: I64 | None = None
        if words == 0:
            m = np.zeros(0, dtype=np.int64)
        elif words > MAX_MASK_WORDS:
            m = np.zeros(0, dtype=np.int64)
        else:
            bitmap = self._bitmap_addr(t)
            if bitmap:
                raw = self.vm.block(bitmap, (words + 7) // 8)
                if raw is not None:
                    bits = np.unpackbits(np.asarray(raw), bitorder="little")[:words]
                    m = np.nonzero(bits)[0].astype(np.int64)
            if m is None:
                m = self._structural_mask(t, 0)
        t._mask = m
        return m

    def _bitmap_addr(self, t: RType) -> int:
        """Where ``t``'s bitmap is (0 when it must be built from the structure)."""
        special = bool(t.tflag & TFLAG_UNROLLED_OR_ON_DEMAND)
        if self.minor >= 24 and special:  # GCData is the address of a lazily filled slot
            p = self._ptr_at(t.gcdata)
            return p if p and self.mem.is_readable(p, 1) else 0
        if self.minor <= 23 and t.kind_raw & KIND_GC_PROG and not special:
            return 0  # a GC program
        return t.gcdata

    def _structural_mask(self, t: RType, depth: int) -> I64:
        """The mask built from the type's structure (the runtime's ``buildGCMask``)."""
        if depth > 64 or not t.ptrbytes:
            return np.zeros(0, dtype=np.int64)
        k = t.kind
        if k in (POINTER, MAP, CHAN, FUNC, UNSAFE_POINTER, STRING, SLICE):
            return np.zeros(1, dtype=np.int64)
        if k == INTERFACE:
            return np.array([0, 1], dtype=np.int64)
        if k == ARRAY:
            e = self.elem(t)
            n = self.array_len(t)
            if e is None or not e.ptrbytes or n <= 0 or n * max(e.size, 8) > MAX_MASK_WORDS * 8:
                return np.zeros(0, dtype=np.int64)
            em = self.mask(e) if not (self.minor >= 24 and e.tflag & TFLAG_UNROLLED_OR_ON_DEMAND) \
                else self._structural_mask(e, depth + 1)
            starts = np.arange(n, dtype=np.int64) * (e.size // 8)
            return (starts[:, None] + em[None, :]).ravel()
        if k == STRUCT:
            parts = []
            for f in self.fields(t):
                if f.type.ptrbytes and f.offset % 8 == 0:
                    parts.append(self._structural_mask(f.type, depth + 1) + f.offset // 8)
            return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.int64)
