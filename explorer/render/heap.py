"""Heap paths and referrers as text (steps from explorer.goruntime.heap.paths)."""

from __future__ import annotations

from typing import Any

from explorer.render.text import safe


def step_text(st: dict[str, Any]) -> str:
    """One path or referrer step as a line: a global, a goroutine's frame and variable, an object."""
    field = f".{st['field']}" if st.get("field") and not str(st["field"]).startswith(("[", "+")) else \
        (st.get("field") or "")
    if st["kind"] == "global":
        return f"global {safe(st['name'])}{safe(field)}"
    if st["kind"] == "stack":
        return (f"goroutine {st['goroutine']} frame {st['frame']} {safe(st['function'] or '?')}: "
                f"{safe(st['variable'])}{safe(field)}")
    if st["kind"] == "object":
        t = safe(st["type"]) if st["type"] else f"unknown ({st['size']}-byte slot)"
        return f"{st['address']:#x} {t}{safe(field)}"
    return f"{st['kind']} {safe(st.get('name') or '')}{safe(field)}"
