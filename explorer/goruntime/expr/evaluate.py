"""Evaluation of expressions (:mod:`.syntax`) on a frame of a dumped process, as delve does on a core.

- A name is an argument or local of the selected frame; failing that a package-level variable:
  ``main.config``, ``net/http.DefaultServeMux``, ``example.com/pkg.Var`` (a bare name also tries
  ``main.NAME``).
- ``a.b`` selects a struct field through pointers and interfaces and into embedded structs, as Go
  promotes their fields; ``a[i]`` indexes a slice, array, string or pointer to array; ``m[k]``
  looks a key up in a map (any comparable key: a literal, or another expression's value of a
  struct, array, string, number, pointer or interface type); ``a[i:j]`` and ``a[i:j:k]`` slice.
- ``*p`` dereferences, ``&x`` takes the address of what is in memory, ``x.(T)`` asserts an
  interface's dynamic type; ``len``/``cap``; conversions ``T(x)`` (:func:`.ops.convert`);
  Go's arithmetic, comparison and logical operators (:mod:`.ops`).

Nothing calls into the process (there is none): a call of a user function is an error that says so.
"""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING

import explorer.goruntime.expr.ops as ops
from explorer.errors import ExplorerError, ExpressionError
from explorer.goruntime.decode import Decoder, decoder
from explorer.goruntime.expr.ops import Const, Operand
from explorer.goruntime.expr.syntax import (
    AddrOf,
    Binary,
    Call,
    Deref,
    Index,
    Literal,
    Name,
    Node,
    Select,
    SliceExpr,
    TypeAssert,
    TypeExpr,
    Unary,
    go_int,
    parse,
    type_of_node,
)
from explorer.goruntime.expr.types import PTR, array_of, pointer_to, resolve_type, slice_of
from explorer.goruntime.values import Loc, Value

if TYPE_CHECKING:
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess

#: Map entries looked through at most by one ``m[k]``.
MAX_MAP_LOOKUP = 1 << 20
_BUILTINS = ("len", "cap")


class _Env:
    """Names visible to an expression: the frame's variables, then package-level variables."""

    def __init__(self, proc: GoProcess, g: Goroutine | None, frame_index: int) -> None:
        self.proc = proc
        self.g = g
        self.frame_index = frame_index
        self.dec: Decoder = decoder(proc)
        self._vars: dict[str, Value] | None = None
        self._where = ""

    def frame_vars(self) -> dict[str, Value]:
        if self._vars is None:
            self._vars = {}
            if self.g is not None:
                from explorer.goruntime.variables import frame_scope, scope_variables

                scope = frame_scope(self.proc, self.g, self.frame_index)
                self._where = f"frame {self.frame_index} ({scope.frame.function})"
                for v in scope_variables(self.proc, scope):
                    self._vars.setdefault(v.name, v.value)
        return self._vars

    def lookup(self, name: str) -> Value | None:
        v = self.frame_vars().get(name)
        if v is not None:
            return v
        v = self.dec.global_value(name)
        if v is None and "." not in name and "/" not in name:
            v = self.dec.global_value("main." + name)
        return v

    def unknown(self, name: str) -> ExpressionError:
        self.frame_vars()
        if self.g is None:
            return ExpressionError(f"no package-level variable {name} (no goroutine selected for locals: "
                                   f"pass -g ID)")
        return ExpressionError(f"no variable {name} in {self._where or 'this frame'}, and no "
                               f"package-level variable of that name")


def evaluate(proc: GoProcess, expr: str, g: Goroutine | None, frame_index: int = 0) -> Value:
    """The value of ``expr`` in frame ``frame_index`` of goroutine ``g`` (None: globals only)."""
    node = parse(expr)
    env = _Env(proc, g, frame_index)
    try:
        return ops.materialize(env.dec, _eval(env, node, expr))
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None


def _value(env: _Env, node: Node, src: str) -> Value:
    """``node`` as a Value (constants take their default type)."""
    return ops.materialize(env.dec, _eval(env, node, src))


def _eval(env: _Env, node: Node, src: str) -> Operand:
    try:
        return _eval1(env, node, src)
    except ExpressionError as e:
        if str(e).startswith(repr(src)):
            raise
        raise ExpressionError(f"{src!r}: {e}") from None


def _eval1(env: _Env, node: Node, src: str) -> Operand:
    if isinstance(node, Literal):
        v = node.value
        if v is None:
            return Const("nil", None)
        if isinstance(v, bool):
            return Const("bool", v)
        if isinstance(v, int):
            return Const("rune" if node.rune else "int", v)
        if isinstance(v, float):
            return Const("float", v)
        return Const("string", v)
    if isinstance(node, Name):
        found = env.lookup(node.name)
        if found is None:
            raise env.unknown(node.name)
        return found
    if isinstance(node, Select):
        qualified = _qualified_name(node)
        if qualified is not None:
            base_name = _leftmost(node)
            if base_name is not None and env.frame_vars().get(base_name) is None:
                g = _global_prefix(env, node)
                if g is not None:
                    return g
                if env.lookup(base_name) is None:
                    raise env.unknown(qualified)
        return _select(_value(env, node.x, src), node.field)
    if isinstance(node, Index):
        return _index(env, _value(env, node.x, src), node, src)
    if isinstance(node, SliceExpr):
        return _slice(env, _value(env, node.x, src), node, src)
    if isinstance(node, Deref):
        return _deref(_value(env, node.x, src))
    if isinstance(node, AddrOf):
        return _address_of(env, _value(env, node.x, src))
    if isinstance(node, Unary):
        return ops.unary(env.dec, node.op, _eval(env, node.x, src))
    if isinstance(node, Binary):
        x = _eval(env, node.x, src)
        if node.op in ("&&", "||"):  # Go evaluates the right operand only when it decides
            if ops._bool(x) == (node.op == "||"):
                return x if isinstance(x, Const) else Const("bool", node.op == "||")
        return ops.binary(env.dec, node.op, x, _eval(env, node.y, src))
    if isinstance(node, Call):
        return _call(env, node, src)
    if isinstance(node, TypeAssert):
        return _assert(env, _value(env, node.x, src), node.type)
    if isinstance(node, TypeExpr):
        raise ExpressionError(f"type {node.go_name} is not an expression")
    raise ExpressionError("unsupported expression")


# ---------------------------------------------------------------------------------------------------
# Names


def _leftmost(node: Node) -> str | None:
    while isinstance(node, Select):
        node = node.x
    return node.name if isinstance(node, Name) else None


def _qualified_name(node: Select) -> str | None:
    parts = []
    cur: Node = node
    while isinstance(cur, Select):
        parts.append(cur.field)
        cur = cur.x
    if not isinstance(cur, Name):
        return None
    parts.append(cur.name)
    return ".".join(reversed(parts))


def _global_prefix(env: _Env, node: Select) -> Value | None:
    """``pkg.Var.f.g``: the longest ``pkg.Var`` that is a package-level variable, then selectors."""
    chain: list[Select] = []
    cur: Node = node
    while isinstance(cur, Select):
        chain.append(cur)
        cur = cur.x
    assert isinstance(cur, Name)
    chain.reverse()  # innermost (pkg.Var) first
    name = cur.name
    for i, sel in enumerate(chain):
        name = f"{name}.{sel.field}"
        v = env.dec.global_value(name)
        if v is not None:
            for rest in chain[i + 1:]:
                v = _select(v, rest.field)
            return v
    return None


# ---------------------------------------------------------------------------------------------------
# Selectors, indexes, slices, pointers


def _usable(v: Value) -> None:
    if v.kind == "unreadable":
        raise ExpressionError(f"{v.type_name} is unreadable: {v.error}")


def _through(v: Value) -> Value:
    """Look through pointers and interfaces to what they hold (bounded)."""
    for _ in range(16):
        _usable(v)
        if v.kind == "ptr":
            if not v.value:
                raise ExpressionError(f"invalid memory address or nil pointer dereference ({v.type_name})")
            t = v.target()
            if t is None:
                return v
            v = t
        elif v.kind == "iface":
            d = v.dynamic_value()
            if d is None:
                raise ExpressionError(f"nil interface ({v.type_name})")
            v = d
        else:
            return v
    raise ExpressionError("too many levels of indirection")


def _select(x: Value, name: str) -> Value:
    base = _through(x)
    if base.kind != "struct":
        raise ExpressionError(f"{x.type_name} has no field {name} (it is a {base.kind})")
    got = base.field(name)
    if got is None:
        names = ", ".join(f.name for f, _ in base.fields()) or "none"
        raise ExpressionError(f"{base.type_name} has no field {name} (fields: {names})")
    return got


def _deref(x: Value) -> Value:
    _usable(x)
    if x.kind != "ptr":
        raise ExpressionError(f"cannot dereference {x.type_name} (not a pointer)")
    if not x.value:
        raise ExpressionError(f"invalid memory address or nil pointer dereference ({x.type_name})")
    t = x.target()
    if t is None:
        raise ExpressionError(f"cannot dereference {x.type_name}: its target type is unknown")
    return t


def _address_of(env: _Env, x: Value) -> Value:
    _usable(x)
    if x.address is None or x._t is None or (x._loc is not None and x._loc.data is not None):
        raise ExpressionError(f"cannot take the address of this {x.type_name}: it is not in memory "
                              f"(a register, a computed value or optimized out)")
    return env.dec.decode(pointer_to(env.dec, x._t), Loc(None, x.address.to_bytes(PTR, "little")))


def _int_of(env: _Env, node: Node, src: str) -> int:
    x = _eval(env, node, src)
    if isinstance(x, Const):
        if x.kind not in ("int", "rune") and not (x.kind == "float" and float(x.value).is_integer()):  # type: ignore[arg-type]
            raise ExpressionError("index must be an integer")
        return int(x.value)  # type: ignore[arg-type]
    _usable(x)
    if x.kind not in ("int", "uint"):
        raise ExpressionError(f"index must be an integer, not {x.type_name}")
    return int(x.value)


def _index(env: _Env, x: Value, node: Index, src: str) -> Value:
    _usable(x)
    if x.kind in ("ptr", "iface"):
        x = _through(x)
    if x.kind == "map":
        return _map_lookup(env, x, node.index, src)
    if x.kind not in ("slice", "array", "string"):
        raise ExpressionError(f"cannot index {x.type_name}")
    i = _int_of(env, node.index, src)
    n = int(x.length or 0)
    if i < 0:
        raise ExpressionError(f"index out of range [{i}]")  # Go's runtime messages (boundsError)
    if i >= n:
        raise ExpressionError(f"index out of range [{i}] with length {n}")
    return x.element(i)


def _slice(env: _Env, x: Value, node: SliceExpr, src: str) -> Value:
    _usable(x)
    if x.kind == "ptr":
        x = _through(x)
    lo = _int_of(env, node.lo, src) if node.lo is not None else 0
    n = int(x.length or 0)
    dec = env.dec
    if x.kind == "string":
        if node.max is not None:
            raise ExpressionError("3-index slice of a string")
        hi = _int_of(env, node.hi, src) if node.hi is not None else n
        _check_bounds(lo, hi, None, n, "length")
        assert x._t is not None
        return dec.decode(x._t, Loc(None, struct.pack("<Qq", int(x.data or 0) + lo, hi - lo)),
                          type_name=x.type_name)
    if x.kind == "slice":
        cap = int(x.cap or 0)
        base, slice_t = int(x.data or 0), x._t
        assert slice_t is not None and slice_t.elem is not None
        elem = slice_t.elem
    elif x.kind == "array":
        if x.address is None or (x._loc is not None and x._loc.data is not None):
            raise ExpressionError("the array is not in memory (it lives in registers)")
        assert x._t is not None
        cap, base = n, x.address
        array_elem = x._t.elem
        if array_elem is None:
            raise ExpressionError(f"element type of {x.type_name} unknown")
        elem = array_elem
        slice_t = slice_of(dec, elem)
    else:
        raise ExpressionError(f"cannot slice {x.type_name}")
    hi = _int_of(env, node.hi, src) if node.hi is not None else n
    mx = _int_of(env, node.max, src) if node.max is not None else cap
    _check_bounds(lo, hi, mx if node.max is not None else None, cap,
                  "capacity" if x.kind == "slice" else "length")
    es = int(elem.size or 0)
    hdr = struct.pack("<Qqq", base + lo * es, hi - lo, mx - lo)
    return dec.decode(slice_t, Loc(None, hdr), type_name=x.type_name if x.kind == "slice" else None)


def _check_bounds(lo: int, hi: int, mx: int | None, limit: int, what: str) -> None:
    """Go's slice bounds checks, with the runtime's messages (runtime/error.go boundsError)."""
    if mx is None:
        if hi < 0 or hi > limit:
            raise ExpressionError(f"slice bounds out of range [:{hi}] with {what} {limit}")
        if lo < 0 or lo > hi:
            raise ExpressionError(f"slice bounds out of range [{lo}:{hi}]")
        return
    if mx < 0 or mx > limit:
        raise ExpressionError(f"slice bounds out of range [::{mx}] with {what} {limit}")
    if hi < 0 or hi > mx:
        raise ExpressionError(f"slice bounds out of range [:{hi}:{mx}]")
    if lo < 0 or lo > hi:
        raise ExpressionError(f"slice bounds out of range [{lo}:{hi}:]")


def _map_lookup(env: _Env, m: Value, key_node: Node, src: str) -> Value:
    want = _eval(env, key_node, src)
    if isinstance(want, Value):
        _usable(want)
    if not m.value:
        raise ExpressionError("the map is nil")
    budget = [ops.MAX_COMPARE_NODES]
    try:
        for k, v in m.entries(MAX_MAP_LOOKUP):
            if _key_equal(k, want, budget):
                return v
    except ExplorerError as e:
        raise ExpressionError(f"cannot read the map: {e}") from e
    shown = f"of type {want.type_name}" if isinstance(want, Value) else repr(want.value)
    raise ExpressionError(f"key {shown} not in the map ({m.length} entries)")


def _key_equal(key: Value, want: Operand, budget: list[int]) -> bool:
    """Whether map key ``key`` equals ``want``; keys of another type simply do not match."""
    try:
        return ops.equal(key, want, budget)
    except ExpressionError:
        if budget[0] < 0:
            raise
        return False


# ---------------------------------------------------------------------------------------------------
# Calls: builtins and conversions; type assertions


def _call(env: _Env, node: Call, src: str) -> Operand:
    fun = node.fun
    if isinstance(fun, Name) and fun.name in _BUILTINS and env.frame_vars().get(fun.name) is None:
        if len(node.args) != 1:
            raise ExpressionError(f"{fun.name} takes one argument")
        return _builtin(fun.name, _value(env, node.args[0], src))
    texpr = type_of_node(fun)
    if texpr is not None and not (isinstance(fun, Name) and env.frame_vars().get(fun.name) is not None):
        try:
            t = resolve_type(env.dec, texpr)
        except ExpressionError:
            if isinstance(fun, TypeExpr) or isinstance(fun, Deref):
                raise
            raise ExpressionError(f"{texpr.go_name} is neither a type in the executable nor a builtin: "
                                  f"function calls are not possible on a core") from None
        if len(node.args) != 1:
            raise ExpressionError(f"a conversion to {t.name} takes one argument")
        return ops.convert(env.dec, t, _eval(env, node.args[0], src))
    raise ExpressionError("function calls are not possible on a core (the process is not running)")


def _builtin(name: str, x: Value) -> Const:
    _usable(x)
    if x.kind == "ptr":
        t = x.target()
        if t is not None and t.kind == "array":
            x = t
    k = x.kind
    if name == "len" and k in ("string", "slice", "array", "map", "chan"):
        return Const("int", int(x.length or 0))
    if name == "cap" and k in ("slice", "array", "chan"):
        return Const("int", int((x.cap if k != "array" else x.length) or 0))
    raise ExpressionError(f"invalid argument: {x.type_name} for built-in {name}")


def _assert(env: _Env, x: Value, texpr: TypeExpr) -> Value:
    _usable(x)
    if x.kind != "iface":
        raise ExpressionError(f"invalid operation: {x.type_name} is not an interface")
    t = resolve_type(env.dec, texpr)
    want = t.name  # as DWARF and the runtime name it: main.T for T
    if t.strip_typedefs().kind in ("iface", "eface"):
        if x.is_nil:
            raise ExpressionError(f"interface conversion: interface is nil, not {want}")
        return x  # the method set cannot be checked without the itab's methods
    if x.is_nil:
        raise ExpressionError(f"interface conversion: {x.type_name} is nil, not {want}")
    if x.dynamic_type != want:
        raise ExpressionError(f"interface conversion: {x.type_name} is {x.dynamic_type}, not {want}")
    d = x.dynamic_value()
    if d is None:
        raise ExpressionError(f"interface conversion: {x.type_name} holds nothing")
    return d


# ---------------------------------------------------------------------------------------------------
# What save and x act on


def value_bytes(v: Value, label: str, purpose: str = "save") -> tuple[int, int]:
    """(address, size) of the bytes behind ``v`` (see :meth:`Value.byte_range`), or an
    ExpressionError that says why there are none ("... has no bytes to {purpose}: ...")."""
    if v.kind == "unreadable":
        raise ExpressionError(f"{label}: unreadable: {v.error}")
    r = v.byte_range()
    if r is None:
        why = "it is nil" if v.is_nil else "it is not in memory (registers or optimized out)"
        raise ExpressionError(f"{label} ({v.type_name}) has no bytes to {purpose}: {why}")
    return r


def read_bytes_for(proc: GoProcess, target: str, g: Goroutine | None, frame_index: int = 0) -> tuple[int, int]:
    """(address, size) that ``save``/``x`` act on: ``ADDR:LEN`` or the bytes behind ``EXPR``."""
    rng = parse_range(target)
    if rng is not None:
        return rng
    return value_bytes(evaluate(proc, target, g, frame_index), target)


_RANGE_RE = re.compile(r"^\s*(0[xX][0-9a-fA-F_]+|\d[\d_]*)\s*:\s*(0[xX][0-9a-fA-F_]+|\d[\d_]*)\s*$")


def parse_range(text: str) -> tuple[int, int] | None:
    """``ADDR:LEN`` (each decimal or 0x hex) as (addr, len), or None if ``text`` is not one."""
    m = _RANGE_RE.match(text)
    if m is None:
        return None
    try:
        return go_int(m.group(1)), go_int(m.group(2))
    except ValueError as e:  # 09:4, 0x_:4 (were internal errors)
        raise ExpressionError(f"{text!r}: {e}") from None


def parse_address(text: str) -> int | None:
    """A bare address (``0xc000012000``, decimal, any Go integer literal), or None if ``text`` is not
    one (an invalid literal such as ``09`` is left to the expression parser to explain)."""
    t = text.strip()
    if re.fullmatch(r"0[xX][0-9a-fA-F_]+|\d[\d_]*", t):
        try:
            return go_int(t)
        except ValueError:
            return None
    return None


__all__ = ["array_of", "evaluate", "parse_address", "parse_range", "read_bytes_for", "value_bytes"]
