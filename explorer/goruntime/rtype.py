"""Runtime type descriptors (``internal/abi.Type``, Go 1.21–1.27), read without DWARF.

An interface value's dynamic type is a pointer to one of these. Its name is a ``NameOff`` from
``moduledata.types``; an ``abi.Name`` is a flags byte, a varint length and the bytes. The kind is the
low 5 bits of ``Kind_``; "direct interface" (the data word holds the value itself) is bit 5 of
``Kind_`` up to Go 1.25 and the ``TFlagDirectIface`` bit of ``TFlag`` from 1.26.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.binary.varint import uvarint
from explorer.errors import ExplorerError, UnreadableMemory

if TYPE_CHECKING:
    from explorer.core.memory import AddressSpace
    from explorer.goruntime.layout import Layout

KIND_MASK = 0x1F
KIND_DIRECT_IFACE = 1 << 5
TFLAG_EXTRA_STAR = 1 << 1
TFLAG_DIRECT_IFACE_126 = 1 << 5

KIND_NAMES = ["invalid", "bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
              "uint64", "uintptr", "float32", "float64", "complex64", "complex128", "array", "chan", "func",
              "interface", "map", "ptr", "slice", "string", "struct", "unsafe.Pointer"]


@dataclass(frozen=True)
class RType:
    """What a runtime type descriptor says of a type."""

    addr: int
    size: int
    kind: int
    tflag: int
    name: str
    direct_iface: bool

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind] if self.kind < len(KIND_NAMES) else f"kind {self.kind}"


class RTypeReader:
    """Decodes type descriptors of one process (cached per descriptor address)."""

    def __init__(self, mem: AddressSpace, layout: Layout, types_base: int, go_minor: int | None) -> None:
        self.mem = mem
        self.types_base = types_base
        self.go_minor = go_minor or 0
        t = "internal/abi.Type"

        def off(field: str, default: int) -> int:
            v = layout.offset(t, field)
            return default if v is None else v

        # The defaults are abi.Type's layout in every release 1.21-1.27 (layouts.json agrees).
        self.off_size = off("Size_", 0)
        self.off_tflag = off("TFlag", 20)
        self.off_kind = off("Kind_", 23)
        self.off_str = off("Str", 40)
        self._cache: dict[int, RType] = {}

    def read(self, addr: int) -> RType:
        if addr in self._cache:
            return self._cache[addr]
        if not addr:
            raise UnreadableMemory(0, 1, "nil type descriptor")
        size = self.mem.read_u64(addr + self.off_size)
        tflag = self.mem.read_u8(addr + self.off_tflag)
        kind_byte = self.mem.read_u8(addr + self.off_kind)
        str_off = self.mem.read_i32(addr + self.off_str)
        name = self.name_at(self.types_base + str_off) if self.types_base else "?"
        if tflag & TFLAG_EXTRA_STAR and name.startswith("*"):
            name = name[1:]
        if self.go_minor >= 26:
            direct = bool(tflag & TFLAG_DIRECT_IFACE_126)
        else:
            direct = bool(kind_byte & KIND_DIRECT_IFACE)
        rt = RType(addr, size, kind_byte & KIND_MASK, tflag, name, direct)
        self._cache[addr] = rt
        return rt

    def name_at(self, addr: int) -> str:
        """Decode an ``abi.Name`` (flags byte, varint length, bytes)."""
        hdr = self.mem.read(addr, 1 + 10)
        n, i = uvarint(hdr, 1, len(hdr), 10, f"type name at {addr:#x}")
        if n > 1 << 16:
            raise ExplorerError(f"bad type name length {n} at {addr:#x}")
        return self.mem.read(addr + i, n).decode("utf-8", "replace")
