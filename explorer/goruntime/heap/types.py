"""Heap types: what a value of a type holds that leads to other heap objects (a "pointer plan").

A :class:`HType` is made from a runtime type descriptor (:mod:`.rtypes`, works for stripped
binaries) or, for types the program has no descriptor for (a global of a struct type never boxed nor
allocated), from DWARF. Types with a descriptor are always made from it, whether reached through
DWARF or the heap, so one type has one identity.

A plan lists, per byte offset in a value, what the word there means:

- ``ptr T``: points to a T (the object it points to is a T when the pointer is to its start);
- ``elems T``: points to one or more Ts (a slice's or a map bucket array's backing store: the object
  is typed as an array of T when the pointer is at a multiple of T's size from its start);
- ``string``: points to string bytes; ``iface``/``eface``: a type (itab) word then a data word;
- ``map M``: points to a map header of map type M (classic ``runtime.hmap`` up to 1.23, swiss
  ``internal/runtime/maps.Map`` from 1.24, each with its own synthetic plan: buckets, overflow,
  directory, tables, groups); ``chan E``: points to a ``runtime.hchan`` whose buffer holds Es;
- ``func``: points to a closure (named by its function); ``swissdir M``: a swiss map's directory.

Map internals get synthetic types named as the runtime names them (``runtime.hmap``,
``internal/runtime/maps.table``, ...); arrays of T are named ``[N]T``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import explorer.goruntime.heap.rtypes as K
from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.goruntime.heap.base import HeapLike as Heap
    from explorer.goruntime.heap.rtypes import RType

MAX_PLAN = 4096  # entries per plan; bigger arrays of pointerful elements become an "array" entry
MAX_DEPTH = 32


@dataclass(eq=False)
class Action:
    """What the word at ``offset`` of a value means (see the module docstring)."""

    offset: int
    kind: str  # ptr, elems, string, iface, eface, map, chan, func, swissdir, array
    target: HType | None = None
    count: int = 0  # for "array": element count (target is the element type)
    stride: int = 0
    extra: Any = None  # map: the map's RType


@dataclass(eq=False)
class HType:
    """A type as the heap walk sees it."""

    name: str
    size: int
    kind: str  # "struct", "ptr", "array", "scalar", "map", "synthetic", ...
    rtype: RType | None = None
    dwarf: Any = None  # a DWARF GoType, when known
    id: int = -1  # index in the registry
    _plan: list[Action] | None = field(default=None, repr=False)
    names: dict[int, str] = field(default_factory=dict)  # synthetic types: field names by offset
    builder: Any = field(default=None, repr=False)

    @property
    def plan(self) -> list[Action]:
        if self._plan is None:
            self._plan = []  # cycles: a recursive type sees itself as empty while being built
            self._plan = self.builder.plan_of(self) if self.builder is not None else []
        return self._plan

    def array_name(self, n: int) -> str:
        return f"[{n}]{self.name}"


class TypeRegistry:
    """HTypes of one heap, by descriptor address, DWARF offset or synthetic key."""

    def __init__(self, heap: Heap) -> None:
        self.heap = heap
        self.proc = heap.proc
        self.tds = heap.descriptors
        self.layout = heap.proc.layout
        self.types: list[HType] = []
        self._by_key: dict[Any, HType] = {}
        self._types_base: int | None = None

    def _add(self, key: Any, t: HType) -> HType:
        t.id = len(self.types)
        t.builder = self
        self.types.append(t)
        self._by_key[key] = t
        return t

    @property
    def types_base(self) -> int:
        if self._types_base is None:
            self._types_base = int(self.tds.names.types_base or 0)
        return self._types_base

    # -- constructors -------------------------------------------------------------------------------

    def from_rtype(self, rt: RType) -> HType:
        key = ("rt", rt.addr)
        t = self._by_key.get(key)
        if t is None:
            kind = _KIND_NAMES.get(rt.kind, "scalar")
            t = self._add(key, HType(rt.name or f"type {rt.addr:#x}", rt.size, kind, rtype=rt))
        return t

    def from_rtype_addr(self, addr: int) -> HType | None:
        rt = self.tds.get(addr)
        return self.from_rtype(rt) if rt is not None else None

    def from_dwarf(self, gt: Any) -> HType | None:
        """The HType of a DWARF type (its descriptor's when it has one)."""
        if gt is None:
            return None
        key = ("dw", gt.offset)
        t = self._by_key.get(key)
        if t is not None:
            return t
        rt_off = getattr(gt, "runtime_type", None)
        if rt_off and self.types_base:
            rt = self.tds.get(self.types_base + rt_off)
            if rt is not None and (gt.size is None or rt.size == gt.size):
                t = self.from_rtype(rt)
                if t.dwarf is None:
                    t.dwarf = gt
                self._by_key[key] = t
                return t
        base = gt.strip_typedefs() if gt.kind == "typedef" else gt
        t = self._add(key, HType(gt.name or base.name or "?", int(base.size or 0), base.kind, dwarf=gt))
        return t

    def synthetic(self, key: Any, name: str, size: int, plan: list[Action],
                  names: dict[int, str] | None = None) -> HType:
        t = self._by_key.get(("syn", key))
        if t is None:
            t = self._add(("syn", key), HType(name, size, "synthetic"))
            t._plan = plan
            t.names = dict(names or {})
        return t

    def closure(self, fn_name: str) -> HType:
        t = self._by_key.get(("closure", fn_name))
        if t is None:
            t = self._add(("closure", fn_name), HType(f"closure {fn_name}", 8, "closure"))
            t._plan = []
        return t

    @property
    def uint8(self) -> HType:
        t = self._by_key.get(("syn", "uint8"))
        if t is None:
            t = self._add(("syn", "uint8"), HType("uint8", 1, "scalar"))
            t._plan = []
        return t

    # -- plans ---------------------------------------------------------------------------------------

    def plan_of(self, t: HType) -> list[Action]:
        out: list[Action] = []
        try:
            if t.rtype is not None:
                self._rt_plan(t.rtype, 0, out, 0)
            elif t.dwarf is not None:
                self._dw_plan(t.dwarf, 0, out, 0)
        except ExplorerError:
            pass
        return out

    def _rt_plan(self, rt: RType, base: int, out: list[Action], depth: int) -> None:
        if depth > MAX_DEPTH or not rt.ptrbytes or len(out) > MAX_PLAN:
            return
        tds = self.tds
        k = rt.kind
        if k == K.POINTER:
            e = tds.elem(rt)
            out.append(Action(base, "ptr", self.from_rtype(e) if e is not None else None))
        elif k == K.SLICE:
            e = tds.elem(rt)
            out.append(Action(base, "elems", self.from_rtype(e) if e is not None else None))
        elif k == K.STRING:
            out.append(Action(base, "string", self.uint8))
        elif k == K.INTERFACE:
            out.append(Action(base, "eface" if self._empty_iface(rt) else "iface"))
        elif k == K.MAP:
            out.append(Action(base, "map", self.map_header(rt), extra=rt))
        elif k == K.CHAN:
            out.append(Action(base, "chan", self.chan_header(rt)))
        elif k == K.FUNC:
            out.append(Action(base, "func"))
        elif k == K.ARRAY:
            e = tds.elem(rt)
            n = tds.array_len(rt)
            if e is None or not e.ptrbytes or n <= 0:
                return
            sub: list[Action] = []
            self._rt_plan(e, 0, sub, depth + 1)
            if n * len(sub) <= MAX_PLAN - len(out):
                for i in range(n):
                    out.extend(Action(base + i * e.size + a.offset, a.kind, a.target, a.count, a.stride, a.extra)
                               for a in sub)
            else:
                out.append(Action(base, "array", self.from_rtype(e), count=n, stride=e.size))
        elif k == K.STRUCT:
            for f in tds.fields(rt):
                if not f.type.ptrbytes:
                    continue
                if f.name == "overflow" and f.type.kind == K.UNSAFE_POINTER and rt.name.startswith("map.bucket["):
                    # A classic map bucket's overflow link is an unsafe.Pointer to another bucket.
                    out.append(Action(base + f.offset, "ptr", self.from_rtype(rt)))
                    continue
                self._rt_plan(f.type, base + f.offset, out, depth + 1)

    def _empty_iface(self, rt: RType) -> bool:
        o = self.tds.o_fields + 8  # InterfaceType.Methods' len (same offset as StructType.Fields)
        v = self.proc.memory.try_read(rt.addr + o, 8)
        return v is not None and int.from_bytes(v, "little") == 0

    def _dw_plan(self, gt: Any, base: int, out: list[Action], depth: int) -> None:
        if depth > MAX_DEPTH or len(out) > MAX_PLAN or gt is None:
            return
        rt_off = getattr(gt, "runtime_type", None)
        if rt_off and self.types_base and depth > 0:
            rt = self.tds.get(self.types_base + rt_off)
            if rt is not None:
                self._rt_plan(rt, base, out, depth)
                return
        t = gt.strip_typedefs() if gt.kind == "typedef" else gt
        k = t.kind
        if k == "ptr":
            out.append(Action(base, "ptr", self.from_dwarf(t.elem)))
        elif k == "slice":
            out.append(Action(base, "elems", self.from_dwarf(t.elem)))
        elif k == "string":
            out.append(Action(base, "string", self.uint8))
        elif k == "eface":
            out.append(Action(base, "eface"))
        elif k == "iface":
            out.append(Action(base, "iface"))
        elif k in ("map", "chan"):
            rt = self.tds.get(self.types_base + rt_off) if rt_off and self.types_base else None
            if rt is not None:
                self._rt_plan(rt, base, out, depth)
        elif k == "func":
            out.append(Action(base, "func"))
        elif k == "array":
            e = t.elem
            n = t.count or 0
            if e is None or n <= 0 or not e.size:
                return
            sub: list[Action] = []
            self._dw_plan(e, 0, sub, depth + 1)
            if not sub:
                return
            if n * len(sub) <= MAX_PLAN - len(out):
                for i in range(n):
                    out.extend(Action(base + i * e.size + a.offset, a.kind, a.target, a.count, a.stride, a.extra)
                               for a in sub)
            else:
                ht = self.from_dwarf(e)
                out.append(Action(base, "array", ht, count=n, stride=int(e.size)))
        elif k == "struct":
            for f in t.fields:
                self._dw_plan(f.type, base + f.offset, out, depth + 1)

    # -- runtime internals -------------------------------------------------------------------------

    def map_header(self, mt: RType) -> HType:
        """The synthetic type of the header of maps of map type ``mt``."""
        lay = self.layout
        group = self.tds.map_group(mt)
        g = self.from_rtype(group) if group is not None else None
        if self.tds.swiss:
            s = "internal/runtime/maps.Map"
            t = "internal/runtime/maps.table"
            o_groups = lay.offset(t, "groups.data") or 16
            table = self.synthetic(("table", mt.addr), t, lay.source.size(t) or 32,
                                   [Action(o_groups, "elems", g)], {o_groups: "groups.data"})
            tptr = self.synthetic(("tableptr", mt.addr), "*" + t, 8, [Action(0, "ptr", table)])
            o_dir = lay.offset(s, "dirPtr") or 16
            plan = [Action(o_dir, "swissdir", g, extra=(tptr, lay.offset(s, "dirLen") or 24))]
            return self.synthetic(("map", mt.addr), s, lay.source.size(s) or 48, plan, {o_dir: "dirPtr"})
        s = "runtime.hmap"
        gname = g.name if g is not None else "bmap"
        bptr = self.synthetic(("bptr", mt.addr), f"*{gname}", 8, [Action(0, "ptr", g)])
        bslice = self.synthetic(("bslice", mt.addr), f"[]*{gname}", 24, [Action(0, "elems", bptr)])
        x = "runtime.mapextra"
        o_ov, o_old, o_next = (lay.offset(x, f) for f in ("overflow", "oldoverflow", "nextOverflow"))
        o_ov, o_old, o_next = (o_ov or 0), (8 if o_old is None else o_old), (16 if o_next is None else o_next)
        extra = self.synthetic(("extra", mt.addr), x, lay.source.size(x) or 24,
                               [Action(o_ov, "ptr", bslice), Action(o_old, "ptr", bslice),
                                Action(o_next, "ptr", g)],
                               {o_ov: "overflow", o_old: "oldoverflow", o_next: "nextOverflow"})
        o_b = lay.offset(s, "buckets") or 16
        o_ob = lay.offset(s, "oldbuckets") or 24
        plan = [Action(o_b, "elems", g), Action(o_ob, "elems", g)]
        names = {o_b: "buckets", o_ob: "oldbuckets"}
        o_extra = lay.offset(s, "extra")
        if o_extra is not None:
            plan.append(Action(o_extra, "ptr", extra))
            names[o_extra] = "extra"
        return self.synthetic(("map", mt.addr), s, lay.source.size(s) or 48, plan, names)

    def chan_header(self, ct: RType) -> HType:
        lay = self.layout
        e = self.tds.elem(ct)
        he = self.from_rtype(e) if e is not None else None
        o_buf = lay.offset("runtime.hchan", "buf") or 16
        plan = [Action(o_buf, "elems", he)] if e is not None and e.ptrbytes else []
        return self.synthetic(("chan", ct.addr), "runtime.hchan", lay.source.size("runtime.hchan") or 96, plan,
                              {o_buf: "buf"})

    # -- naming offsets ------------------------------------------------------------------------------

    def field_name(self, t: HType, off: int) -> str:
        """A Go-like path to byte ``off`` of a value of ``t`` (``Next``, ``[3].key``, ``+0x18``)."""
        if t.names:
            return t.names.get(off, f"+{off:#x}" if off else "")
        parts: list[str] = []
        cur: RType | None = t.rtype
        dw = t.dwarf if cur is None else None
        for _ in range(MAX_DEPTH):
            if cur is not None:
                if cur.kind == K.STRUCT:
                    f = next((f for f in self.tds.fields(cur) if f.offset <= off < f.offset + max(f.type.size, 1)),
                             None)
                    if f is None:
                        break
                    parts.append("." + f.name)
                    off -= f.offset
                    cur = f.type
                    continue
                if cur.kind == K.ARRAY:
                    e = self.tds.elem(cur)
                    if e is None or not e.size:
                        break
                    parts.append(f"[{off // e.size}]")
                    off %= e.size
                    cur = e
                    continue
                if cur.kind == K.SLICE and off in (8, 16):
                    parts.append(".len" if off == 8 else ".cap")
                    off = 0
                elif cur.kind == K.STRING and off == 8:
                    parts.append(".len")
                    off = 0
                elif cur.kind == K.INTERFACE and off == 8:
                    parts.append(".data")
                    off = 0
                break
            if dw is not None:
                base = dw.strip_typedefs() if dw.kind == "typedef" else dw
                if base.kind == "struct":
                    f = next((f for f in base.fields
                              if f.offset <= off < f.offset + max((f.type.size if f.type else 1) or 1, 1)), None)
                    if f is None:
                        break
                    parts.append("." + f.name)
                    off -= f.offset
                    dw = f.type
                    rt_off = getattr(dw, "runtime_type", None)
                    if rt_off and self.types_base:
                        cur = self.tds.get(self.types_base + rt_off)
                        if cur is not None:
                            dw = None
                    continue
                if base.kind == "array" and base.elem is not None and base.elem.size:
                    parts.append(f"[{off // base.elem.size}]")
                    off %= base.elem.size
                    dw = base.elem
                    continue
            break
        text = "".join(parts).lstrip(".")
        if off:
            text += f"+{off:#x}"
        return text or ""


_KIND_NAMES = {K.STRUCT: "struct", K.POINTER: "ptr", K.ARRAY: "array", K.SLICE: "slice", K.STRING: "string",
               K.MAP: "map", K.CHAN: "chan", K.FUNC: "func", K.INTERFACE: "iface", K.UNSAFE_POINTER: "unsafe.Pointer"}
