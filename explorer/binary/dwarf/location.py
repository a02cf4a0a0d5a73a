"""DWARF location expressions: a stack machine's operations evaluated into :class:`Piece` s.

What Go writes (``cmd/compile/internal/dwarfgen``, ``ssagen``): ``DW_OP_call_frame_cfa`` as every
function's frame base; ``DW_OP_fbreg`` for variables in the frame; ``DW_OP_reg*``/``regx`` for
register-allocated ones; ``DW_OP_piece`` to assemble a value from several places (optimized builds);
``DW_OP_addr`` (DWARF 4) or ``DW_OP_addrx`` (DWARF 5) for globals; ``DW_OP_plus_uconst`` for struct
member offsets in old producers. The rest of DWARF 5's stack operations are evaluated too, with
the address size's wraparound.

Evaluation never guesses: a register, memory or frame base it does not have makes the piece
"unavailable" with the reason, and a malformed expression gives an unavailable piece too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from explorer.binary.dwarf.constants import (
    DW_OP_abs,
    DW_OP_addr,
    DW_OP_addrx,
    DW_OP_and,
    DW_OP_bit_piece,
    DW_OP_bra,
    DW_OP_breg0,
    DW_OP_breg31,
    DW_OP_bregx,
    DW_OP_call_frame_cfa,
    DW_OP_const1s,
    DW_OP_const1u,
    DW_OP_const2s,
    DW_OP_const2u,
    DW_OP_const4s,
    DW_OP_const4u,
    DW_OP_const8s,
    DW_OP_const8u,
    DW_OP_consts,
    DW_OP_constu,
    DW_OP_constx,
    DW_OP_deref,
    DW_OP_deref_size,
    DW_OP_div,
    DW_OP_drop,
    DW_OP_dup,
    DW_OP_eq,
    DW_OP_fbreg,
    DW_OP_ge,
    DW_OP_GNU_addr_index,
    DW_OP_GNU_const_index,
    DW_OP_gt,
    DW_OP_implicit_value,
    DW_OP_le,
    DW_OP_lit0,
    DW_OP_lit31,
    DW_OP_lt,
    DW_OP_minus,
    DW_OP_mod,
    DW_OP_mul,
    DW_OP_ne,
    DW_OP_neg,
    DW_OP_nop,
    DW_OP_not,
    DW_OP_or,
    DW_OP_over,
    DW_OP_pick,
    DW_OP_piece,
    DW_OP_plus,
    DW_OP_plus_uconst,
    DW_OP_reg0,
    DW_OP_reg31,
    DW_OP_regx,
    DW_OP_rot,
    DW_OP_shl,
    DW_OP_shr,
    DW_OP_shra,
    DW_OP_skip,
    DW_OP_stack_value,
    DW_OP_swap,
    DW_OP_xor,
)
from explorer.binary.dwarf.sections import read_uint
from explorer.binary.varint import sleb128, uleb128
from explorer.errors import ExplorerError

MAX_OPS = 10_000  # operations one location expression may execute (DW_OP_skip/bra can loop)

PieceKind = Literal["memory", "register", "value", "implicit", "optimized_out", "unavailable"]


@dataclass(frozen=True)
class Piece:
    """Where (part of) a variable lives, from evaluating a location expression.

    ``size`` is the piece's byte size (None: the whole variable). ``memory``: at ``address``;
    ``register``: in DWARF register ``register``, whose content is ``value`` (None when the
    register is not known in this frame: unavailable); ``value``: the variable's value is ``value``
    (``DW_OP_stack_value``); ``implicit``: its bytes are ``data``; ``optimized_out``: no location;
    ``unavailable``: computable only with registers or memory we do not have (``reason`` says).
    """

    size: int | None
    kind: PieceKind
    address: int | None = None
    register: int | None = None
    value: int | None = None
    data: bytes | None = None
    reason: str = ""

    @property
    def available(self) -> bool:
        """Whether the piece's bytes can be had (from memory, a known register or the value)."""
        if self.kind == "register":
            return self.value is not None
        return self.kind in ("memory", "value", "implicit")


class _Unknown(Exception):
    """A value the expression needs is not known (a register of an outer frame, unread memory)."""


def eval_location(
    expr: bytes,
    *,
    cfa: int | None = None,
    regs: Mapping[int, int] | None = None,
    frame_base: int | None = None,
    read_mem: Callable[[int, int], bytes] | None = None,
    addrx: Callable[[int], int] | None = None,
    address_size: int = 8,
) -> list[Piece]:
    """Evaluate a DWARF location expression into pieces.

    ``regs`` maps DWARF register numbers to values and holds only the registers known in the frame
    (all of them for a thread's innermost frame, at most SP/PC for outer frames: Go has no
    callee-saved registers). A piece needing an unknown register, CFA, frame base or memory is
    returned as unavailable, never guessed. ``addrx`` resolves ``DW_OP_addrx`` indices (DWARF 5);
    :meth:`GoDwarf.eval_location` supplies it. Malformed expressions give an unavailable piece.
    """
    mask = (1 << (address_size * 8)) - 1
    pieces: list[Piece] = []
    stack: list[int] = []
    loc: tuple[str, Any] | None = None  # ("reg", n) / ("value", None) / ("implicit", bytes)
    unknown = ""
    empty = True  # nothing evaluated since the last piece
    pos = 0
    n = len(expr)

    def need(value: int | None, what: str) -> int:
        if value is None:
            raise _Unknown(what)
        return value

    def reg_value(r: int) -> int:
        if regs is None or r not in regs:
            raise _Unknown(f"register {r} not known in this frame")
        return regs[r] & mask

    def make_piece(size: int | None) -> Piece:
        if unknown:
            return Piece(size, "unavailable", reason=unknown)
        if loc is not None:
            what, arg = loc
            if what == "reg":
                val = regs.get(arg) if regs is not None else None
                return Piece(size, "register", register=arg, value=val)
            if what == "value":
                return Piece(size, "value", value=stack[-1] if stack else None)
            return Piece(size, "implicit", data=arg)
        if empty or not stack:
            return Piece(size, "optimized_out")
        return Piece(size, "memory", address=stack[-1])

    steps = 0
    try:
        while pos < n:
            steps += 1
            if steps > MAX_OPS:
                raise ValueError("too many operations")
            op = expr[pos]
            pos += 1
            if op == DW_OP_piece or op == DW_OP_bit_piece:
                size, pos = uleb128(expr, pos)
                if op == DW_OP_bit_piece:
                    _, pos = uleb128(expr, pos)
                    size = (size + 7) // 8
                pieces.append(make_piece(size))
                stack, loc, unknown, empty = [], None, "", True
                continue
            empty = False
            if unknown:  # skip the rest of this piece's ops, but keep decoding to find the pieces
                pos = _skip_op(expr, pos, op, address_size)
                continue
            try:
                pos = _exec_op(op, expr, pos, stack, address_size, mask, reg_value, need,
                               cfa, frame_base, read_mem, addrx)
            except _RegLoc as r:
                loc = ("reg", r.reg)
                pos = r.pos
            except _StackValue:
                loc = ("value", None)
            except _ImplicitValue as iv:
                loc = ("implicit", iv.data)
                pos = iv.pos
            except _Unknown as u:
                unknown = str(u) or "unknown value"
    except (IndexError, ValueError) as exc:
        return [*pieces, Piece(None, "unavailable", reason=f"malformed location expression: {exc}")]
    if not empty or not pieces:
        pieces.append(make_piece(None))
    return pieces


class _RegLoc(Exception):
    def __init__(self, reg: int, pos: int) -> None:
        self.reg = reg
        self.pos = pos


class _StackValue(Exception):
    pass


class _ImplicitValue(Exception):
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos


_CONST_OPS = {DW_OP_const1u: (1, False), DW_OP_const1s: (1, True), DW_OP_const2u: (2, False),
              DW_OP_const2s: (2, True), DW_OP_const4u: (4, False), DW_OP_const4s: (4, True),
              DW_OP_const8u: (8, False), DW_OP_const8s: (8, True)}
_INDEX_OPS = frozenset({DW_OP_addrx, DW_OP_constx, DW_OP_GNU_addr_index, DW_OP_GNU_const_index})
# Operations with one LEB128 operand (the breg0..31 offsets too).
_ONE_LEB_OPS = frozenset({DW_OP_constu, DW_OP_consts, DW_OP_plus_uconst, DW_OP_regx, DW_OP_fbreg,
                          *_INDEX_OPS, *range(DW_OP_breg0, DW_OP_breg31 + 1)})


def _skip_op(expr: bytes, pos: int, op: int, address_size: int) -> int:
    """Position after the operands of ``op`` (whose opcode byte is just before ``pos``)."""
    if op == DW_OP_addr:
        return pos + address_size
    if op in _CONST_OPS:
        return pos + _CONST_OPS[op][0]
    if op in _ONE_LEB_OPS:
        return uleb128(expr, pos)[1]
    if op == DW_OP_bregx:  # reg, offset
        return uleb128(expr, uleb128(expr, pos)[1])[1]
    if op == DW_OP_pick or op == DW_OP_deref_size:
        return pos + 1
    if op == DW_OP_bra or op == DW_OP_skip:
        return pos + 2
    if op == DW_OP_implicit_value:
        size, pos = uleb128(expr, pos)
        return pos + size
    return pos


def _signed(v: int, mask: int) -> int:
    v &= mask
    top = (mask + 1) >> 1
    return v - (mask + 1) if v & top else v


def _exec_op(op: int, expr: bytes, pos: int, stack: list[int], address_size: int, mask: int,
             reg_value: Callable[[int], int], need: Callable[[int | None, str], int],
             cfa: int | None, frame_base: int | None,
             read_mem: Callable[[int, int], bytes] | None,
             addrx: Callable[[int], int] | None) -> int:
    """Execute one operation; raises _RegLoc/_StackValue/_ImplicitValue for location kinds."""
    if op == DW_OP_addr:
        stack.append(read_uint(expr, pos, address_size))
        return pos + address_size
    if DW_OP_lit0 <= op <= DW_OP_lit31:
        stack.append(op - DW_OP_lit0)
        return pos
    if DW_OP_reg0 <= op <= DW_OP_reg31:
        raise _RegLoc(op - DW_OP_reg0, pos)
    if DW_OP_breg0 <= op <= DW_OP_breg31:
        off, pos = sleb128(expr, pos)
        stack.append((reg_value(op - DW_OP_breg0) + off) & mask)
        return pos
    if op == DW_OP_fbreg:
        off, pos = sleb128(expr, pos)
        stack.append((need(frame_base, "frame base not known") + off) & mask)
        return pos
    if op == DW_OP_call_frame_cfa:
        stack.append(need(cfa, "CFA not known"))
        return pos
    if op == DW_OP_regx:
        r, pos = uleb128(expr, pos)
        raise _RegLoc(r, pos)
    if op == DW_OP_bregx:
        r, pos = uleb128(expr, pos)
        off, pos = sleb128(expr, pos)
        stack.append((reg_value(r) + off) & mask)
        return pos
    if op in _CONST_OPS:
        size, signed = _CONST_OPS[op]
        if pos + size > len(expr):
            raise IndexError("truncated constant")
        stack.append(int.from_bytes(expr[pos:pos + size], "little", signed=signed) & mask)
        return pos + size
    if op == DW_OP_constu:
        v, pos = uleb128(expr, pos)
        stack.append(v & mask)
        return pos
    if op == DW_OP_consts:
        v, pos = sleb128(expr, pos)
        stack.append(v & mask)
        return pos
    if op == DW_OP_plus_uconst:
        v, pos = uleb128(expr, pos)
        stack.append((stack.pop() + v) & mask)
        return pos
    if op in _INDEX_OPS:
        idx, pos = uleb128(expr, pos)
        if addrx is None:
            raise _Unknown("DW_OP_addrx without .debug_addr")
        stack.append(addrx(idx))
        return pos
    if op == DW_OP_deref or op == DW_OP_deref_size:
        size = address_size
        if op == DW_OP_deref_size:
            size = expr[pos]
            pos += 1
        addr = stack.pop()
        if read_mem is None:
            raise _Unknown("memory not available to DW_OP_deref")
        try:
            data = read_mem(addr, size)
        except ExplorerError as exc:
            raise _Unknown(str(exc)) from exc
        if len(data) < size:
            raise _Unknown(f"cannot read {size} bytes at {addr:#x}")
        stack.append(int.from_bytes(data[:size], "little"))
        return pos
    if op == DW_OP_stack_value:
        raise _StackValue()
    if op == DW_OP_implicit_value:
        size, pos = uleb128(expr, pos)
        raise _ImplicitValue(bytes(expr[pos:pos + size]), pos + size)
    if op == DW_OP_nop:
        return pos
    if op == DW_OP_dup:
        stack.append(stack[-1])
    elif op == DW_OP_drop:
        stack.pop()
    elif op == DW_OP_over:
        stack.append(stack[-2])
    elif op == DW_OP_pick:
        stack.append(stack[-1 - expr[pos]])
        return pos + 1
    elif op == DW_OP_swap:
        stack[-1], stack[-2] = stack[-2], stack[-1]
    elif op == DW_OP_rot:
        stack[-1], stack[-2], stack[-3] = stack[-2], stack[-3], stack[-1]
    elif op == DW_OP_abs:
        stack.append(abs(_signed(stack.pop(), mask)) & mask)
    elif op == DW_OP_neg:
        stack.append(-stack.pop() & mask)
    elif op == DW_OP_not:
        stack.append(~stack.pop() & mask)
    elif op in _BINOPS:
        b, a = stack.pop(), stack.pop()
        stack.append(_BINOPS[op](a, b, mask))
    elif op == DW_OP_skip:
        off = int.from_bytes(expr[pos:pos + 2], "little", signed=True)
        return pos + 2 + off
    elif op == DW_OP_bra:
        off = int.from_bytes(expr[pos:pos + 2], "little", signed=True)
        return pos + 2 + (off if stack.pop() else 0)
    else:
        raise ValueError(f"unsupported DWARF operation {op:#x}")
    return pos


def _div(a: int, b: int, mask: int) -> int:
    sb = _signed(b, mask)
    if sb == 0:
        raise ValueError("division by zero")
    return int(_signed(a, mask) / sb) & mask


def _mod(a: int, b: int, mask: int) -> int:
    if b == 0:
        raise ValueError("modulo by zero")
    return a % b


def _compare(test: Callable[[int, int], bool]) -> Callable[[int, int, int], int]:
    return lambda a, b, mask: int(test(_signed(a, mask), _signed(b, mask)))


# Binary operations: (second from top, top, mask) -> result.
_BINOPS: dict[int, Callable[[int, int, int], int]] = {
    DW_OP_and: lambda a, b, mask: a & b,
    DW_OP_div: _div,
    DW_OP_minus: lambda a, b, mask: (a - b) & mask,
    DW_OP_mod: _mod,
    DW_OP_mul: lambda a, b, mask: (a * b) & mask,
    DW_OP_or: lambda a, b, mask: a | b,
    DW_OP_plus: lambda a, b, mask: (a + b) & mask,
    DW_OP_shl: lambda a, b, mask: (a << b) & mask if b < 128 else 0,
    DW_OP_shr: lambda a, b, mask: a >> b,
    DW_OP_shra: lambda a, b, mask: (_signed(a, mask) >> min(b, 127)) & mask,
    DW_OP_xor: lambda a, b, mask: a ^ b,
    DW_OP_eq: _compare(lambda a, b: a == b),
    DW_OP_ge: _compare(lambda a, b: a >= b),
    DW_OP_gt: _compare(lambda a, b: a > b),
    DW_OP_le: _compare(lambda a, b: a <= b),
    DW_OP_lt: _compare(lambda a, b: a < b),
    DW_OP_ne: _compare(lambda a, b: a != b),
}
