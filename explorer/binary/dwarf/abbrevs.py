"""``.debug_abbrev``: abbreviation tables, and the precompiled skippers the unit index uses.

An abbreviation gives a DIE its tag, whether it has children and the (attribute, form) list its
attribute values follow. Beyond parsing them, this module compiles per table (and unit shape:
address size, offset size, version) how to step over a DIE without decoding it: a "skip plan" per
abbreviation, and regular expressions that skip runs of simple DIEs or capture a type's name
(see :class:`Scanner`).
"""

from __future__ import annotations

import re

from explorer.binary.dwarf.constants import (
    FIXED_FORMS,
    TYPE_TAGS,
    DW_AT_go_runtime_type,
    DW_AT_name,
    DW_FORM_addrx,
    DW_FORM_block,
    DW_FORM_block1,
    DW_FORM_block2,
    DW_FORM_block4,
    DW_FORM_exprloc,
    DW_FORM_GNU_addr_index,
    DW_FORM_GNU_str_index,
    DW_FORM_implicit_const,
    DW_FORM_indirect,
    DW_FORM_loclistx,
    DW_FORM_ref_udata,
    DW_FORM_rnglistx,
    DW_FORM_sdata,
    DW_FORM_string,
    DW_FORM_strx,
    DW_FORM_udata,
)
from explorer.binary.varint import encode_uleb128, sleb128, uleb128
from explorer.errors import BinaryFormatError


class Abbrev:
    """One abbreviation: tag, children flag, (attribute, form, implicit constant) triples."""

    __slots__ = ("attrs", "code", "has_children", "tag")

    def __init__(self, code: int, tag: int, has_children: bool,
                 attrs: tuple[tuple[int, int, int], ...]) -> None:
        self.code = code
        self.tag = tag
        self.has_children = has_children
        self.attrs = attrs


def parse_abbrevs(data: bytes, offset: int) -> dict[int, Abbrev]:
    """The abbreviation table at ``offset`` of ``.debug_abbrev``, by code."""
    table: dict[int, Abbrev] = {}
    pos = offset
    while pos < len(data):
        code, pos = uleb128(data, pos)
        if code == 0:
            break
        tag, pos = uleb128(data, pos)
        children = data[pos] != 0
        pos += 1
        attrs = []
        while True:
            at, pos = uleb128(data, pos)
            form, pos = uleb128(data, pos)
            implicit = 0
            if form == DW_FORM_implicit_const:
                implicit, pos = sleb128(data, pos)
            if at == 0 and form == 0:
                break
            attrs.append((at, form, implicit))
        table[code] = Abbrev(code, tag, children, tuple(attrs))
    return table


# Skip plans: a tuple per abbreviation of either a positive byte count or one of these codes.
SK_STR, SK_ULEB, SK_B1, SK_B2, SK_B4, SK_BU, SK_IND = -1, -2, -3, -4, -5, -6, -7

_VARIABLE_FORMS = {
    DW_FORM_string: SK_STR, DW_FORM_udata: SK_ULEB, DW_FORM_sdata: SK_ULEB, DW_FORM_ref_udata: SK_ULEB,
    DW_FORM_strx: SK_ULEB, DW_FORM_addrx: SK_ULEB, DW_FORM_loclistx: SK_ULEB, DW_FORM_rnglistx: SK_ULEB,
    DW_FORM_GNU_addr_index: SK_ULEB, DW_FORM_GNU_str_index: SK_ULEB, DW_FORM_block1: SK_B1,
    DW_FORM_block2: SK_B2, DW_FORM_block4: SK_B4, DW_FORM_block: SK_BU, DW_FORM_exprloc: SK_BU,
    DW_FORM_indirect: SK_IND,
}


def form_size(form: int, addr_size: int, offset_size: int, version: int) -> int | None:
    """Byte size of a value of a fixed-size form in a unit of this shape; None if it varies."""
    size = FIXED_FORMS.get(form)
    if size is None or isinstance(size, int):
        return size
    if size == "addr" or (size == "ref_addr" and version <= 2):
        return addr_size
    return offset_size


def skip_plan(ab: Abbrev, addr_size: int, offset_size: int, version: int) -> tuple[int, ...]:
    """How to step over the attributes of a DIE of abbreviation ``ab`` (adjacent fixed sizes
    merged into one count)."""
    plan: list[int] = []
    for _at, form, _imp in ab.attrs:
        n = form_size(form, addr_size, offset_size, version)
        if n is not None:
            if n:
                if plan and plan[-1] > 0:
                    plan[-1] += n
                else:
                    plan.append(n)
        elif form in _VARIABLE_FORMS:
            plan.append(_VARIABLE_FORMS[form])
        else:
            raise BinaryFormatError(f"unknown DWARF form {form:#x}")
    return tuple(plan)


_RE_ULEB = rb"[\x80-\xff]*[\x00-\x7f]"
_RE_STR = rb"[^\x00]*\x00"


def _op_re(op: int) -> bytes | None:
    """A regular expression matching what one skip-plan operation skips (None: length-prefixed)."""
    if op > 0:
        return b".{%d}" % op
    if op == SK_STR:
        return _RE_STR
    if op == SK_ULEB:
        return _RE_ULEB
    return None  # (an alternation over short block lengths was tried: no faster)


class Scanner:
    """Precompiled ways to step over the DIEs of one abbreviation table (for one unit shape).

    The unit index decodes only a unit's direct children; everything below them is skipped. Most
    of those DIEs (struct members, function parameters) are childless and made only of inline
    strings, LEB128 numbers and fixed-size forms: a run of them is skipped by one regular
    expression match, several times faster than stepping through their attributes in Python.
    Named type DIEs are read by a per-abbreviation expression capturing the name and
    ``DW_AT_go_runtime_type``.
    """

    def __init__(self, abbrevs: dict[int, Abbrev], addr_size: int, offset_size: int,
                 version: int) -> None:
        self.plans = {code: skip_plan(ab, addr_size, offset_size, version)
                      for code, ab in abbrevs.items()}
        alternatives: list[bytes] = []
        type_bodies: dict[int, bytes] = {}
        self.rt_forms: dict[int, int] = {}
        self.type_res: dict[int, tuple[re.Pattern[bytes], bool]] = {}
        for code, ab in abbrevs.items():
            single = [skip_plan(Abbrev(0, 0, False, (a,)), addr_size, offset_size, version)
                      for a in ab.attrs]
            parts = [b"".join(x or b"" for x in map(_op_re, sp)) if all(_op_re(o) for o in sp)
                     else None for sp in single]
            if any(p is None for p in parts):
                continue
            body = b"".join(p or b"" for p in parts)
            if not ab.has_children:
                alternatives.append(re.escape(encode_uleb128(code)) + body)
            if ab.tag in TYPE_TAGS:
                captured = []
                have_n = have_r = False
                for (at, form, _imp), part in zip(ab.attrs, parts, strict=True):
                    if at == DW_AT_name and form == DW_FORM_string and not have_n:
                        captured.append(rb"(?P<n>[^\x00]*)\x00")
                        have_n = True
                    elif at == DW_AT_go_runtime_type and not have_r and part:
                        captured.append(b"(?P<r>" + (part or b"") + b")")
                        self.rt_forms[code] = form
                        have_r = True
                    else:
                        captured.append(part or b"")
                if not have_n:
                    captured.append(b"(?P<n>)")
                if not have_r:
                    captured.append(b"(?P<r>)")
                type_bodies[code] = b"".join(captured)
        runs = b"(?:" + b"|".join(alternatives) + b")*+" if alternatives else b""
        self.skip_re: re.Pattern[bytes] | None = re.compile(runs, re.DOTALL) if runs else None
        # A type DIE with children (struct members, array range, func params) is read with its
        # whole subtree and the null that ends it when those children are all simple.
        for code, body in type_bodies.items():
            if abbrevs[code].has_children:
                body += runs + b"\x00"
            self.type_res[code] = (re.compile(body, re.DOTALL), abbrevs[code].has_children)
