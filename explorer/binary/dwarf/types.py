"""Go types from their DIEs: :class:`GoType` and :class:`Field`.

The Go linker names types as Go spells them (``runtime.g``, ``*main.Request``, ``[]uint8``,
``map[string]int``, ``main.Pair[string,int]``) and tags them with ``DW_AT_go_kind``
(``internal/abi.Kind``), ``DW_AT_go_elem``/``DW_AT_go_key`` and ``DW_AT_go_runtime_type``. A
named type has a ``DW_TAG_typedef`` and its definition under the same name: :func:`make_type`
folds the two into one :class:`GoType`. Parts (target, element, key, fields, array count) are
resolved on first use through the index, so recursive types are fine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, Protocol

from explorer.binary.dwarf.constants import (
    ENCODING_KINDS,
    DW_AT_byte_size,
    DW_AT_count,
    DW_AT_data_member_location,
    DW_AT_encoding,
    DW_AT_go_dict_index,
    DW_AT_go_elem,
    DW_AT_go_embedded_field,
    DW_AT_go_key,
    DW_AT_go_kind,
    DW_AT_go_runtime_type,
    DW_AT_name,
    DW_AT_type,
    DW_AT_upper_bound,
    DW_OP_constu,
    DW_OP_plus_uconst,
    DW_TAG_array_type,
    DW_TAG_base_type,
    DW_TAG_member,
    DW_TAG_pointer_type,
    DW_TAG_structure_type,
    DW_TAG_subrange_type,
    DW_TAG_subroutine_type,
    DW_TAG_typedef,
    DW_TAG_unspecified_type,
)
from explorer.binary.dwarf.reader import MAX_DEPTH, CompileUnit, Die
from explorer.binary.varint import uleb128
from explorer.errors import BinaryFormatError

TypeKind = Literal[
    "bool", "int", "uint", "float", "complex", "string", "slice", "array", "struct", "ptr", "map",
    "chan", "func", "iface", "eface", "unsafe.Pointer", "typedef", "unspecified", "other",
]

# Go's kinds (internal/abi.Kind, the DW_AT_go_kind values) mapped to this module's coarse kinds.
_GO_KINDS: dict[int, TypeKind] = {
    1: "bool", 2: "int", 3: "int", 4: "int", 5: "int", 6: "int",
    7: "uint", 8: "uint", 9: "uint", 10: "uint", 11: "uint", 12: "uint",
    13: "float", 14: "float", 15: "complex", 16: "complex",
    17: "array", 18: "chan", 19: "func", 20: "iface", 21: "map", 22: "ptr", 23: "slice",
    24: "string", 25: "struct", 26: "unsafe.Pointer",
}
_TAG_KINDS: dict[int, TypeKind] = {
    DW_TAG_structure_type: "struct", DW_TAG_array_type: "array", DW_TAG_subroutine_type: "func",
    DW_TAG_typedef: "typedef", DW_TAG_unspecified_type: "unspecified",
}


class TypeIndex(Protocol):
    """What types are made from and resolved through: :class:`~.godwarf.GoDwarf` is one. (A
    protocol, so that this module need not import the index that imports it.)"""

    _types: dict[int, GoType]  # by DIE offset

    def type_by_offset(self, offset: int) -> GoType: ...

    def cu_at_offset(self, die_offset: int) -> CompileUnit: ...

    def _read_die(self, offset: int, *, children: bool = False, cu: CompileUnit | None = None) -> Die: ...


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
    _dw: TypeIndex | None = field(default=None, repr=False)
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
        return self.target if self.tag == DW_TAG_typedef else None

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
        dw = self._dw
        if dw is None:
            return ()
        if self.tag == DW_TAG_structure_type:
            out: list[Field] = []
            for child in dw._read_die(self.offset, children=True).children:
                if child.tag != DW_TAG_member:
                    continue
                loc = child.attrs.get(DW_AT_data_member_location, 0)
                if isinstance(loc, bytes | bytearray | memoryview):
                    loc = _member_offset_expr(bytes(loc))
                ref = child.attrs.get(DW_AT_type)
                out.append(Field(
                    name=child.attrs.get(DW_AT_name) or "",
                    offset=int(loc),
                    type=dw.type_by_offset(ref) if ref is not None else None,
                    embedded=bool(child.attrs.get(DW_AT_go_embedded_field)),
                ))
            return tuple(out)
        if self.tag == DW_TAG_typedef and self.kind in ("iface", "eface") and self.target is not None:
            return self.target.fields
        return ()

    @cached_property
    def count(self) -> int | None:
        """Number of elements of an array type."""
        if self._dw is None or self.tag != DW_TAG_array_type:
            return None
        for child in self._dw._read_die(self.offset, children=True).children:
            if child.tag == DW_TAG_subrange_type:
                if DW_AT_count in child.attrs:
                    return int(child.attrs[DW_AT_count])
                if DW_AT_upper_bound in child.attrs:
                    return int(child.attrs[DW_AT_upper_bound]) + 1
        return None

    def field(self, name: str) -> Field | None:
        """The member called ``name``, or None."""
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def strip_typedefs(self) -> GoType:
        """Follow ``typedef`` kinds (not interfaces, maps or channels) to the underlying type."""
        t: GoType = self
        for _ in range(MAX_DEPTH):
            if t.kind != "typedef" or t.target is None:
                return t
            t = t.target
        raise BinaryFormatError(f"typedef chain too long at {self.name}")

    def __repr__(self) -> str:
        return f"GoType({self.name!r}, {self.kind}, size={self.size}, offset={self.offset:#x})"


def make_type(dw: TypeIndex, offset: int, depth: int) -> GoType:
    """The type whose DIE is at ``offset`` (a typedef named like its target: the target)."""
    if depth > MAX_DEPTH:
        raise BinaryFormatError(f"typedef chain too long at DIE {offset:#x}")
    die = dw._read_die(offset)
    a = die.attrs
    name: str = a.get(DW_AT_name) or ""
    tag = die.tag
    go_kind = a.get(DW_AT_go_kind)
    type_ref = a.get(DW_AT_type)
    if tag == DW_TAG_typedef and go_kind is None and type_ref is not None:
        target = dw._read_die(type_ref)
        if target.attrs.get(DW_AT_name) == name and type_ref != offset:
            t = dw._types.get(type_ref)
            if t is None:
                t = dw._types.setdefault(type_ref, make_type(dw, type_ref, depth + 1))
            return t
    kind: TypeKind
    if go_kind is not None and go_kind in _GO_KINDS:
        kind = _GO_KINDS[go_kind]
    elif tag == DW_TAG_base_type:
        kind = ENCODING_KINDS.get(a.get(DW_AT_encoding, 0), "other")  # type: ignore[assignment]
    elif tag == DW_TAG_pointer_type:
        kind = "ptr" if type_ref is not None else "unsafe.Pointer"
    else:
        kind = _TAG_KINDS.get(tag, "other")
    size = a.get(DW_AT_byte_size)
    cu = dw.cu_at_offset(offset)
    if kind == "iface" and type_ref is not None:
        target = dw._read_die(type_ref)
        if target.attrs.get(DW_AT_name) == "runtime.eface":
            kind = "eface"
    if size is None:
        if kind in ("ptr", "unsafe.Pointer", "map", "chan", "func"):
            size = cu.address_size
        elif tag == DW_TAG_typedef and type_ref is not None and type_ref != offset:
            size = make_type(dw, type_ref, depth + 1).size if type_ref not in dw._types \
                else dw._types[type_ref].size
    return GoType(
        name=name, kind=kind, size=size, offset=offset, tag=tag, go_kind=go_kind,
        # 0 is the runtime's nil typeOff: the linker writes it for unreachable descriptors.
        runtime_type=a.get(DW_AT_go_runtime_type) or None, dict_index=a.get(DW_AT_go_dict_index), _dw=dw,
        _type_ref=type_ref, _elem_ref=a.get(DW_AT_go_elem), _key_ref=a.get(DW_AT_go_key),
    )


def _member_offset_expr(expr: bytes) -> int:
    """``DW_AT_data_member_location`` as an expression (``DW_OP_plus_uconst N``), as DWARF 2 has it."""
    if expr and expr[0] in (DW_OP_plus_uconst, DW_OP_constu):
        return uleb128(expr, 1)[0]
    raise BinaryFormatError(f"unsupported member location expression {expr.hex()}")
