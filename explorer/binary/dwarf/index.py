"""The per-unit index: a unit's direct children by kind (types, functions, globals, constants).

Built the first time a request touches a unit, by decoding only the unit's direct children and
stepping over everything below them with the precompiled skippers of
:class:`~explorer.binary.dwarf.abbrevs.Scanner`. For the runtime unit, which holds every type of
the program, the type DIEs are matched by one regular expression each (name and
``DW_AT_go_runtime_type`` captured, members skipped).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from explorer.binary.dwarf.abbrevs import SK_B1, SK_B2, SK_B4, SK_BU, SK_STR, SK_ULEB
from explorer.binary.dwarf.constants import (
    TYPE_TAGS,
    DW_AT_abstract_origin,
    DW_AT_go_runtime_type,
    DW_AT_high_pc,
    DW_AT_low_pc,
    DW_AT_name,
    DW_AT_ranges,
    DW_FORM_addrx,
    DW_FORM_udata,
    DW_TAG_constant,
    DW_TAG_subprogram,
    DW_TAG_typedef,
    DW_TAG_variable,
)
from explorer.binary.dwarf.lists import ranges
from explorer.binary.varint import uleb128
from explorer.errors import BinaryFormatError

if TYPE_CHECKING:
    from explorer.binary.dwarf.reader import CompileUnit, DieReader


class UnitIndex:
    """Direct children of one compile unit, by kind."""

    def __init__(self) -> None:
        self.types: dict[str, int] = {}
        self.runtime_types: dict[int, int] = {}  # DW_AT_go_runtime_type -> DIE offset
        self.variables: dict[str, tuple[int, dict[int, Any]]] = {}
        self.constants: dict[str, tuple[int, dict[int, Any]]] = {}
        self.abstract: dict[str, int] = {}
        # (low_pc, high_pc, die offset, name or None, abstract origin or None)
        self.functions: list[tuple[int, int, int, str | None, int | None]] = []
        self.function_starts: list[int] = []
        self.function_names: dict[str, int] | None = None  # built on first lookup by name


def build_index(dw: DieReader, cu: CompileUnit) -> UnitIndex:
    """Decode the unit's direct children; skip their descendants with precomputed plans.
    ``IndexError``/``ValueError`` on truncated data: the caller reports them."""
    idx = UnitIndex()
    if cu.first_child is None:
        return idx
    data = dw._info
    abbrevs = dw._abbrevs(cu)
    scanner = dw._scanner(cu)
    plans, skip_re, type_res = scanner.plans, scanner.skip_re, scanner.type_res
    rt_forms = scanner.rt_forms
    end = cu.end
    pos = cu.first_child
    depth = 1
    decode = dw._decode
    types, rtypes = idx.types, idx.runtime_types
    type_tags: dict[str, int] = {}

    def note_type(name: str | None, tag: int, offset: int, rt: int | None) -> None:
        if name:
            prev_tag = type_tags.get(name)
            # A named Go type has a typedef and a definition under one name: keep the
            # definition, which carries the kind, size and fields.
            if prev_tag is None or (prev_tag == DW_TAG_typedef and tag != DW_TAG_typedef):
                types[name] = offset
                type_tags[name] = tag
        if rt and rt not in rtypes:
            rtypes[rt] = offset

    # Fast path for the runs of type DIEs that make up most of the runtime unit: one regular
    # expression match per type (with its members), keyed by a one-byte abbreviation code.
    fast = {code: (tre, abbrevs[code].tag, rt_forms.get(code, 0))
            for code, (tre, _subtree) in type_res.items() if code < 0x80}
    while pos < end:
        if depth == 1:
            while True:
                entry = fast.get(data[pos])
                if entry is None:
                    break
                tre, tag, rt_form = entry
                m = tre.match(data, pos + 1, end)
                if m is None:
                    break
                raw_name, raw_rt = m.group("n", "r")
                if raw_name:  # (note_type inlined: this loop runs once per type)
                    name = raw_name.decode("utf-8", "replace")
                    prev_tag = type_tags.get(name)
                    if prev_tag is None or (prev_tag == DW_TAG_typedef and tag != DW_TAG_typedef):
                        types[name] = pos
                        type_tags[name] = tag
                if raw_rt and rt_form != DW_FORM_addrx:
                    rt = uleb128(raw_rt, 0)[0] if rt_form == DW_FORM_udata \
                        else int.from_bytes(raw_rt, "little")
                    if rt and rt not in rtypes:
                        rtypes[rt] = pos
                elif raw_rt:
                    break  # let the general path below resolve the index
                pos = m.end()
                if pos >= end:
                    break
            if pos >= end:
                break
        elif skip_re is not None:
            m = skip_re.match(data, pos, end)
            if m is not None:
                pos = m.end()
                if pos >= end:
                    break
        start = pos
        code = data[pos]
        pos += 1
        if code >= 0x80:
            code, pos = uleb128(data, start)
        if code == 0:
            depth -= 1
            if depth == 0:
                break
            continue
        ab = abbrevs.get(code)
        if ab is None:
            raise BinaryFormatError(f"unknown abbreviation {code} at {start:#x}")
        m = None
        if depth == 1 and code in type_res:
            tre, subtree = type_res[code]
            m = tre.match(data, pos, end)
        if m is not None:
            pos = m.end()
            if subtree:
                depth -= 1  # the children and their null were read too (+1 again below)
            raw_name, raw_rt = m.group("n", "r")
            rtype: int | None = None
            if raw_rt:
                rt_form = rt_forms[code]
                rtype = uleb128(raw_rt, 0)[0] if rt_form in (DW_FORM_udata, DW_FORM_addrx) \
                    else int.from_bytes(raw_rt, "little")
                if rt_form == DW_FORM_addrx:
                    rtype = dw._addr_index(cu, rtype)
            note_type(raw_name.decode("utf-8", "replace"), ab.tag, start, rtype)
        elif depth == 1:
            attrs, pos = decode(cu, pos, ab)
            tag = ab.tag
            name = attrs.get(DW_AT_name)
            if tag in TYPE_TAGS:
                rtv = attrs.get(DW_AT_go_runtime_type)
                note_type(name, tag, start, rtv if isinstance(rtv, int) else None)
            elif tag == DW_TAG_subprogram:
                lo = attrs.get(DW_AT_low_pc)
                if lo is not None and DW_AT_high_pc in attrs:
                    idx.functions.append((lo, attrs[DW_AT_high_pc], start, name,
                                          attrs.get(DW_AT_abstract_origin)))
                elif DW_AT_ranges in attrs:
                    for rlo, rhi in ranges(dw, cu, attrs[DW_AT_ranges]):
                        idx.functions.append((rlo, rhi, start, name, attrs.get(DW_AT_abstract_origin)))
                elif name is not None:
                    idx.abstract.setdefault(name, start)
            elif tag == DW_TAG_variable and name is not None:
                idx.variables.setdefault(name, (start, attrs))
            elif tag == DW_TAG_constant and name is not None:
                idx.constants.setdefault(name, (start, attrs))
        else:
            for op in plans[code]:
                if op > 0:
                    pos += op
                elif op == SK_STR:
                    pos = data.index(0, pos) + 1
                elif op == SK_ULEB:
                    while data[pos] & 0x80:
                        pos += 1
                    pos += 1
                elif op == SK_B1:
                    pos += data[pos] + 1
                elif op == SK_BU:
                    n, pos = uleb128(data, pos)
                    pos += n
                elif op == SK_B2:
                    pos += 2 + int.from_bytes(data[pos:pos + 2], "little")
                elif op == SK_B4:
                    pos += 4 + int.from_bytes(data[pos:pos + 4], "little")
                else:  # indirect forms are rare: decode this DIE the slow way
                    _, pos = decode(cu, dw._after_code(start), ab)
                    break
        if ab.has_children:
            depth += 1
    idx.functions.sort()
    idx.function_starts = [f[0] for f in idx.functions]
    return idx


def package_of_symbol(name: str, units_by_name: dict[str, list[CompileUnit]]) -> list[CompileUnit]:
    """Units of the package that symbol ``name`` (``net/http.(*Server).Serve``) belongs to: the
    longest prefix before a dot that names a unit (import paths have dots too)."""
    cut = len(name)
    for ch in "[( ":
        i = name.find(ch)
        if i >= 0:
            cut = min(cut, i)
    slash = name.rfind("/", 0, cut)
    dot = name.rfind(".", slash + 1, cut)
    while dot > slash:
        cus = units_by_name.get(name[:dot])
        if cus:
            return cus
        dot = name.rfind(".", slash + 1, dot)
    return []
