"""The panic value of a crashed goroutine, as text (what ``panic: ...`` printed).

Without calling methods (impossible in a core) we reproduce the runtime's ``printpanicval`` for the
values it prints without user code: strings and named string types, the runtime's own error types
(``runtime.errorString``, ``runtime.plainError``), ``*errors.errorString`` and ``*fmt.wrapError``
(their text is a field), numbers and bools. Anything else is shown as the runtime shows a value it
cannot print: ``(TYPE) ADDRESS``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from explorer.errors import ExplorerError
from explorer.goruntime.rtype import RType, RTypeReader

if TYPE_CHECKING:
    from explorer.core.memory import Memory
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess

MAX_PANIC_TEXT = 1 << 16


def type_reader(proc: GoProcess) -> RTypeReader:
    cache = proc.__dict__.get("_rtype_reader")
    if cache is None:
        base = proc.global_addr("runtime.types")
        if base is None and proc.moduledata is not None:
            base = proc.moduledata.types + proc.pie_bias
        cache = RTypeReader(proc.memory, proc.layout, base or 0, proc.go_minor)
        proc.__dict__["_rtype_reader"] = cache
    return cache


def _read_string(mem: Memory, addr: int) -> str:
    ptr, n = struct.unpack("<QQ", mem.read(addr, 16))
    if n > MAX_PANIC_TEXT:
        raise ExplorerError(f"string length {n} is garbage")
    return mem.read(ptr, n).decode("utf-8", "replace") if n else ""


def eface_text(proc: GoProcess, typ: int, data: int) -> str:
    """Text of an ``any`` value as ``printpanicval`` would print it (see module docstring)."""
    if not typ:
        return "nil"
    mem = proc.memory
    rt: RType = type_reader(proc).read(typ)
    if rt.kind == 24:  # string (non-pointer types are boxed: data points at the value)
        s = _read_string(mem, data)
        if rt.name == "runtime.errorString":
            return "runtime error: " + s
        if rt.name in ("string", "runtime.plainError"):
            return s
        return f'{rt.name}("{s}")'
    if rt.name in ("*errors.errorString", "*fmt.wrapError") and rt.kind == 22:
        # Both are pointers to structs whose first field is the message string.
        return _read_string(mem, data)
    if 2 <= rt.kind <= 12:
        size = rt.size if rt.size in (1, 2, 4, 8) else 8
        raw = mem.read(data, size) if not rt.direct_iface else data.to_bytes(8, "little")[:size]
        signed = rt.kind <= 6
        v = int.from_bytes(raw[:size], "little", signed=signed)
        return str(v) if rt.name in KIND_PLAIN else f"{rt.name}({v})"
    if rt.kind == 1:
        v = mem.read_u8(data)
        return "true" if v else "false"
    if rt.kind in (13, 14) and rt.size in (4, 8):
        raw = mem.read(data, rt.size) if not rt.direct_iface else data.to_bytes(8, "little")[: rt.size]
        (f,) = struct.unpack("<f" if rt.size == 4 else "<d", raw)
        return repr(f)
    return f"({rt.name}) {data:#x}"


KIND_PLAIN = {"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr"}


def panic_message(proc: GoProcess, g: Goroutine) -> str | None:
    """The innermost panic's value as text (with " [recovered]" like the runtime), or None."""
    if not g.panic_ptr:
        return None
    lay = proc.layout
    off_arg = lay.offset("runtime._panic", "arg")
    if off_arg is None:
        return None
    # The runtime prints the chain oldest first; the crash message is the innermost (first) panic's.
    typ, data = struct.unpack("<QQ", proc.memory.read(g.panic_ptr + off_arg, 16))
    text = eface_text(proc, typ, data)
    off_rec = lay.offset("runtime._panic", "recovered")
    if off_rec is not None and proc.memory.read_u8(g.panic_ptr + off_rec):
        text += " [recovered]"
    return text
