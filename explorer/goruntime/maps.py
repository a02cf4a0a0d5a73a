"""Go maps in a core: classic bucket maps (Go 1.21–1.23) and swiss tables (Go 1.24–1.27).

A map value is a pointer to a header whose type the linker synthesizes in DWARF, which is where
every offset here comes from:

- classic: ``hash<K,V>`` {count, flags, B, noverflow, hash0, buckets, oldbuckets, nevacuate,
  extra}; ``bucket<K,V>`` {tophash [8]uint8, keys [8]K, values [8]V, overflow}. A slot is live when
  its tophash is >= 5 (``minTopHash``). A growing map (``oldbuckets`` != nil) still holds the
  entries of old buckets not yet evacuated (tophash[0] not in 2..4); new buckets only ever receive
  entries after their old bucket was evacuated, so old live slots plus new live slots is the map.
  ``flags & 8`` (sameSizeGrow) means the old array has as many buckets as the new one.
- swiss: ``map<K,V>`` {used, seed, dirPtr, dirLen, globalDepth, ...}; ``dirLen == 0`` means
  ``dirPtr`` is one group (a small map), otherwise an array of ``dirLen`` table pointers, in which a
  table repeats once per directory entry it covers (visit each once). ``table<K,V>`` {used,
  capacity, growthLeft, localDepth, index, groups {data, lengthMask}}; groups are ``{ctrl uint64;
  slots [8]{key, elem}}`` (or ``{ctrl; keys [8]K; elems [8]V}`` with GOEXPERIMENT=mapsplitgroup); a
  slot is full when its control byte has the top bit clear. Swiss tables grow in one step, so there
  is no half-grown state to merge.

Keys larger than 128 bytes and values larger than 128 bytes are stored indirectly (the slot holds
a pointer): DWARF shows the slot's field as a pointer type, and the key/value type is bigger.

Every walk is bounded (buckets, overflow chains, directory entries, groups) and refuses counts the
core cannot hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.core.memory import Memory, check_array
from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoType

PTR = 8
SLOTS = 8
MIN_TOPHASH = 5
EVACUATED = (2, 3, 4)
SAME_SIZE_GROW = 8
MAX_INDIRECT = 128
#: Buckets, overflow links, directory entries and groups visited at most for one map.
MAX_STEPS = 1 << 20


class MapError(ExplorerError):
    """A map header or layout is not what the DWARF says it should be."""


@dataclass
class MapInfo:
    """A map's header and the layout of its slots."""

    layout: str  # "classic" or "swiss"
    count: int
    key_type: GoType | None
    elem_type: GoType | None
    header: int
    header_size: int
    # slot addressing inside a bucket/group
    key_base: int
    key_stride: int
    elem_base: int
    elem_stride: int
    indirect_key: bool
    indirect_elem: bool
    unit_size: int  # bucket or group size
    # classic
    buckets: int = 0
    oldbuckets: int = 0
    B: int = 0
    flags: int = 0
    overflow_off: int = 0
    # swiss
    dir_ptr: int = 0
    dir_len: int = 0
    groups_data_off: int = 0
    groups_mask_off: int = 8
    table_size: int = 32

    @property
    def growing(self) -> bool:
        return self.layout == "classic" and bool(self.oldbuckets)


def _struct_behind(t: GoType) -> GoType | None:
    cur: GoType | None = t
    for _ in range(8):
        if cur is None:
            return None
        if cur.tag == 0x13:  # DW_TAG_structure_type
            return cur
        cur = cur.target
    return None


def _field(t: GoType, name: str) -> Any:
    f = t.field(name)
    if f is None:
        raise MapError(f"{t.name} has no field {name!r} in DWARF")
    return f


def _slot_layout(unit: GoType, key_t: GoType | None, elem_t: GoType | None,
                 keys_name: str, elems_name: str) -> tuple[int, int, int, int, bool, bool]:
    """(key_base, key_stride, elem_base, elem_stride, indirect_key, indirect_elem) of a bucket or
    a split group: arrays ``keys_name``/``elems_name``; or of a slot-array group (``slots``)."""
    if unit.field("slots") is not None:
        slots = _field(unit, "slots")
        slot_t = slots.type.elem if slots.type is not None else None
        if slot_t is None or slot_t.size is None:
            raise MapError(f"{unit.name}: slot type unknown")
        kf, ef = _field(slot_t, "key"), _field(slot_t, "elem")
        kind_k = kf.type.kind if kf.type is not None else ""
        kind_e = ef.type.kind if ef.type is not None else ""
        return (slots.offset + kf.offset, slot_t.size, slots.offset + ef.offset, slot_t.size,
                _indirect(kind_k, key_t), _indirect(kind_e, elem_t))
    kf, ef = _field(unit, keys_name), _field(unit, elems_name)
    ke = kf.type.elem if kf.type is not None else None
    ee = ef.type.elem if ef.type is not None else None
    if ke is None or ee is None or ke.size is None or ee.size is None:
        raise MapError(f"{unit.name}: key/value array types unknown")
    return (kf.offset, ke.size, ef.offset, ee.size, _indirect(ke.kind, key_t), _indirect(ee.kind, elem_t))


def _indirect(slot_kind: str, t: GoType | None) -> bool:
    return slot_kind == "ptr" and t is not None and (t.size or 0) > MAX_INDIRECT


def read_map(mem: Memory, t: GoType, header: int) -> MapInfo:
    """The header of the map of type ``t`` at ``header`` (a non-nil map pointer)."""
    hdr_t = _struct_behind(t)
    if hdr_t is None or hdr_t.size is None:
        raise MapError(f"{t.name}: no map header type in DWARF")
    raw = mem.read(header, hdr_t.size)

    def u(name: str, width: int = 8) -> int:
        off = _field(hdr_t, name).offset
        return int.from_bytes(raw[off:off + width], "little")

    key_t, elem_t = t.key, t.elem
    if hdr_t.field("buckets") is not None:  # classic
        bptr = _field(hdr_t, "buckets")
        bucket_t = _struct_behind(bptr.type) if bptr.type is not None else None
        if bucket_t is None or bucket_t.size is None:
            raise MapError(f"{hdr_t.name}: bucket type unknown")
        kb, ks, eb, es, ik, ie = _slot_layout(bucket_t, key_t, elem_t, "keys", "values")
        count, b = u("count"), u("B", 1)
        if b > 48:
            raise MapError(f"bad map header: B = {b}")
        return MapInfo("classic", count, key_t, elem_t, header, hdr_t.size, kb, ks, eb, es, ik, ie,
                       bucket_t.size, buckets=u("buckets"), oldbuckets=u("oldbuckets"), B=b,
                       flags=u("flags", 1), overflow_off=_field(bucket_t, "overflow").offset)
    # swiss
    dptr = _field(hdr_t, "dirPtr")
    table_ptr_t = dptr.type.target if dptr.type is not None else None  # **table -> *table
    table_t = _struct_behind(table_ptr_t) if table_ptr_t is not None else None
    if table_t is None or table_t.size is None:
        raise MapError(f"{hdr_t.name}: table type unknown")
    groups = _field(table_t, "groups")
    if groups.type is None:
        raise MapError(f"{table_t.name}: groups type unknown")
    gref = groups.type.strip_typedefs()
    data_f = _field(gref, "data")
    group_t = _struct_behind(data_f.type) if data_f.type is not None else None
    if group_t is None or group_t.size is None:
        raise MapError(f"{table_t.name}: group type unknown")
    kb, ks, eb, es, ik, ie = _slot_layout(group_t, key_t, elem_t, "keys", "elems")
    dir_len = u("dirLen")
    if dir_len >= 1 << 40:
        raise MapError(f"bad map header: dirLen = {dir_len}")
    return MapInfo("swiss", u("used"), key_t, elem_t, header, hdr_t.size, kb, ks, eb, es, ik, ie,
                   group_t.size, dir_ptr=u("dirPtr"), dir_len=dir_len,
                   groups_data_off=groups.offset + data_f.offset,
                   groups_mask_off=groups.offset + _field(gref, "lengthMask").offset,
                   table_size=table_t.size)


def iter_entries(mem: Memory, info: MapInfo, limit: int) -> Iterator[tuple[int, int]]:
    """(key address, value address) of each entry, indirection resolved; at most ``limit``."""
    if limit <= 0 or info.count <= 0:
        return
    slots = _classic_slots(mem, info) if info.layout == "classic" else _swiss_slots(mem, info)
    n = 0
    for unit, i in slots:
        kaddr = unit + info.key_base + i * info.key_stride
        vaddr = unit + info.elem_base + i * info.elem_stride
        if info.indirect_key:
            kaddr = mem.read_u64(kaddr)
        if info.indirect_elem:
            vaddr = mem.read_u64(vaddr)
        yield kaddr, vaddr
        n += 1
        if n >= limit:
            return


def _classic_slots(mem: Memory, info: MapInfo) -> Iterator[tuple[int, int]]:
    nb = 1 << info.B
    steps = [0]
    if info.oldbuckets:
        old_n = nb if info.flags & SAME_SIZE_GROW else nb >> 1
        for i in range(max(old_n, 1)):
            b = info.oldbuckets + i * info.unit_size
            top0 = mem.read_u8(b)
            if top0 in EVACUATED:
                continue
            yield from _bucket_chain(mem, info, b, steps)
    if info.buckets:
        check_array(mem, info.buckets, nb, info.unit_size, "map buckets")
        for i in range(nb):
            yield from _bucket_chain(mem, info, info.buckets + i * info.unit_size, steps)


def _bucket_chain(mem: Memory, info: MapInfo, b: int, steps: list[int]) -> Iterator[tuple[int, int]]:
    seen: set[int] = set()
    while b and b not in seen:
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            raise MapError("map has too many buckets or a looping overflow chain")
        seen.add(b)
        raw = mem.read(b, info.unit_size)
        for i in range(SLOTS):
            if raw[i] >= MIN_TOPHASH:
                yield b, i
        o = info.overflow_off
        b = int.from_bytes(raw[o:o + PTR], "little")


def _swiss_slots(mem: Memory, info: MapInfo) -> Iterator[tuple[int, int]]:
    if not info.dir_ptr:
        return
    if info.dir_len == 0:
        yield from _group(mem, info.dir_ptr)
        return
    check_array(mem, info.dir_ptr, info.dir_len, PTR, "map directory")
    raw = mem.read(info.dir_ptr, info.dir_len * PTR)
    seen: set[int] = set()
    steps = 0
    for j in range(info.dir_len):
        table = int.from_bytes(raw[j * PTR:(j + 1) * PTR], "little")
        if not table or table in seen:
            continue
        seen.add(table)
        traw = mem.read(table, info.table_size)
        data = int.from_bytes(traw[info.groups_data_off:info.groups_data_off + PTR], "little")
        mask = int.from_bytes(traw[info.groups_mask_off:info.groups_mask_off + PTR], "little")
        ngroups = mask + 1
        if ngroups & mask or ngroups > MAX_STEPS:
            raise MapError(f"bad map table at {table:#x}: lengthMask {mask:#x}")
        check_array(mem, data, ngroups, info.unit_size, "map groups")
        for gi in range(ngroups):
            steps += 1
            if steps > MAX_STEPS:
                raise MapError("map has too many groups")
            yield from _group(mem, data + gi * info.unit_size)


def _group(mem: Memory, g: int) -> Iterator[tuple[int, int]]:
    ctrl = mem.read(g, 8)
    for i in range(SLOTS):
        if not ctrl[i] & 0x80:
            yield g, i
