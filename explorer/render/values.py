"""Text of Go values, in the style of delve's ``print``.

Short values print on one line (``main.Inner {A: 7, B: 70000}``, ``[]int len=3 cap=10 [10, -20, 30]``,
``map[string]int len=3 ["a": 1, "b": 2, "c": 3]``); a value whose line would be too long is laid
out over several lines, one field, element or entry per line, indented by nesting level. Nesting
depth and elements per collection are bounded; pointer cycles print as ``*T(0xADDR)``.

Everything here is shown on a terminal: strings are Go-quoted, and every line passes
:func:`explorer.render.text.safe`, since type, field and function names come from the executable.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

from rich.text import Text

from explorer.errors import ExplorerError, UnreadableMemory
from explorer.goruntime.values import MAX_ELEMENTS, Value, Variable, mem_reason
from explorer.render.text import go_quote, safe

__all__ = ["format_float", "format_value", "format_variable", "iter_tree", "named_children", "pretty",
           "rich_summary", "summary"]

LINE_WIDTH = 100


def summary(v: Value, max_elements: int = 8, depth: int = 1) -> str:
    """One line: ``[]uint8 len=64 cap=512 [0x01, 0x02, ...]``, ``main.T {A: 1, B: "x"}``."""
    return format_value(v, depth=depth, max_elements=max_elements, with_type=True)


def named_children(v: Value, limit: int = MAX_ELEMENTS) -> list[tuple[str, Value]]:
    """Fields, elements (``[i]``), map entries (``[key]``), a pointer's target (``*``) or an
    interface's dynamic value (named by its type); at most ``limit`` of them. Names are safe text."""
    out: list[tuple[str, Value]] = []
    k = v.kind
    if k == "struct":
        out = [(safe(f.name), fv) for f, fv in v.fields()][:limit]
    elif k in ("slice", "array"):
        out = [(f"[{i}]", e) for i, e in enumerate(v.elements(limit))]
    elif k == "map":
        out = [(f"[{_key_label(key)}]", val) for key, val in v.entries(limit)]
    elif k == "chan":
        out = [(f"[{i}]", e) for i, e in enumerate(v.queued(limit))]
    elif k == "ptr":
        t = v.target()
        out = [("*", t)] if t is not None else []
    elif k == "iface":
        d = v.dynamic_value()
        out = [(safe(v.dynamic_type or "?"), d)] if d is not None else []
    return out


def _key_label(v: Value) -> str:
    return format_value(v, depth=1, max_elements=4, with_type=False)




def format_float(x: float, size: int | None = 8) -> str:
    """Go's ``%v`` of a float: the shortest text that reads back as the same float32/float64."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if size == 4:
        want = struct.pack("<f", x)
        for prec in range(1, 10):
            s = f"{x:.{prec}g}"
            if struct.pack("<f", float(s)) == want:
                return _go_exp(s)
    return _go_exp(repr(x))


def _go_exp(s: str) -> str:
    if "e" in s:
        mant, exp = s.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").lstrip("0") or "0"
        return f"{mant}e{sign}{digits.zfill(2)}"
    if s.endswith(".0"):
        return s[:-2]
    return s


def format_value(v: Value, *, depth: int = 3, max_elements: int = 64, with_type: bool = True,
                 max_string: int = 512) -> str:
    """One line of text for ``v``, descending ``depth`` levels, ``max_elements`` per collection."""
    return safe(_fmt(v, depth, max_elements, with_type, max_string, frozenset()))


def _fmt(v: Value, depth: int, n: int, typed: bool, ms: int, path: frozenset[tuple[int, str]]) -> str:
    try:
        return _fmt1(v, depth, n, typed, ms, path)
    except UnreadableMemory as e:
        return f"(unreadable: {mem_reason(e)})"
    except ExplorerError as e:
        return f"(unreadable: {e})"


def _fmt1(v: Value, depth: int, n: int, typed: bool, ms: int, path: frozenset[tuple[int, str]]) -> str:
    k = v.kind
    tn = v.type_name
    pre = f"{tn} " if typed else ""
    if k == "unreadable":
        return f"{pre}(unreadable: {v.error})"
    if k == "bool":
        s = "true" if v.value else "false"
        return s
    if k in ("int", "uint"):
        s = str(v.value)
        return s if tn in _PLAIN_NUMERIC or not typed else f"{tn}({s})"
    if k == "float":
        s = format_float(v.value, v.size)
        return s if tn in _PLAIN_NUMERIC or not typed else f"{tn}({s})"
    if k == "complex":
        half = (v.size or 16) // 2
        re_, im = format_float(v.real or 0.0, half), format_float(v.imag or 0.0, half)
        sign = "" if im.startswith(("-", "+")) else "+"
        return f"({re_}{sign}{im}i)"
    if k == "string":
        raw, cut = v.raw_text(ms)
        s = go_quote(raw) + ("..." if cut else "")
        return s if tn == "string" or not typed else f"{tn}({s})"
    if k in ("slice", "array"):
        head = pre
        if k == "slice":
            if v.is_nil:
                return f"{pre}nil"
            head = f"{pre}len={v.length} cap={v.cap} "
        if depth <= 0:
            return f"{head}[...]" if v.length else f"{head}[]"
        elems = v.elements(n)
        if v.elem_type == "uint8" and elems:
            parts = [f"{e.value:#04x}" if e.kind == "uint" else _fmt(e, 0, n, False, ms, path) for e in elems]
        else:
            parts = [_fmt(e, depth - 1, n, False, ms, path) for e in elems]
        if int(v.length or 0) > len(elems):
            parts.append(f"...+{int(v.length or 0) - len(elems)} more")
        return f"{head}[{', '.join(parts)}]"
    if k == "struct":
        if depth <= 0:
            return f"{pre}{{...}}"
        parts = [f"{f.name}: {_fmt(fv, depth - 1, n, False, ms, path)}" for f, fv in v.fields()[:n]]
        return f"{pre}{{{', '.join(parts)}}}"
    if k == "ptr":
        if not v.value:
            return f"{pre}nil" if typed else "nil"
        addr = f"{v.value:#x}"
        if v._t is None or v._t.kind != "ptr":
            return f"{tn}({addr})"
        key = (int(v.value), tn)
        if key in path or depth <= 0:
            return f"{tn}({addr})"
        t = v.target()
        if t is None or t.kind == "unreadable":
            return f"{tn}({addr}) (unreadable: {t.error if t is not None else 'unknown target type'})"
        return "*" + _fmt(t, depth - 1, n, True, ms, path | {key})
    if k == "map":
        if not v.value:
            return f"{pre}nil"
        if depth <= 0:
            return f"{pre}len={v.length} [...]"
        ents = v.entries(n)
        parts = [f"{_fmt(a, 1, n, False, ms, path)}: {_fmt(b, depth - 1, n, False, ms, path)}" for a, b in ents]
        if int(v.length or 0) > len(ents):
            parts.append(f"...+{int(v.length or 0) - len(ents)} more")
        return f"{pre}len={v.length} [{', '.join(parts)}]"
    if k == "iface":
        if v._iface is None:
            return f"{pre}nil"
        dv = v.dynamic_value()
        inner = _fmt(dv, depth - 1, n, False, ms, path) if dv is not None and depth > 0 else "..."
        return f"{tn}({v.dynamic_type}) {inner}" if typed else f"{v.dynamic_type}({inner})"
    if k == "chan":
        if not v.value:
            return f"{pre}nil"
        s = f"{pre}{v.length}/{v.cap}"
        if v.closed:
            s += " (closed)"
        if depth > 0 and v.length:
            q = v.queued(n)
            s += " [" + ", ".join(_fmt(e, depth - 1, n, False, ms, path) for e in q)
            s += f", ...+{int(v.length or 0) - len(q)} more]" if int(v.length or 0) > len(q) else "]"
        return s
    if k == "func":
        if not v.value:
            return f"{pre}nil"
        return v.function or f"{v.data:#x}"
    return f"{pre}?"


_PLAIN_NUMERIC = {"int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64",
                  "uintptr", "float32", "float64", "complex64", "complex128", "bool"}


def pretty(v: Value, *, depth: int = 4, max_elements: int = 64, width: int = LINE_WIDTH) -> str:
    """``v`` as text: one line if it fits in ``width``, else indented over several lines."""
    one = format_value(v, depth=depth, max_elements=max_elements)
    if len(one) <= width or not v.has_children:
        return one
    lines: list[str] = []
    _pretty(v, depth, max_elements, width, 0, lines, "", frozenset())
    return safe("\n".join(lines), keep_newlines=True)


def _head(v: Value) -> str:
    k = v.kind
    if k == "slice":
        return f"{v.type_name} len={v.length} cap={v.cap}"
    if k in ("map",):
        return f"{v.type_name} len={v.length}"
    if k == "chan":
        return f"{v.type_name} {v.length}/{v.cap}" + (" (closed)" if v.closed else "")
    if k == "iface":
        return f"{v.type_name}({v.dynamic_type})"
    if k == "ptr":
        return f"{v.type_name}({int(v.value or 0):#x})"
    return v.type_name


def _pretty(v: Value, depth: int, n: int, width: int, indent: int, out: list[str], label: str,
            path: frozenset[tuple[int, str]]) -> None:
    pad = "    " * indent
    one = format_value(v, depth=depth, max_elements=n, with_type=not label or v.kind in ("struct", "iface"))
    if len(pad) + len(label) + len(one) <= width or depth <= 0 or not v.has_children:
        out.append(f"{pad}{label}{one}")
        return
    if v.kind == "ptr":
        key = (int(v.value or 0), v.type_name)
        t = v.target()
        if key in path or t is None:
            out.append(f"{pad}{label}{v.type_name}({int(v.value or 0):#x})")
            return
        _pretty(t, depth - 1, n, width, indent, out, label + "*", path | {key})
        return
    if v.kind == "iface":
        d = v.dynamic_value()
        if d is not None:
            _pretty(d, depth - 1, n, width, indent, out, f"{label}{v.type_name}({v.dynamic_type}) ", path)
            return
    opener, closer = ("{", "}") if v.kind == "struct" else ("[", "]")
    out.append(f"{pad}{label}{_head(v)} {opener}")
    if v.kind == "map":
        ents = v.entries(n)
        for key_v, val in ents:
            k = format_value(key_v, depth=1, max_elements=4, with_type=False)
            _pretty(val, depth - 1, n, width, indent + 1, out, f"{k}: ", path)
        if int(v.length or 0) > len(ents):
            out.append(f"{pad}    ...+{int(v.length or 0) - len(ents)} more")
    else:
        kids = named_children(v, n)
        for name, child in kids:
            lab = f"{name}: " if v.kind == "struct" else ""
            _pretty(child, depth - 1, n, width, indent + 1, out, lab, path)
        total = v.child_count
        if total > len(kids):
            out.append(f"{pad}    ...+{total - len(kids)} more")
    out.append(f"{pad}{closer}")


def format_variable(var: Variable, *, depth: int = 3, max_elements: int = 16) -> str:
    """``name = value`` on one line (the ``vars`` listing)."""
    return f"{safe(var.name)} = {format_value(var.value, depth=depth, max_elements=max_elements)}"


def rich_summary(v: Value, *, max_elements: int = 8) -> Text:
    """A one-line summary with the type dimmed and unreadable values in red (for the TUI)."""
    t = Text()
    if v.kind == "unreadable":
        t.append(safe(v.type_name) + " ", style="dim")
        t.append(safe(f"(unreadable: {v.error})"), style="red")
        return t
    body = format_value(v, depth=1, max_elements=max_elements, with_type=False)
    t.append(safe(v.type_name) + " ", style="dim")
    t.append(body, style="bold" if v.kind in ("int", "uint", "float", "bool", "string") else "")
    return t


def iter_tree(v: Value, max_depth: int = 4) -> Iterator[tuple[int, str, Value]]:
    """Depth-first (depth, name, value) over ``v``'s children (for views and tests)."""
    stack: list[tuple[int, str, Value]] = [(0, "", v)]
    while stack:
        d, name, cur = stack.pop()
        yield d, name, cur
        if d < max_depth and cur.has_children:
            for cname, child in reversed(named_children(cur)):
                stack.append((d + 1, cname, child))
