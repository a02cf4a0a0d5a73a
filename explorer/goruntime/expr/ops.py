"""Go's operators and conversions on values read from a core.

Operands are :class:`~explorer.goruntime.values.Value` objects (typed: a variable, a field, a
computed result) or :class:`Const` (untyped constants: literals and what only literals make). The
rules are Go's:

- an untyped constant meets a typed operand by converting to its type, and must be representable
  in it (``vUint8 + 300`` is an error, as Go's compiler says: "constant 300 overflows uint8");
- typed operands of a binary operator must have identical types (named types by name);
- integer arithmetic wraps to the type's width; ``/`` truncates toward zero and ``%`` takes the
  dividend's sign; integer division by zero is an error; float32 results are rounded to float32;
  shifts take an unsigned or constant non-negative count;
- comparisons give an untyped bool; strings compare by bytes; pointers, channels, maps and funcs
  compare by address (maps and funcs only with nil); structs and arrays field by field and element
  by element (as ``==`` in Go), interfaces by dynamic type and value;
- conversions: between numeric types (wrapping, truncating floats toward zero, rounding to
  float32), to and from named types of the same underlying kind, ``[]byte(s)``/``string(b)`` (the
  same bytes in the core: no copy, bounded as every string and slice is), ``unsafe.Pointer`` and
  ``uintptr`` to and from pointers, and an integer address to ``*T``.

Results are Values decoded from the bytes the result would occupy, so a named type keeps its name
and every later step (fields, printing, JSON) treats them as any other value.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.errors import ExpressionError
from explorer.goruntime.expr.types import PTR, resolve_type
from explorer.goruntime.values import Loc, Value

if TYPE_CHECKING:
    from explorer.binary.dwarf import GoType
    from explorer.goruntime.decode import Decoder

#: String bytes compared at most (a garbage length must not make a 1 GB read).
MAX_COMPARE = 1 << 20
#: Elements and fields compared at most by one ``==`` (nested ones included).
MAX_COMPARE_NODES = 100_000


@dataclass(frozen=True)
class Const:
    """An untyped constant: ``kind`` is ``int``, ``rune``, ``float``, ``string``, ``bool`` or ``nil``."""

    kind: str
    value: int | float | str | bool | None

    @property
    def type_name(self) -> str:
        return f"untyped {self.kind}"


Operand = Value | Const

_DEFAULT_TYPE = {"int": "int", "rune": "int32", "float": "float64", "bool": "bool"}


def _bits(v: Value) -> int:
    return int(v.size or 8) * 8


def _wrap(x: int, kind: str, bits: int) -> int:
    x &= (1 << bits) - 1
    if kind == "int" and x >> (bits - 1):
        x -= 1 << bits
    return x


def _fits(x: int, kind: str, bits: int) -> bool:
    if kind == "uint":
        return 0 <= x < 1 << bits
    return -(1 << (bits - 1)) <= x < 1 << (bits - 1)


def _f32(x: float) -> float:
    try:
        return float(struct.unpack("<f", struct.pack("<f", x))[0])
    except OverflowError:
        return math.copysign(math.inf, x)


def _raw(t: GoType, kind: str, value: int | float | bool) -> bytes:
    size = int(t.size or 8)
    if kind == "bool":
        return b"\x01" if value else b"\x00"
    if kind == "float":
        return struct.pack("<f" if size == 4 else "<d", value)
    return (int(value) & ((1 << (size * 8)) - 1)).to_bytes(size, "little")


def make_scalar(dec: Decoder, t: GoType, value: int | float | bool) -> Value:
    """A value of scalar type ``t`` (bool, integer, float, or a named type of one) holding ``value``."""
    base = t.strip_typedefs()
    return dec.decode(t, Loc(None, _raw(t, base.kind, value)))


def const_type(dec: Decoder, c: Const) -> GoType:
    name = _DEFAULT_TYPE.get(c.kind)
    if name is None:
        raise ExpressionError(f"an untyped {c.kind} constant has no default type here")
    from explorer.goruntime.expr.syntax import TypeExpr

    return resolve_type(dec, TypeExpr("name", 0, name=name))


def materialize(dec: Decoder, x: Operand) -> Value:
    """A Value for ``x``: untyped constants take their default type (``int``, ``float64``...)."""
    if isinstance(x, Value):
        return x
    if x.kind == "nil":
        raise ExpressionError("use of untyped nil")  # as Go's compiler says
    if x.kind == "string":
        raise ExpressionError(f"a string constant ({x.value!r}) has no bytes in the core to show")
    return convert_const(dec, x, const_type(dec, x))


def convert_const(dec: Decoder, c: Const, t: GoType) -> Value:
    """Untyped constant ``c`` as a value of type ``t``; it must be representable (Go's rule)."""
    base = t.strip_typedefs()
    k = base.kind
    v = c.value
    if c.kind == "nil":
        if k in ("ptr", "unsafe.Pointer", "map", "chan", "func", "slice", "iface", "eface"):
            return dec.decode(t, Loc(None, bytes(int(base.size or PTR))))
        raise ExpressionError(f"cannot use nil as {t.name}")
    if c.kind == "bool":
        if k != "bool":
            raise ExpressionError(f"cannot use {v} (untyped bool constant) as {t.name}")
        return make_scalar(dec, t, bool(v))
    if c.kind == "string":
        raise ExpressionError(f"a string constant cannot become {t.name} here (it has no bytes in the core)")
    assert isinstance(v, int | float) and not isinstance(v, bool)
    if k in ("int", "uint"):
        if isinstance(v, float):
            if not v.is_integer():
                raise ExpressionError(f"constant {v} truncated to integer ({t.name})")
            v = int(v)
        if not _fits(v, k, int(base.size or 8) * 8):
            raise ExpressionError(f"constant {v} overflows {t.name}")
        return make_scalar(dec, t, v)
    if k == "float":
        f = float(v)
        if int(base.size or 8) == 4 and math.isinf(_f32(f)) and not math.isinf(f):
            raise ExpressionError(f"constant {v} overflows {t.name}")
        return make_scalar(dec, t, _f32(f) if base.size == 4 else f)
    raise ExpressionError(f"cannot use constant {v} as {t.name}")


def _scalar_kind(v: Value) -> str:
    return v.kind if v.kind in ("int", "uint", "float", "bool", "string", "complex") else "ref"


def _same_type(x: Value, y: Value) -> bool:
    return x.type_name == y.type_name


def _unify(dec: Decoder, x: Operand, y: Operand, op: str) -> tuple[Operand, Operand]:
    """Give an untyped constant the other operand's type (Go's rule for binary operators)."""
    if isinstance(x, Const) and isinstance(y, Value) and y._t is not None and y.kind != "string":
        x = convert_const(dec, x, y._t) if x.kind != "nil" else x
    elif isinstance(y, Const) and isinstance(x, Value) and x._t is not None and x.kind != "string":
        y = convert_const(dec, y, x._t) if y.kind != "nil" else y
    for a, b in ((x, y), (y, x)):
        if isinstance(a, Value) and a.kind == "string" and isinstance(b, Const) and b.kind not in ("string", "nil"):
            raise ExpressionError(f"invalid operation: {op} on mismatched types {a.type_name} and {b.type_name}")
    if isinstance(x, Value) and isinstance(y, Value) and not _same_type(x, y) \
            and "nil" not in (x.type_name, y.type_name):
        raise ExpressionError(f"invalid operation: {op} on mismatched types {x.type_name} and {y.type_name}")
    return x, y


# ---------------------------------------------------------------------------------------------------
# Constants


def const_binary(op: str, x: Const, y: Const) -> Const:
    """``x op y`` on untyped constants (exact, as Go's constant arithmetic)."""
    a, b = x.value, y.value
    if op in ("&&", "||"):
        if x.kind != "bool" or y.kind != "bool":
            raise ExpressionError(f"operator {op} needs booleans")
        return Const("bool", (a and b) if op == "&&" else (a or b))
    if op in ("==", "!=", "<", "<=", ">", ">="):
        if (x.kind == "string") != (y.kind == "string") or (x.kind == "bool") != (y.kind == "bool"):
            raise ExpressionError(f"invalid comparison of {x.type_name} and {y.type_name}")
        return Const("bool", _compare(op, a, b))
    if x.kind in ("bool", "nil", "string") or y.kind in ("bool", "nil", "string"):
        raise ExpressionError(f"operator {op} not defined on {x.type_name} and {y.type_name}")
    assert isinstance(a, int | float) and isinstance(b, int | float)
    kind = "float" if "float" in (x.kind, y.kind) else "rune" if "rune" in (x.kind, y.kind) else "int"
    if op in ("<<", ">>"):
        if not isinstance(b, int) or b < 0 or b > 10_000:
            raise ExpressionError(f"invalid shift count {b}")
        if not isinstance(a, int):
            raise ExpressionError(f"shifted operand {a} must be an integer")
        return Const(x.kind, a << b if op == "<<" else a >> b)
    if kind == "float":
        a, b = float(a), float(b)
    if op in ("/", "%") and b == 0:
        raise ExpressionError("division by zero")
    if op == "+":
        r: int | float = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    elif op == "/":
        r = a / b if kind == "float" else _trunc_div(int(a), int(b))
    elif op == "%" and kind != "float":
        r = int(a) - _trunc_div(int(a), int(b)) * int(b)
    elif op in ("&", "|", "^", "&^") and kind != "float":
        r = _bitop(op, int(a), int(b))
    else:
        raise ExpressionError(f"operator {op} not defined on {kind} constants")
    if isinstance(r, int) and r.bit_length() > 512:
        raise ExpressionError("constant overflow")
    return Const(kind, r)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _bitop(op: str, a: int, b: int) -> int:
    if op == "&":
        return a & b
    if op == "|":
        return a | b
    if op == "^":
        return a ^ b
    return a & ~b


def _compare(op: str, a: object, b: object) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    try:
        if op == "<":
            return a < b  # type: ignore[operator]
        if op == "<=":
            return a <= b  # type: ignore[operator]
        if op == ">":
            return a > b  # type: ignore[operator]
        return a >= b  # type: ignore[operator]
    except TypeError:
        raise ExpressionError(f"operator {op} not defined on these operands") from None


# ---------------------------------------------------------------------------------------------------
# Typed operands


def binary(dec: Decoder, op: str, x: Operand, y: Operand) -> Operand:
    """``x op y`` with Go's typing and arithmetic (see the module docstring)."""
    if isinstance(x, Const) and isinstance(y, Const):
        return const_binary(op, x, y)
    if op in ("<<", ">>"):
        return _shift(dec, op, x, y)
    x, y = _unify(dec, x, y, op)
    if op in ("==", "!=", "<", "<=", ">", ">="):
        return Const("bool", compare(dec, op, x, y))
    if op in ("&&", "||"):
        a, b = _bool(x), _bool(y)
        return _result_like(dec, x, y, (a and b) if op == "&&" else (a or b))
    xv = x if isinstance(x, Value) else None
    assert xv is not None and isinstance(y, Value)
    k = _scalar_kind(xv)
    if k not in ("int", "uint", "float"):
        raise ExpressionError(f"invalid operation: operator {op} not defined on {xv.type_name}")
    a, b = xv.value, y.value
    if k == "float":
        if op not in ("+", "-", "*", "/"):
            raise ExpressionError(f"invalid operation: operator {op} not defined on {xv.type_name}")
        r = _float_op(op, float(a), float(b))
        return make_scalar(dec, _need_type(xv), _f32(r) if xv.size == 4 else r)
    bits = _bits(xv)
    if op in ("/", "%") and b == 0:
        raise ExpressionError("integer divide by zero")
    if op == "+":
        ri = a + b
    elif op == "-":
        ri = a - b
    elif op == "*":
        ri = a * b
    elif op == "/":
        ri = _trunc_div(a, b)
    elif op == "%":
        ri = a - _trunc_div(a, b) * b
    elif op in ("&", "|", "^", "&^"):
        ri = _bitop(op, a, b)
    else:
        raise ExpressionError(f"invalid operation: operator {op} not defined on {xv.type_name}")
    return make_scalar(dec, _need_type(xv), _wrap(ri, k, bits))


def _float_op(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:  # IEEE 754, as Go computes it at run time
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _shift(dec: Decoder, op: str, x: Operand, y: Operand) -> Operand:
    if isinstance(y, Const):
        if y.kind not in ("int", "rune") and not (y.kind == "float" and float(y.value).is_integer()):  # type: ignore[arg-type]
            raise ExpressionError(f"invalid shift count {y.value}")
        n = int(y.value)  # type: ignore[arg-type]
    else:
        if y.kind not in ("int", "uint"):
            raise ExpressionError(f"invalid shift count type {y.type_name}")
        n = int(y.value)
    if n < 0:
        raise ExpressionError(f"negative shift count {n}")
    if isinstance(x, Const):
        x = materialize(dec, x)
    if x.kind not in ("int", "uint"):
        raise ExpressionError(f"invalid operation: shift of {x.type_name}")
    bits = _bits(x)
    r = x.value << min(n, bits + 1) if op == "<<" else x.value >> min(n, bits + 1)
    return make_scalar(dec, _need_type(x), _wrap(r, x.kind, bits))


def _need_type(v: Value) -> GoType:
    if v._t is None:
        raise ExpressionError(f"the type of {v.type_name} is unknown")
    return v._t


def _bool(x: Operand) -> bool:
    if isinstance(x, Const):
        if x.kind != "bool":
            raise ExpressionError(f"{x.value!r} is not a boolean")
        return bool(x.value)
    if x.kind != "bool":
        raise ExpressionError(f"{x.type_name} is not a boolean")
    return bool(x.value)


def _result_like(dec: Decoder, x: Operand, y: Operand, r: bool) -> Operand:
    typed = x if isinstance(x, Value) else y if isinstance(y, Value) else None
    if typed is None or typed._t is None:
        return Const("bool", r)
    return make_scalar(dec, typed._t, r)


def unary(dec: Decoder, op: str, x: Operand) -> Operand:
    """``op x`` for ``+ - ! ^``."""
    if isinstance(x, Const):
        v = x.value
        if op == "!":
            if x.kind != "bool":
                raise ExpressionError(f"operator ! not defined on {x.type_name}")
            return Const("bool", not v)
        if x.kind not in ("int", "rune", "float") or (op == "^" and x.kind == "float"):
            raise ExpressionError(f"operator {op} not defined on {x.type_name}")
        assert isinstance(v, int | float)
        return Const(x.kind, +v if op == "+" else -v if op == "-" else ~int(v))
    if op == "!":
        return make_scalar(dec, _need_type(x), not _bool(x))
    k = x.kind
    if k == "float" and op in ("+", "-"):
        return make_scalar(dec, _need_type(x), -float(x.value) if op == "-" else float(x.value))
    if k not in ("int", "uint"):
        raise ExpressionError(f"invalid operation: operator {op} not defined on {x.type_name}")
    bits = _bits(x)
    r = x.value if op == "+" else -x.value if op == "-" else ~x.value
    return make_scalar(dec, _need_type(x), _wrap(r, k, bits))


# ---------------------------------------------------------------------------------------------------
# Comparison and equality


def compare(dec: Decoder, op: str, x: Operand, y: Operand) -> bool:
    """``x op y`` for the comparison operators."""
    if isinstance(x, Const) and isinstance(y, Const):
        return bool(const_binary(op, x, y).value)
    if op in ("==", "!="):
        eq = equal(x, y, [MAX_COMPARE_NODES])
        return eq if op == "==" else not eq
    a, b = _ordered(x), _ordered(y)
    return _compare(op, a, b)


def _ordered(x: Operand) -> object:
    if isinstance(x, Const):
        if x.kind == "string":
            return str(x.value).encode("utf-8", "surrogateescape")
        return x.value
    if x.kind in ("int", "uint", "float"):
        return x.value
    if x.kind == "string":
        return string_bytes(x)
    raise ExpressionError(f"invalid operation: {x.type_name} values are not ordered")


def string_bytes(v: Value) -> bytes:
    n = int(v.length or 0)
    if n > MAX_COMPARE:
        raise ExpressionError(f"a string of {n} bytes is too long to compare (at most {MAX_COMPARE})")
    raw, _cut = v.raw_text(n)
    return raw


def equal(x: Operand, y: Operand, budget: list[int]) -> bool:
    """Go's ``==`` of two values (or a value and a constant); bounded by ``budget[0]`` nodes."""
    budget[0] -= 1
    if budget[0] < 0:
        raise ExpressionError(f"comparison of more than {MAX_COMPARE_NODES} elements")
    if isinstance(x, Const):
        x, y = y, x
    if isinstance(y, Const):
        assert isinstance(x, Value)
        if y.kind == "nil":
            if x.kind in ("ptr", "map", "chan", "func", "slice", "iface"):
                return x.is_nil
            raise ExpressionError(f"invalid comparison of {x.type_name} with nil")
        if x.kind == "iface":  # a constant in an interface has its default type (1 is an int)
            d = x.dynamic_value()
            default = {"int": "int", "rune": "int32", "float": "float64", "bool": "bool", "string": "string"}
            return d is not None and x.dynamic_type == default.get(y.kind) and equal(d, y, budget)
        if y.kind == "string":
            return x.kind == "string" and string_bytes(x) == str(y.value).encode("utf-8", "surrogateescape")
        if x.kind in ("int", "uint", "float", "bool"):
            return bool(x.value == y.value)
        raise ExpressionError(f"invalid comparison of {x.type_name} with {y.value!r}")
    assert isinstance(x, Value) and isinstance(y, Value)
    if x.kind == "iface" or y.kind == "iface":
        return _iface_equal(x, y, budget)
    if x.kind != y.kind:
        raise ExpressionError(f"invalid comparison of {x.type_name} and {y.type_name}")
    k = x.kind
    if k in ("int", "uint", "float", "bool"):
        return bool(x.value == y.value)
    if k == "complex":
        return (x.real, x.imag) == (y.real, y.imag)
    if k == "string":
        return x.length == y.length and string_bytes(x) == string_bytes(y)
    if k in ("ptr", "chan"):
        return bool(x.value == y.value)
    if k in ("map", "func", "slice"):
        if x.is_nil or y.is_nil:
            return x.is_nil and y.is_nil
        raise ExpressionError(f"invalid comparison: {x.type_name} can only be compared to nil")
    if k == "array":
        if x.length != y.length:
            return False
        n = int(x.length or 0)
        for i in range(n):
            if not equal(x.element(i), y.element(i), budget):
                return False
        return True
    if k == "struct":
        fx, fy = x.fields(), y.fields()
        if [f.name for f, _ in fx] != [f.name for f, _ in fy]:
            return False
        return all(equal(a, b, budget) for (_, a), (_, b) in zip(fx, fy, strict=True))
    raise ExpressionError(f"invalid comparison of {x.type_name} values")


def _iface_equal(x: Value, y: Value, budget: list[int]) -> bool:
    def unwrap(v: Value) -> tuple[str | None, Value | None]:
        if v.kind != "iface":
            return v.type_name, v
        return v.dynamic_type, v.dynamic_value()

    tx, dx = unwrap(x)
    ty, dy = unwrap(y)
    if dx is None or dy is None:
        return dx is None and dy is None
    return tx == ty and equal(dx, dy, budget)


# ---------------------------------------------------------------------------------------------------
# Conversions


def convert(dec: Decoder, t: GoType, x: Operand) -> Value:
    """``T(x)``: see the module docstring for what converts to what."""
    if isinstance(x, Const):
        base = t.strip_typedefs()
        if base.kind in ("ptr", "unsafe.Pointer") and x.kind in ("int", "rune"):
            addr = int(x.value)  # type: ignore[arg-type]
            if not 0 <= addr < 1 << 64:
                raise ExpressionError(f"address {addr} is outside the 64-bit address space")
            return dec.decode(t, Loc(None, addr.to_bytes(PTR, "little")))
        if base.kind == "float" and x.kind in ("int", "rune"):
            return convert_const(dec, Const("float", float(x.value)), t)  # type: ignore[arg-type]
        return convert_const(dec, x, t)
    base = t.strip_typedefs()
    to, frm = base.kind, x.kind
    if frm == "unreadable":
        raise ExpressionError(f"{x.type_name} is unreadable: {x.error}")
    if to in ("int", "uint") and frm in ("int", "uint"):
        return make_scalar(dec, t, _wrap(int(x.value), to, int(base.size or 8) * 8))
    if to in ("int", "uint") and frm == "float":
        f = float(x.value)
        if math.isnan(f) or math.isinf(f):
            raise ExpressionError(f"cannot convert {f} to {t.name}")
        i = int(f)  # truncates toward zero, as Go
        if not _fits(i, to, int(base.size or 8) * 8):
            raise ExpressionError(f"{f} overflows {t.name} (the result is implementation-defined in Go)")
        return make_scalar(dec, t, i)
    if to == "float" and frm in ("int", "uint", "float"):
        f = float(x.value)
        return make_scalar(dec, t, _f32(f) if base.size == 4 else f)
    if to == "bool" and frm == "bool":
        return make_scalar(dec, t, bool(x.value))
    if to == "string" and frm == "string":
        return dec.decode(t, Loc(None, struct.pack("<Qq", int(x.data or 0), int(x.length or 0))))
    if to == "string" and frm == "slice" and x.elem_type == "uint8":
        # string(b): the same bytes (Go's conversion copies them; the core's copy is the original)
        return dec.decode(t, Loc(None, struct.pack("<Qq", int(x.data or 0), int(x.length or 0))))
    if to == "slice" and frm == "string" and base.elem is not None and base.elem.name == "uint8":
        n = int(x.length or 0)
        return dec.decode(t, Loc(None, struct.pack("<Qqq", int(x.data or 0), n, n)))
    if to in ("ptr", "unsafe.Pointer") and frm in ("ptr", "uint") and (frm == "ptr" or x.size == PTR):
        return dec.decode(t, Loc(None, int(x.value or 0).to_bytes(PTR, "little")))
    if to == "uint" and frm == "ptr" and base.size == PTR:
        return make_scalar(dec, t, int(x.value or 0))
    if to == frm and to in ("struct", "array", "slice", "map", "chan", "func") and x._loc is not None:
        # A named type and its underlying type (or two named types of one underlying type).
        if x._t is not None and x._t.strip_typedefs().size != base.size:
            raise ExpressionError(f"cannot convert {x.type_name} to {t.name}")
        return dec.decode(t, x._loc)
    raise ExpressionError(f"cannot convert {x.type_name} to {t.name}")
