"""Who holds an object: a shortest chain from a root, and the objects and roots that point into it.

A path is a list of steps, from the root to the object (JSON contract in docs/CLI.md):

- ``{"kind": "global", "name", "field"}`` — a package-level variable (by symbol; ``global 0x…`` in a
  stripped binary) and the field of it that holds the pointer;
- ``{"kind": "stack", "goroutine", "frame", "variable", "function", "field"}`` — a goroutine's
  frame (numbered as ``bt`` numbers them) and the variable (or unnamed slot) there;
- ``{"kind": "finalizer"|"cleanup"|"weak"|"finq", "name"}`` — runtime roots;
- ``{"kind": "object", "address", "type", "field"}`` — a heap object, its type (None if unknown)
  and the field of it that points to the next step (None on the last).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from explorer.errors import ExplorerError
from explorer.goruntime.heap.reach import path_to

if TYPE_CHECKING:
    from explorer.goruntime.heap.base import HeapLike as Heap
    from explorer.goruntime.heap.roots import Root


def object_index(heap: Heap, addr: int) -> int:
    """The allocated object holding ``addr`` (a clear error if there is none)."""
    i = heap.objects.find_one(addr)
    if i < 0:
        raise ExplorerError(f"{addr:#x} is not in an allocated heap object")
    return i


def field_in_object(heap: Heap, i: int, off: int) -> str:
    """The name of the word at byte ``off`` of object ``i`` (by its type; ``+0x18`` if unknown)."""
    tp = heap.types
    tid = int(tp.obj_type[i])
    hdr = int(tp.hdr[i])
    if tid < 0 or off < hdr:
        return f"+{off:#x}" if off or tid < 0 else ""
    t = heap.type_registry.types[tid]
    rel = off - hdr
    prefix = ""
    if tp.obj_array[i] and t.size:
        prefix = f"[{rel // t.size}]"
        rel %= t.size
    name = heap.type_registry.field_name(t, rel)
    if prefix:
        return prefix + ("." + name if name and not name.startswith(("[", "+")) else name)
    return name


def root_field(heap: Heap, r: Root, slot: int) -> str:
    off = slot - r.addr
    t = r.type if r.type is not None else r.naming_type
    if t is not None:
        ht = heap.type_registry.from_dwarf(t)
        if ht is not None:
            return heap.type_registry.field_name(ht, off)
    return f"+{off:#x}" if off else ""


def root_step(heap: Heap, r: Root, slot: int) -> dict[str, Any]:
    """A root as a path step; ``address + offset`` is the pointer slot."""
    field = root_field(heap, r, slot) or None
    if r.kind == "global":
        return {"kind": "global", "name": r.name, "address": r.addr, "offset": slot - r.addr, "field": field}
    if r.kind == "stack":
        return {"kind": "stack", "goroutine": r.goroutine, "frame": r.frame, "function": r.function,
                "variable": r.name, "address": r.addr, "offset": slot - r.addr, "field": field}
    return {"kind": r.kind, "name": r.name, "address": r.addr, "offset": slot - r.addr, "field": field}


def object_step(heap: Heap, i: int, off: int | None) -> dict[str, Any]:
    """An object as a path step; ``offset`` (None on the last step) is where its pointer to the next
    step is, ``field`` what its type calls that word."""
    return {"kind": "object", "address": int(heap.objects.addr[i]), "type": heap.type_name(i),
            "size": int(heap.objects.size[i]), "offset": off,
            "field": None if off is None else field_in_object(heap, i, off)}


def path(heap: Heap, addr: int) -> list[dict[str, Any]] | None:
    """A shortest chain of steps from a root to the object at ``addr``; None if it is unreachable."""
    i = object_index(heap, addr)
    found = path_to(heap.reach, i)
    if found is None:
        return None
    root_edge, steps = found
    roots = heap.roots
    r = roots.roots[int(roots.root[root_edge])]
    out = [root_step(heap, r, int(roots.slot[root_edge]))]
    g = heap.graph
    for k, (obj, _edge) in enumerate(steps):
        off = int(g.off[steps[k + 1][1]]) if k + 1 < len(steps) else None
        out.append(object_step(heap, obj, off))
    return out


def referrers(heap: Heap, addr: int, limit: int = 1000) -> list[dict[str, Any]]:
    """The objects and roots that point into the object at ``addr`` (objects first, up to ``limit``)."""
    i = object_index(heap, addr)
    g = heap.graph
    out: list[dict[str, Any]] = []
    roots = heap.roots
    for e in np.nonzero(roots.dst == i)[0][:limit].tolist():
        r = roots.roots[int(roots.root[e])]
        out.append(root_step(heap, r, int(roots.slot[e])))
    edges = np.nonzero(g.dst == i)[0][:limit]
    if len(edges):
        src = np.searchsorted(g.indptr, edges, side="right") - 1
        for s, e in zip(src.tolist(), edges.tolist(), strict=True):
            out.append(object_step(heap, s, int(g.off[e])))
    return out[:limit]


def objects_of_type(heap: Heap, name: str, limit: int | None = None) -> list[dict[str, Any]]:
    """Objects whose type is ``name``, as the histogram names them: ``T`` (single values of T),
    ``[]T`` (arrays of T), ``[N]T`` (arrays of exactly N), ``unknown`` (untyped objects)."""
    tp = heap.types
    reg = heap.type_registry
    objs = heap.objects
    if name in ("unknown", "?"):
        sel = np.nonzero(tp.obj_type < 0)[0]
    else:
        exact = None
        m = _ARRAY.match(name)
        if name.startswith("[]"):
            base, want_array = name[2:], True
        elif m is not None:
            base, want_array, exact = m.group(2), True, m.group(2)
        else:
            base, want_array = name, False
        ids = [t.id for t in reg.types if t.name == base]
        sel = np.nonzero(np.isin(tp.obj_type, ids))[0]
        sel = sel[tp.obj_array[sel] == want_array]
        if exact is not None and m is not None:
            n = int(m.group(1))
            t_size = {t.id: t.size for t in reg.types if t.name == base}
            sel = np.array([i for i in sel.tolist()
                            if int(tp.payload[i]) // max(t_size[int(tp.obj_type[i])], 1) == n], dtype=np.intp)
    reach = heap.reach.reachable
    rows = []
    for i in (sel[:limit] if limit is not None else sel).tolist():
        rows.append({"address": int(objs.addr[i]), "size": int(objs.size[i]), "type": heap.type_name(i),
                     "reachable": bool(reach[i])})
    return rows


_ARRAY = re.compile(r"^\[(\d+)\](.+)$")
