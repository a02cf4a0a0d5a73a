"""Types named in expressions (conversions, type assertions), resolved to DWARF types.

A type is looked up by the name DWARF gives it (``main.T``, ``*main.T``, ``[16]uint8``, ``uint8``);
a pointer, slice or array type the program never used has no DWARF entry, so one is made here from
its element type, as the compiler would lay it out (a pointer is 8 bytes, a slice ``{array, len,
cap}``, an array ``count * elem.size``). Builtin scalar types missing from DWARF are made too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.errors import ExpressionError
from explorer.goruntime.expr.syntax import TypeExpr

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoType
    from explorer.goruntime.decode import Decoder

PTR = 8
_TAG_BASE, _TAG_POINTER, _TAG_ARRAY, _TAG_STRUCT = 0x24, 0x0F, 0x01, 0x13
_SCALARS: dict[str, tuple[str, int]] = {
    "bool": ("bool", 1), "int": ("int", 8), "int8": ("int", 1), "int16": ("int", 2), "int32": ("int", 4),
    "int64": ("int", 8), "uint": ("uint", 8), "uint8": ("uint", 1), "uint16": ("uint", 2), "uint32": ("uint", 4),
    "uint64": ("uint", 8), "uintptr": ("uint", 8), "float32": ("float", 4), "float64": ("float", 8),
    "complex64": ("complex", 8), "complex128": ("complex", 16), "string": ("string", 16),
    "unsafe.Pointer": ("unsafe.Pointer", 8),
}
#: An array type made here has at most this many bytes (a garbage count is an error, not a type).
MAX_ARRAY_BYTES = 1 << 32


def _make(name: str, kind: str, size: int, tag: int, **seed: object) -> GoType:
    from explorer.binary.dwarf import GoType

    t = GoType(name=name, kind=kind, size=size, offset=-1, tag=tag)  # type: ignore[arg-type]
    for k, v in seed.items():
        t.__dict__[k] = v  # the cached properties (elem, target, count) of a type without DWARF
    return t


def pointer_to(dec: Decoder, t: GoType) -> GoType:
    """The type ``*t``."""
    got = dec.dwarf.type_by_name("*" + t.name)
    if got is not None and got.kind == "ptr":
        return got
    return _make("*" + t.name, "ptr", PTR, _TAG_POINTER, target=t, elem=t)


def slice_of(dec: Decoder, elem: GoType) -> GoType:
    """The type ``[]elem``."""
    got = dec.dwarf.type_by_name("[]" + elem.name)
    if got is not None and got.kind == "slice":
        return got
    return _make("[]" + elem.name, "slice", 3 * PTR, _TAG_STRUCT, elem=elem)


def array_of(dec: Decoder, elem: GoType, count: int) -> GoType:
    """The type ``[count]elem``."""
    name = f"[{count}]{elem.name}"
    got = dec.dwarf.type_by_name(name)
    if got is not None and got.kind == "array":
        return got
    if elem.size is None:
        raise ExpressionError(f"{name}: the size of {elem.name} is unknown")
    if count < 0 or count * elem.size > MAX_ARRAY_BYTES:
        raise ExpressionError(f"{name}: an array of {count} elements is too big to show")
    return _make(name, "array", count * elem.size, _TAG_ARRAY, target=elem, elem=elem, count=count)


def resolve_type(dec: Decoder, t: TypeExpr) -> GoType:
    """The DWARF type ``t`` spells; raises :class:`ExpressionError` when there is none."""
    name = t.go_name
    got = dec.dwarf.type_by_name(name)
    if got is not None:
        return got
    if t.kind == "name":
        if name in _SCALARS:
            kind, size = _SCALARS[name]
            return _make(name, kind, size, _TAG_BASE if kind != "string" else _TAG_STRUCT)
        if "." not in name and not name.startswith("["):
            main = dec.dwarf.type_by_name("main." + name)
            if main is not None:
                return main
        raise ExpressionError(f"no type {name} in the executable's DWARF")
    assert t.elem is not None or t.kind == "iface"
    if t.kind == "ptr":
        return pointer_to(dec, resolve_type(dec, t.elem))  # type: ignore[arg-type]
    if t.kind == "slice":
        return slice_of(dec, resolve_type(dec, t.elem))  # type: ignore[arg-type]
    if t.kind == "array":
        return array_of(dec, resolve_type(dec, t.elem), int(t.count or 0))  # type: ignore[arg-type]
    raise ExpressionError(f"no type {name} in the executable's DWARF (the program never used it)")
