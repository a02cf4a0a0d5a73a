"""Arguments and locals of a frame, from DWARF (Go 1.21–1.27; DWARF 4 and 5).

A backtrace frame (:class:`explorer.goruntime.unwind.Frame`) gives the pc to look variables up at
(``sym_pc``: the return address minus one for callers), the CFA (``fp``, what
``DW_OP_call_frame_cfa`` and Go's frame base are) and, for a thread's innermost frame and a frame
interrupted by a signal, the registers. The DWARF function at that pc lists its logical frames
(inlined calls innermost first, as the backtrace does); the variables of the matching logical frame
are evaluated:

- a single location expression or the location-list entry covering the pc; none: ``optimized out``;
- ``DW_OP_piece``\\ s are assembled into the value's bytes; a piece in a register this frame does not
  know (Go has no callee-saved registers: only the innermost frame has them), or a missing piece,
  makes the whole variable unreadable rather than partly wrong;
- a variable moved to the heap is described as ``&name`` of type ``*T``: it is shown as ``name``
  through the pointer, as Go code sees it;
- a local declared after the frame's current line is not shown (its slot holds garbage);
- generic functions: ``.dict`` is evaluated first and resolves shape-typed variables;
- Go 1.27 also describes the words of split variables (``body.ptr``, ``body.len``...): they are
  folded back into the variable (:mod:`explorer.goruntime.pieces`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.core.arch import AMD64, ARM64, arch_named
from explorer.errors import ExplorerError
from explorer.goruntime.decode import Decoder, decoder
from explorer.goruntime.pieces import merge_split_variables, split_name
from explorer.goruntime.unwind import Frame
from explorer.goruntime.values import PTR, GenericDict, Loc, Value, Variable, unreadable

if TYPE_CHECKING:
    from explorer.binary.dwarf import LogicalFrame, Subprogram
    from explorer.binary.dwarf import Variable as DwarfVariable
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess

#: Register names (NT_PRSTATUS, ucontext) -> DWARF register numbers: see explorer.core.arch.
AMD64_DWARF_REGS = AMD64.dwarf_regs
ARM64_SP = ARM64.dwarf_sp


@dataclass
class FrameScope:
    """What evaluating a frame's variables needs: the frame, its DWARF function and logical frame."""

    frame: Frame
    function: Subprogram | None
    logical: LogicalFrame | None
    link_pc: int  # sym_pc as a link-time address
    regs: dict[int, int]
    dict_value: GenericDict | None = None


def _frames(proc: GoProcess, g: Goroutine) -> list[Frame]:
    return list(proc.backtrace(g).frames)


def select_frame(proc: GoProcess, g: Goroutine, frame_index: int) -> Frame:
    """Frame ``frame_index`` of goroutine ``g``'s backtrace (a clear error if there is none)."""
    frames = _frames(proc, g)
    if not frames:
        raise ExplorerError(f"goroutine {getattr(g, 'id', '?')} has no frames")
    if not 0 <= frame_index < len(frames):
        raise ExplorerError(f"no frame {frame_index}: goroutine {getattr(g, 'id', '?')} has frames "
                            f"0..{len(frames) - 1}")
    return frames[frame_index]


def dwarf_regs(frame: Frame, arch: str = "amd64") -> dict[int, int]:
    """The DWARF registers known at ``frame``: all of them for frames with exact registers, else
    only the stack pointer (the frame's own SP is always known)."""
    desc = arch_named(arch)
    out: dict[int, int] = {}
    if frame.regs:
        for name, val in frame.regs.items():
            n = desc.dwarf_regs.get(name)
            if n is not None:
                out[n] = val
    out[desc.dwarf_sp] = frame.sp
    return out


def frame_scope(proc: GoProcess, g: Goroutine, frame_index: int) -> FrameScope:
    """The DWARF scope of a backtrace frame (its function None when DWARF does not cover it)."""
    frames = _frames(proc, g)
    f = select_frame(proc, g, frame_index)
    dec = decoder(proc)
    bias = dec.bias
    link_pc = f.sym_pc - bias
    fn = dec.dwarf.function_at(link_pc)
    regs = dwarf_regs(f, getattr(proc, "arch", "amd64"))
    if fn is None:
        return FrameScope(f, None, None, link_pc, regs)
    logical = fn.frames_at(link_pc)
    group = [x for x in frames if x.physical == f.physical]
    pos = next((i for i, x in enumerate(group) if x.index == f.index), 0)
    lf = None
    if len(group) == len(logical):
        lf = logical[pos]
    else:  # the pclntab and DWARF disagree on inlining here: match by name, else the function
        short = _base_name(f.function)
        for cand in logical:
            if _base_name(cand.name) == short:
                lf = cand
                break
        if lf is None:
            lf = logical[-1] if not f.inlined else None
    scope = FrameScope(f, fn, lf, link_pc, regs)
    if lf is not None:
        for var in fn.variables:
            if var.name == ".dict":
                dv = _evaluate(dec, scope, var, None)
                if dv.kind == "ptr" and dv.value:
                    scope.dict_value = GenericDict(dec, int(dv.value))
                break
    return scope


_IN_REGISTER = ("in register", "part in register")


def _reg_name(dec: Decoder, n: int | None) -> str:
    return arch_named(getattr(dec.proc, "arch", "amd64")).dwarf_reg_name(n)


def _base_name(name: str) -> str:
    i = name.find("[")
    return name[:i] if i >= 0 else name


def _location(dec: Decoder, scope: FrameScope, var: DwarfVariable) -> tuple[Loc | None, str]:
    """Where ``var`` is at the frame's pc: a Loc, or None and why not.

    A caller frame is looked up at its call instruction (return address - 1). If the variable is
    in a register there (which an outer frame does not know), the location at the return address
    itself is tried: when the call returns, execution resumes there with nothing of this frame
    run in between, so memory DWARF names for that pc holds the variable now.
    """
    loc, why = _location_at(dec, scope, var, scope.link_pc)
    f = scope.frame
    # Only for a variable live in a register across the call (assigned, just not saved), never
    # for one DWARF says is dead at the call.
    if loc is None and why.startswith(_IN_REGISTER) and f.pc != f.sym_pc and not f.regs:
        ret = f.pc - dec.bias
        fn = scope.function
        if fn is not None and fn.contains(ret) and var.in_scope(ret):
            loc2, _why2 = _location_at(dec, scope, var, ret, memory_only=True)
            if loc2 is not None:
                return loc2, ""
    return loc, why


def _location_at(dec: Decoder, scope: FrameScope, var: DwarfVariable, pc: int,
                 memory_only: bool = False) -> tuple[Loc | None, str]:
    expr = var.location_at(pc)
    if expr is None:
        return None, "optimized out"
    if len(expr) == 0:
        return None, "optimized out"
    f = scope.frame
    fn = scope.function
    pieces = dec.dwarf.eval_location(expr, cu=fn.cu if fn is not None else None, cfa=f.fp, regs=scope.regs,
                                     frame_base=f.fp, read_mem=dec.mem.read)
    size = var.type.size if var.type is not None else None
    if memory_only and any(p.kind != "memory" for p in pieces):
        return None, "not in memory"
    if len(pieces) == 1 and pieces[0].size is None:
        p = pieces[0]
        if p.kind == "memory" and p.address is not None:
            return Loc(p.address), ""
        if p.kind == "register":
            if p.value is None:
                return None, f"{_IN_REGISTER[0]} {_reg_name(dec, p.register)}, known only in a thread's innermost frame"
            return Loc(None, (p.value & ((1 << 64) - 1)).to_bytes(8, "little")[: size or 8]), ""
        if p.kind == "value" and p.value is not None:
            return Loc(None, (p.value & ((1 << 64) - 1)).to_bytes(8, "little")[: size or 8]), ""
        if p.kind == "implicit" and p.data is not None:
            return Loc(None, p.data), ""
        if p.kind == "optimized_out":
            return None, "optimized out"
        return None, p.reason or "optimized out"
    buf = bytearray()
    for p in pieces:
        n = p.size if p.size is not None else (size or 0) - len(buf)
        if n <= 0:
            continue
        if p.kind == "memory" and p.address is not None:
            try:
                buf += dec.mem.read(p.address, n)
            except ExplorerError as e:
                return None, str(e)
        elif p.kind == "register" and p.value is not None:
            buf += (p.value & ((1 << 64) - 1)).to_bytes(8, "little")[:n].ljust(n, b"\0")
        elif p.kind == "value" and p.value is not None:
            buf += (p.value & ((1 << 64) - 1)).to_bytes(8, "little")[:n].ljust(n, b"\0")
        elif p.kind == "implicit" and p.data is not None:
            buf += p.data[:n].ljust(n, b"\0")
        elif p.kind == "register":
            return None, f"{_IN_REGISTER[1]} {_reg_name(dec, p.register)}, known only in a thread's innermost frame"
        else:
            return None, "optimized out" if p.kind == "optimized_out" else (p.reason or "optimized out")
    return Loc(None, bytes(buf)), ""


def _evaluate(dec: Decoder, scope: FrameScope, var: DwarfVariable, gdict: GenericDict | None) -> Value:
    tname = dec.type_name(var.type, gdict)
    loc, why = _location(dec, scope, var)
    if loc is None:
        return unreadable(tname, None, why)
    return dec.decode(var.type, loc, gdict=gdict)


def _raw_bytes(dec: Decoder, scope: FrameScope, var: DwarfVariable, size: int) -> bytes | None:
    """The first ``size`` bytes of ``var`` at the frame, or None where they are not known."""
    loc, _why = _location(dec, scope, var)
    if loc is None:
        return None
    try:
        return loc.read(dec.mem, 0, size)
    except ExplorerError:
        return None


def _deref_escaped(dec: Decoder, v: Value, var: DwarfVariable) -> Value:
    """``&x`` (x moved to the heap) shown as x: the pointer's target."""
    if v.kind == "unreadable":
        t = var.type.elem if var.type is not None and var.type.kind == "ptr" else None
        return unreadable(t.name if t is not None else v.type_name, None, v.error or "unreadable")
    if v.kind != "ptr" or not v.value:
        return unreadable(v.type_name.lstrip("*"), None, "moved to the heap, and its pointer is nil")
    tgt = v.target()
    return tgt if tgt is not None else unreadable(v.type_name.lstrip("*"), None, "unreadable")


def scope_variables(proc: GoProcess, scope: FrameScope) -> list[Variable]:
    """The variables of a frame scope (see the module docstring for what is left out)."""
    if scope.logical is None:
        return []
    dec = decoder(proc)
    line = scope.frame.line
    out: list[Variable] = []
    dvars: list[DwarfVariable] = []
    seen: dict[str, int] = {}
    for var in scope.logical.variables:
        name = var.name
        if not name or name.startswith(".") or name == "_":
            continue
        escaped = name.startswith("&")
        shown = name[1:] if escaped else name
        if var.kind == "local" and var.decl_line is not None and line and var.decl_line > line:
            continue
        if (var.kind == "local" and var.decl_line == line and var.location is not None
                and not name.startswith("&")):
            # One location for the whole function (-N -l: no liveness in the DWARF), declared on
            # the line being executed: ``x := f()`` with f still running has not assigned x.
            value = unreadable(dec.type_name(var.type, scope.dict_value), None,
                               f"not assigned yet (declared on line {line}, which is executing)")
        else:
            value = _evaluate(dec, scope, var, scope.dict_value)
        if escaped:
            value = _deref_escaped(dec, value, var)
        kind = "arg" if var.kind == "arg" else "local"
        v = Variable(shown, kind, value, var.decl_line)
        if shown in seen:  # x and &x both described: keep the readable one
            i = seen[shown]
            if out[i].value.kind == "unreadable" and value.kind != "unreadable":
                out[i] = Variable(shown, out[i].kind, value, var.decl_line)
                dvars[i] = var
            continue
        seen[shown] = len(out)
        out.append(v)
        dvars.append(var)
    if any(split_name(dv.name) for dv in dvars):
        out = [v for _dv, v in merge_split_variables(dec, scope, list(zip(dvars, out, strict=True)),
                                                     lambda dv, n: _raw_bytes(dec, scope, dv, n))]
    args = [v for v in out if v.kind == "arg"]
    locs = sorted((v for v in out if v.kind != "arg"), key=lambda v: v.decl_line or 0)
    return args + locs


def frame_variables(proc: GoProcess, g: Goroutine, frame_index: int) -> list[Variable]:
    """Arguments (declaration order) then locals (by declaration line) of frame ``frame_index``
    of goroutine ``g``."""
    return scope_variables(proc, frame_scope(proc, g, frame_index))


__all__ = ["PTR", "FrameScope", "dwarf_regs", "frame_scope", "frame_variables", "scope_variables",
           "select_frame"]
