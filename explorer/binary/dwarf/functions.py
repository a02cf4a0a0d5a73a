"""Functions, their variables and inlined calls, from a ``DW_TAG_subprogram``'s subtree.

What the Go compiler writes for a function: a concrete ``DW_TAG_subprogram`` with its pc range
(``DW_AT_ranges`` when the linker split it) and ``DW_AT_frame_base`` = ``DW_OP_call_frame_cfa``;
for inlinable functions an abstract subprogram that concrete copies and
``DW_TAG_inlined_subroutine`` s point to through ``DW_AT_abstract_origin``; parameters and locals,
the latter inside ``DW_TAG_lexical_block`` s, with a location expression or list each; in optimized
builds a concrete copy may drop the parameters it never uses (kept here as optimized out).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from explorer.binary.dwarf.constants import (
    DW_AT_abstract_origin,
    DW_AT_call_file,
    DW_AT_call_line,
    DW_AT_decl_file,
    DW_AT_decl_line,
    DW_AT_external,
    DW_AT_frame_base,
    DW_AT_go_closure_offset,
    DW_AT_high_pc,
    DW_AT_location,
    DW_AT_low_pc,
    DW_AT_name,
    DW_AT_ranges,
    DW_AT_trampoline,
    DW_AT_type,
    DW_AT_variable_parameter,
    DW_TAG_formal_parameter,
    DW_TAG_inlined_subroutine,
    DW_TAG_lexical_block,
    DW_TAG_variable,
)
from explorer.binary.dwarf.lists import LocationEntry, SectionReader, loclist, ranges
from explorer.binary.dwarf.location import eval_location
from explorer.binary.dwarf.reader import MAX_DEPTH, CompileUnit, Die
from explorer.binary.dwarf.types import GoType, TypeIndex
from explorer.errors import BinaryFormatError

Ranges = tuple[tuple[int, int], ...]


class FunctionIndex(TypeIndex, SectionReader, Protocol):
    """What functions are built from: :class:`~.godwarf.GoDwarf` is one (a protocol, so that this
    module need not import the index that imports it)."""

    def file_name(self, cu: CompileUnit, index: int) -> str | None: ...


@dataclass(eq=False)
class Variable:
    """A parameter or local of a function or of an inlined call.

    ``location`` is a single expression valid wherever the variable is in scope; otherwise
    ``location_list`` holds (low, high, expr) entries in absolute pcs; both None means optimized
    out. ``scope`` holds the pc ranges of the lexical block that declares it.
    """

    name: str
    kind: Literal["arg", "local"]
    type: GoType | None
    is_return_param: bool
    decl_line: int | None
    location: bytes | None
    location_list: tuple[LocationEntry, ...] | None
    scope: Ranges
    closure_offset: int | None = None
    offset: int = 0  # DIE offset

    def in_scope(self, pc: int) -> bool:
        """Whether ``pc`` falls inside the block that declares the variable."""
        return any(lo <= pc < hi for lo, hi in self.scope)

    def location_at(self, pc: int) -> bytes | None:
        """The location expression that holds at ``pc``; None when optimized out there."""
        if self.location is not None:
            return self.location
        if self.location_list is not None:
            for e in self.location_list:
                if e.low <= pc < e.high:
                    return e.expr
        return None

    @property
    def optimized_out(self) -> bool:
        """No location at all (not even a list)."""
        return self.location is None and not self.location_list


@dataclass(eq=False)
class InlinedCall:
    """A ``DW_TAG_inlined_subroutine``: a call of ``name`` inlined at ``call_file:call_line``."""

    name: str
    origin_offset: int
    call_file: str | None
    call_line: int | None
    ranges: Ranges
    variables: list[Variable]
    children: list[InlinedCall]
    offset: int = 0

    def contains(self, pc: int) -> bool:
        """Whether ``pc`` is inside this inlined body."""
        return any(lo <= pc < hi for lo, hi in self.ranges)

    def variables_at(self, pc: int) -> list[Variable]:
        """This inlined frame's variables whose scope holds ``pc``."""
        return [v for v in self.variables if v.in_scope(pc)]


@dataclass(eq=False)
class LogicalFrame:
    """One frame at a pc: the function itself, or one inlined call in it (``call`` set)."""

    name: str
    function: Subprogram
    call: InlinedCall | None
    variables: list[Variable]

    @property
    def inlined(self) -> bool:
        """Whether this frame is an inlined call."""
        return self.call is not None


@dataclass(eq=False)
class Subprogram:
    """A concrete function: pc range, frame base, own variables, inlined calls. ``trampoline``:
    a wrapper the compiler generated (``DW_AT_trampoline``)."""

    name: str
    offset: int
    low_pc: int
    high_pc: int
    frame_base: bytes | None
    decl_file: str | None
    decl_line: int | None
    cu: CompileUnit
    variables: list[Variable]
    inlined: list[InlinedCall]
    external: bool = False
    trampoline: bool = False

    def contains(self, pc: int) -> bool:
        """Whether ``pc`` is inside the function."""
        return self.low_pc <= pc < self.high_pc

    @property
    def params(self) -> list[Variable]:
        """Arguments and results, in declaration order."""
        return [v for v in self.variables if v.kind == "arg"]

    @property
    def locals(self) -> list[Variable]:
        """Locals of the function's own body (every lexical block)."""
        return [v for v in self.variables if v.kind == "local"]

    def frame_base_value(self, *, cfa: int | None, regs: Mapping[int, int] | None = None) -> int | None:
        """Value of ``DW_AT_frame_base`` (for Go, ``DW_OP_call_frame_cfa``: the CFA)."""
        if self.frame_base is None:
            return None
        pieces = eval_location(self.frame_base, cfa=cfa, regs=regs, address_size=self.cu.address_size)
        if len(pieces) == 1 and pieces[0].kind == "memory":
            return pieces[0].address
        if len(pieces) == 1 and pieces[0].kind == "register":
            return pieces[0].value
        return None

    def variables_at(self, pc: int) -> list[Variable]:
        """The function's own variables (not those of inlined calls) whose scope holds ``pc``."""
        return [v for v in self.variables if v.in_scope(pc)]

    def inlined_at(self, pc: int) -> list[InlinedCall]:
        """The chain of inlined calls covering ``pc``, outermost first."""
        chain: list[InlinedCall] = []
        level = self.inlined
        while True:
            for call in level:
                if call.contains(pc):
                    chain.append(call)
                    level = call.children
                    break
            else:
                return chain

    def frames_at(self, pc: int) -> list[LogicalFrame]:
        """Logical frames at ``pc``, innermost first (as a traceback lists them)."""
        frames = [LogicalFrame(self.name, self, None, self.variables_at(pc))]
        for call in self.inlined_at(pc):
            frames.append(LogicalFrame(call.name, self, call, call.variables_at(pc)))
        frames.reverse()
        return frames


# --- building them from DIEs -----------------------------------------------------------------------

def build_subprogram(dw: FunctionIndex, cu: CompileUnit, offset: int) -> Subprogram:
    """The function whose concrete ``DW_TAG_subprogram`` is at ``offset``, with its subtree."""
    die = dw._read_die(offset, children=True, cu=cu)
    a = die.attrs
    origin_die = dw._read_die(a[DW_AT_abstract_origin], children=True) \
        if a.get(DW_AT_abstract_origin) is not None else None
    oa = origin_die.attrs if origin_die is not None else {}
    name = a.get(DW_AT_name) or oa.get(DW_AT_name) or "?"
    low = a.get(DW_AT_low_pc) or 0
    high = a.get(DW_AT_high_pc) or low
    scope: Ranges = ((low, high),)
    if DW_AT_ranges in a:
        scope = tuple(ranges(dw, cu, a[DW_AT_ranges]))
        if scope:
            low, high = min(r[0] for r in scope), max(r[1] for r in scope)
    variables: list[Variable] = []
    inlined: list[InlinedCall] = []
    _collect_scope(dw, cu, die, scope, variables, inlined, 0)
    if origin_die is not None:
        _add_missing_origin_vars(dw, origin_die, variables, scope)
    decl_file = a.get(DW_AT_decl_file, oa.get(DW_AT_decl_file))
    return Subprogram(
        name=name, offset=offset, low_pc=low, high_pc=high, frame_base=a.get(DW_AT_frame_base),
        decl_file=dw.file_name(cu, decl_file) if decl_file is not None else None,
        decl_line=a.get(DW_AT_decl_line, oa.get(DW_AT_decl_line)), cu=cu, variables=variables,
        inlined=inlined, external=bool(a.get(DW_AT_external, oa.get(DW_AT_external))),
        trampoline=bool(a.get(DW_AT_trampoline)),
    )


def _collect_scope(dw: FunctionIndex, cu: CompileUnit, die: Die, scope: Ranges, variables: list[Variable],
                   inlined: list[InlinedCall], depth: int) -> None:
    """Variables of ``die``'s body (lexical blocks flattened) and its inlined calls."""
    if depth > MAX_DEPTH:
        raise BinaryFormatError(f"lexical blocks nested too deep at {die.offset:#x}")
    for child in die.children:
        tag = child.tag
        if tag == DW_TAG_formal_parameter or tag == DW_TAG_variable:
            variables.append(_variable(dw, cu, child, scope))
        elif tag == DW_TAG_lexical_block:
            _collect_scope(dw, cu, child, _die_ranges(dw, cu, child) or scope, variables, inlined,
                           depth + 1)
        elif tag == DW_TAG_inlined_subroutine:
            inlined.append(_inlined_call(dw, cu, child, depth + 1))


def _die_ranges(dw: FunctionIndex, cu: CompileUnit, die: Die) -> Ranges:
    a = die.attrs
    if DW_AT_ranges in a and a[DW_AT_ranges] is not None:
        return tuple(ranges(dw, cu, a[DW_AT_ranges]))
    lo = a.get(DW_AT_low_pc)
    hi = a.get(DW_AT_high_pc)
    if lo is not None and hi is not None and hi > lo:
        return ((lo, hi),)
    return ()


def _inlined_call(dw: FunctionIndex, cu: CompileUnit, die: Die, depth: int) -> InlinedCall:
    a = die.attrs
    origin_off = a.get(DW_AT_abstract_origin)
    origin = dw._read_die(origin_off, children=True) if origin_off is not None else None
    name = (origin.attrs.get(DW_AT_name) if origin is not None else None) or a.get(DW_AT_name) or "?"
    scope = _die_ranges(dw, cu, die)
    variables: list[Variable] = []
    children: list[InlinedCall] = []
    _collect_scope(dw, cu, die, scope, variables, children, depth)
    if origin is not None:
        _add_missing_origin_vars(dw, origin, variables, scope)
    call_file = a.get(DW_AT_call_file)
    return InlinedCall(
        name=name, origin_offset=origin_off or 0,
        call_file=dw.file_name(cu, call_file) if call_file is not None else None,
        call_line=a.get(DW_AT_call_line), ranges=scope, variables=variables, children=children,
        offset=die.offset,
    )


def _add_missing_origin_vars(dw: FunctionIndex, origin: Die, variables: list[Variable], scope: Ranges) -> None:
    """Parameters the abstract function declares but the concrete copy dropped: optimized out."""
    have = {v.offset for v in variables} | {v.name for v in variables}
    for child in origin.children:
        if child.tag != DW_TAG_formal_parameter:
            continue
        if child.offset in have or child.attrs.get(DW_AT_name) in have:
            continue
        v = _variable(dw, dw.cu_at_offset(child.offset), child, scope)
        v.location = None
        v.location_list = None
        variables.append(v)


def _variable(dw: FunctionIndex, cu: CompileUnit, die: Die, scope: Ranges) -> Variable:
    a = die.attrs
    merged = a
    origin_off = a.get(DW_AT_abstract_origin)
    if origin_off is not None:
        origin = dw._read_die(origin_off)
        merged = {**origin.attrs, **a}
    loc = a.get(DW_AT_location)
    location: bytes | None = None
    entries: tuple[LocationEntry, ...] | None = None
    if isinstance(loc, bytes):
        location = loc or None  # an empty expression: optimized out
    elif isinstance(loc, int):
        entries = loclist(dw, cu, loc)
    ref = merged.get(DW_AT_type)
    return Variable(
        name=merged.get(DW_AT_name) or "",
        kind="arg" if die.tag == DW_TAG_formal_parameter else "local",
        type=dw.type_by_offset(ref) if ref is not None else None,
        is_return_param=bool(merged.get(DW_AT_variable_parameter)),
        decl_line=merged.get(DW_AT_decl_line),
        location=location,
        location_list=entries,
        scope=scope,
        closure_offset=merged.get(DW_AT_go_closure_offset),
        offset=origin_off if origin_off is not None else die.offset,
    )
