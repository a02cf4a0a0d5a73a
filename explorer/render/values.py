"""Text of Go values, in the style of delve's ``print``.

Short values print on one line (``main.Inner {A: 7, B: 70000}``, ``[]int len=3 cap=10 [10, -20, 30]``,
``map[string]int len=3 ["a": 1, "b": 2, "c": 3]``); a value whose line would be too long is laid
out over several lines, one field, element or entry per line, indented by nesting level. Nesting
depth and elements per collection are bounded; pointer cycles print as ``*T(0xADDR)``.
"""

from __future__ import annotations

from rich.text import Text

from explorer.goruntime.values import Value, Variable, format_value

__all__ = ["format_value", "format_variable", "pretty", "rich_summary"]

LINE_WIDTH = 100


def pretty(v: Value, *, depth: int = 4, max_elements: int = 64, width: int = LINE_WIDTH) -> str:
    """``v`` as text: one line if it fits in ``width``, else indented over several lines."""
    one = format_value(v, depth=depth, max_elements=max_elements)
    if len(one) <= width or not v.has_children:
        return one
    lines: list[str] = []
    _pretty(v, depth, max_elements, width, 0, lines, "", frozenset())
    return "\n".join(lines)


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
        kids = v.children(n)
        for name, child in kids:
            lab = f"{name}: " if v.kind == "struct" else ""
            _pretty(child, depth - 1, n, width, indent + 1, out, lab, path)
        total = v.child_count
        if total > len(kids):
            out.append(f"{pad}    ...+{total - len(kids)} more")
    out.append(f"{pad}{closer}")


def format_variable(var: Variable, *, depth: int = 3, max_elements: int = 16) -> str:
    """``name = value`` on one line (the ``vars`` listing)."""
    return f"{var.name} = {format_value(var.value, depth=depth, max_elements=max_elements)}"


def rich_summary(v: Value, *, max_elements: int = 8) -> Text:
    """A one-line summary with the type dimmed and unreadable values in red (for the TUI)."""
    t = Text()
    if v.kind == "unreadable":
        t.append(v.type_name + " ", style="dim")
        t.append(f"(unreadable: {v.error})", style="red")
        return t
    body = format_value(v, depth=1, max_elements=max_elements, with_type=False)
    t.append(v.type_name + " ", style="dim")
    t.append(body, style="bold" if v.kind in ("int", "uint", "float", "bool", "string") else "")
    return t
