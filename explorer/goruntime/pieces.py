"""Variables the compiler split into words, put back together (Go 1.27's DWARF).

The Go compiler decomposes a slice, string, interface or complex variable into its words (SSA's
``decompose`` pass) and names each word's stack slot after the variable and the word:
``body.ptr``, ``body.len``, ``body.cap`` for a slice; ``name.ptr``, ``name.len`` for a string;
``err.itab`` (``.type`` for ``any``) and ``err.data`` for an interface; ``.real``, ``.imag`` for a
complex number. Up to Go 1.26 ``dwarfgen`` described only the variable itself (a location list
whose ``DW_OP_piece``\\ s name registers or those slots). From Go 1.27 it also describes each slot
as a variable of its own, with one stack location for the whole function: a frame shows
``body.ptr = *80``, ``body.len = 42``, ``body.cap = 55`` beside (or instead of) ``body``.

:func:`merge_split_variables` shows one ``body`` again:

- the words' variables are dropped where the variable itself is readable at the pc, and where
  they are no more readable than it;
- where it is not (optimized out at this pc, or in a register a caller frame does not know), it is
  rebuilt from its own pieces where they are known and from the words' slots for the rest. A slot
  holds the last value the function spilled for that word: a named slot holds nothing else (the
  compiler's stackalloc gives a named slot only to values of that name);
- where only the words are described (a variable of an inlined call), a slice whose three words
  are there is rebuilt as ``[]T`` (``T`` from ``ptr``'s type ``*T``);
- anything incomplete is left as the compiler described it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from explorer.errors import ExplorerError
from explorer.goruntime.values import Loc, Value, Variable

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoType
    from explorer.binary.dwarf import Variable as DwarfVariable
    from explorer.goruntime.decode import Decoder
    from explorer.goruntime.unwind import Frame


class FrameScope(Protocol):
    """What is read of explorer.goruntime.variables.FrameScope (which imports this module)."""

    @property
    def frame(self) -> Frame: ...
    @property
    def function(self) -> Any: ...
    @property
    def link_pc(self) -> int: ...
    @property
    def regs(self) -> Mapping[int, int]: ...
    @property
    def dict_value(self) -> Any: ...

_SPLIT_RE = re.compile(r"^(?P<base>.+)\.(?P<word>ptr|len|cap|data|itab|type|real|imag)$")

#: The words of each kind of value, by offset (64-bit: every word is 8 bytes, complex64's 4).
_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "slice": (("ptr",), ("len",), ("cap",)),
    "string": (("ptr",), ("len",)),
    "iface": (("itab", "type"), ("data",)),
    "eface": (("type", "itab"), ("data",)),
    "complex": (("real",), ("imag",)),
}


def split_name(name: str) -> tuple[str, str] | None:
    """(variable, word) of a word's slot name (``body.ptr`` → ("body", "ptr")), else None."""
    m = _SPLIT_RE.match(name)
    return (m["base"], m["word"]) if m else None


#: A frame's variable with the DWARF variable it comes from.
Entry = tuple["DwarfVariable", Variable]
#: Reads a DWARF variable's first ``size`` bytes at the frame, or None.
ReadBytes = Callable[["DwarfVariable", int], "bytes | None"]


def _kind(t: GoType | None) -> str | None:
    """The value kind of a type, through typedefs."""
    seen = 0
    while t is not None and t.kind == "typedef" and seen < 8:
        t = t.target
        seen += 1
    if t is None:
        return None
    if t.kind in _WORDS:
        return t.kind
    return None


def merge_split_variables(dec: Decoder, scope: FrameScope, entries: list[Entry],
                          read_bytes: ReadBytes) -> list[Entry]:
    """``entries`` (a frame's variables with their DWARF variables, in order) with the words of
    split variables folded into the variable they belong to (see the module docstring).
    ``read_bytes(var, size)`` evaluates a DWARF variable's location to ``size`` bytes, or None."""
    words: dict[str, dict[str, int]] = {}
    for i, (dv, _v) in enumerate(entries):
        sp = split_name(dv.name)
        if sp is not None:
            words.setdefault(sp[0], {})[sp[1]] = i
    if not words:
        return entries
    by_name = {v.name: i for i, (_dv, v) in enumerate(entries)}
    drop: set[int] = set()
    replace: dict[int, Entry] = {}
    for base, parts in words.items():
        bi = by_name.get(base)
        if bi is not None and split_name(entries[bi][0].name) is None:
            dv, v = entries[bi]
            if v.value.kind != "unreadable":
                drop.update(parts.values())
                continue
            # Words that tell nothing either (not assigned yet...) only repeat that ``v`` is unreadable.
            drop.update(i for i in parts.values() if entries[i][1].value.kind == "unreadable")
            if dv.name.startswith("&"):  # moved to the heap: the words are not the value's
                continue
            rebuilt = _rebuild(dec, scope, dv.type, parts, entries, read_bytes, dv)
            if rebuilt is not None:
                replace[bi] = (dv, Variable(v.name, v.kind, rebuilt, v.decl_line))
                drop.update(parts.values())
            continue
        if bi is None and set(parts) == {"ptr", "len", "cap"}:
            first = min(parts.values())
            pdv = entries[parts["ptr"]][0]
            elem = pdv.type.target if pdv.type is not None and pdv.type.kind == "ptr" else None
            st = dec.dwarf.type_by_name(f"[]{elem.name}") if elem is not None and elem.name else None
            if st is None:
                continue
            rebuilt = _rebuild(dec, scope, st, parts, entries, read_bytes, None)
            if rebuilt is None:
                continue
            v0 = entries[first][1]
            replace[first] = (pdv, Variable(base, v0.kind, rebuilt, v0.decl_line))
            drop.update(i for i in parts.values() if i != first)
    out: list[Entry] = []
    for i, e in enumerate(entries):
        if i in replace:
            out.append(replace[i])
        elif i not in drop:
            out.append(e)
    return out


def _rebuild(dec: Decoder, scope: FrameScope, t: GoType | None, parts: dict[str, int], entries: list[Entry],
             read_bytes: ReadBytes, own: DwarfVariable | None) -> Value | None:
    """The value of type ``t`` from its words: the variable's own pieces where known (``own``),
    the words' slots for the rest; None when a word is missing."""
    kind = _kind(t)
    if t is None or kind is None or not t.size:
        return None
    layout = _WORDS[kind]
    width = t.size // len(layout)
    if width * len(layout) != t.size:
        return None
    known = _own_words(dec, scope, own, width, len(layout)) if own is not None else {}
    buf = bytearray()
    for k, names in enumerate(layout):
        word = known.get(k)
        if word is None:
            i = next((parts[n] for n in names if n in parts), None)
            if i is None or entries[i][1].value.kind == "unreadable":  # e.g. not assigned yet
                return None
            word = read_bytes(entries[i][0], width)
            if word is None:
                return None
        buf += word
    try:
        return dec.decode(t, Loc(None, bytes(buf)), gdict=scope.dict_value)
    except ExplorerError:
        return None


def _own_words(dec: Decoder, scope: FrameScope, var: DwarfVariable, width: int, count: int) -> dict[int, bytes]:
    """The words of ``var`` its own location describes at the frame's pc (piece by piece: a piece
    in memory, or in a register this frame knows), by index."""
    expr = var.location_at(scope.link_pc)
    if not expr:
        return {}
    f = scope.frame
    fn = scope.function
    try:
        pieces = dec.dwarf.eval_location(expr, cu=fn.cu if fn is not None else None, cfa=f.fp, regs=scope.regs,
                                         frame_base=f.fp, read_mem=dec.mem.read)
    except ExplorerError:
        return {}
    out: dict[int, bytes] = {}
    off = 0
    for p in pieces:
        n = p.size if p.size is not None else width * count - off
        if off % width == 0 and n == width:
            data: bytes | None = None
            if p.kind == "memory" and p.address is not None:
                try:
                    data = bytes(dec.mem.read(p.address, n))
                except ExplorerError:
                    data = None
            elif p.kind in ("register", "value") and p.value is not None:
                data = (p.value & ((1 << 64) - 1)).to_bytes(8, "little")[:n]
            if data is not None:
                out[off // width] = data
        off += n
    return out
