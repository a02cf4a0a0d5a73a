"""Expressions of ``print``, ``x`` and ``save`` (shared/CLI.md), parsed and evaluated on a frame.

Grammar (a small subset of Go's)::

    expr     := '*' expr | postfix
    postfix  := primary { '.' IDENT | '[' expr ']' | '[' [expr] ':' [expr] ']' }
    primary  := IDENT | PKGPATH | '(' expr ')' | INT | STRING | CHAR | 'true' | 'false'

- a variable is an argument or local of the selected frame; failing that, a package-level variable:
  ``main.config``, ``net/http.DefaultClient``, ``example.com/pkg.Var`` (a bare name also tries
  ``main.NAME``);
- ``a.b`` selects a struct field, looking through pointers and interfaces and into embedded structs
  as Go promotes their fields;
- ``a[i]`` indexes a slice, array, string or pointer to array; ``m[k]`` looks a key up in a map
  (integer, string, bool, float keys; or any key given as another expression's value);
- ``*p`` dereferences; ``a[i:j]`` slices a slice, array or string.

Anything else (operators, calls, conversions, ``&``) is an :class:`ExpressionError` naming what is
not supported and where.
"""

from __future__ import annotations

import ast
import re
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from explorer.errors import ExplorerError, ExpressionError
from explorer.goruntime.values import Decoder, Loc, Value, decoder

if TYPE_CHECKING:
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess

MAX_MAP_LOOKUP = 1 << 20


# ---------------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Name:
    name: str
    pos: int


@dataclass(frozen=True)
class Select:
    x: Node
    field: str
    pos: int


@dataclass(frozen=True)
class Index:
    x: Node
    index: Node
    pos: int


@dataclass(frozen=True)
class SliceExpr:
    x: Node
    lo: Node | None
    hi: Node | None
    pos: int


@dataclass(frozen=True)
class Deref:
    x: Node
    pos: int


@dataclass(frozen=True)
class Literal:
    value: int | float | str | bool
    pos: int


Node = Name | Select | Index | SliceExpr | Deref | Literal


# ---------------------------------------------------------------------------------------------------
# Tokens


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<path>[A-Za-z_][\w.\-]*(?:/[\w.\-~]+)+)          # an import path: a/b.c, example.com/x
  | (?P<float>(?:\d[\d_]*\.\d*(?:[eE][+-]?\d+)?|\d[\d_]*[eE][+-]?\d+))
  | (?P<int>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*)
  | (?P<ident>[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<punct>[.\[\]():*-])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(src: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"{src!r}: unexpected {src[pos]!r} at column {pos + 1}: "
                                  f"expressions support variables, .field, [index], [lo:hi], *ptr and (...)")
        kind = m.lastgroup or ""
        text = m.group()
        if kind == "path":
            # The package path ends at the first dot after its last slash: pkg/path.Name.Field
            slash = text.rfind("/")
            dot = text.find(".", slash)
            if dot > 0:
                text = text[:dot]
            out.append(Token("path", text, pos))
            pos += len(text)
            continue
        if kind != "ws":
            out.append(Token(kind, text, pos))
        pos = m.end()
    out.append(Token("eof", "", len(src)))
    return out


# ---------------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, msg: str, tok: Token | None = None) -> ExpressionError:
        t = tok or self.tok
        where = f"column {t.pos + 1}" if t.kind != "eof" else "the end"
        return ExpressionError(f"{self.src!r}: {msg} at {where}")

    def accept(self, text: str) -> Token | None:
        if self.tok.kind == "punct" and self.tok.text == text:
            t = self.tok
            self.i += 1
            return t
        return None

    def expect(self, text: str) -> Token:
        t = self.accept(text)
        if t is None:
            raise self.error(f"expected {text!r}, found {self.tok.text or 'nothing'!r}")
        return t

    def parse(self) -> Node:
        if self.tok.kind == "eof":
            raise ExpressionError("empty expression")
        node = self.expr()
        if self.tok.kind != "eof":
            raise self.error(f"unsupported {self.tok.text!r} (operators, calls and conversions are not "
                             f"supported)")
        return node

    def expr(self) -> Node:
        star = self.accept("*")
        if star is not None:
            return Deref(self.expr(), star.pos)
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            dot = self.accept(".")
            if dot is not None:
                t = self.tok
                if t.kind != "ident":
                    if t.kind == "punct" and t.text == "(":
                        raise self.error("type assertions are not supported")
                    raise self.error("expected a field name after '.'")
                self.i += 1
                node = Select(node, t.text, dot.pos)
                continue
            lb = self.accept("[")
            if lb is not None:
                lo = None if (self.tok.kind == "punct" and self.tok.text == ":") else self.expr()
                if self.accept(":") is not None:
                    hi = None if (self.tok.kind == "punct" and self.tok.text == "]") else self.expr()
                    if self.tok.kind == "punct" and self.tok.text == ":":
                        raise self.error("3-index slices are not supported")
                    self.expect("]")
                    node = SliceExpr(node, lo, hi, lb.pos)
                else:
                    self.expect("]")
                    assert lo is not None
                    node = Index(node, lo, lb.pos)
                continue
            if self.tok.kind == "punct" and self.tok.text == "(":
                raise self.error("function calls and conversions are not supported")
            return node

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "punct" and t.text == "(":
            self.i += 1
            node = self.expr()
            self.expect(")")
            return node
        if t.kind == "punct" and t.text == "-":
            self.i += 1
            n = self.tok
            if n.kind in ("int", "float"):
                self.i += 1
                lit = _number(n)
                return Literal(-lit, t.pos)
            raise self.error("unary '-' is supported on number literals only", t)
        if t.kind in ("ident", "path"):
            self.i += 1
            if t.text in ("true", "false"):
                return Literal(t.text == "true", t.pos)
            return Name(t.text, t.pos)
        if t.kind in ("int", "float"):
            self.i += 1
            return Literal(_number(t), t.pos)
        if t.kind == "string":
            self.i += 1
            return Literal(_string(t, self), t.pos)
        if t.kind == "char":
            self.i += 1
            s = _string(Token("string", '"' + t.text[1:-1] + '"', t.pos), self)
            if len(s) != 1:
                raise self.error("bad character literal", t)
            return Literal(ord(s), t.pos)
        if t.kind == "eof":
            raise self.error("expression ends too early")
        if t.kind == "punct" and t.text == "&":
            raise self.error("'&' is not supported")
        raise self.error(f"unexpected {t.text!r}")


def _number(t: Token) -> int | float:
    text = t.text.replace("_", "")
    if len(text) > 64:
        raise ExpressionError(f"number literal of {len(text)} digits at column {t.pos + 1}")
    if t.kind == "float":
        return float(text)
    if len(text) > 1 and text[0] == "0" and text[1].isdigit():
        return int(text, 8)  # Go's legacy octal
    return int(text, 0)


def _string(t: Token, p: _Parser) -> str:
    if t.text.startswith("`"):
        return t.text[1:-1]
    try:
        val = ast.literal_eval(t.text)
    except (ValueError, SyntaxError) as e:
        raise p.error(f"bad string literal ({e})", t) from None
    if not isinstance(val, str):
        raise p.error("bad string literal", t)
    return val


MAX_EXPR_LEN = 4096
MAX_NESTING = 200


def parse(src: str) -> Node:
    """Parse an expression; raises :class:`ExpressionError` naming what is wrong and where."""
    if len(src) > MAX_EXPR_LEN:
        raise ExpressionError(f"expression of {len(src)} characters: at most {MAX_EXPR_LEN}")
    # The parser and evaluator recurse once per level: bound the levels before either runs.
    depth = deepest = 0
    for ch in src:
        if ch in "([*":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise ExpressionError(f"expression nested {deepest} levels deep: at most {MAX_NESTING}")
    try:
        return _Parser(src).parse()
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None


# ---------------------------------------------------------------------------------------------------
# Evaluation


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
        return _eval(env, node, expr)
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None


def _eval(env: _Env, node: Node, src: str) -> Value:
    if isinstance(node, Name):
        v = env.lookup(node.name)
        if v is None and "." not in node.name and "/" not in node.name:
            v = env.dec.global_value("main." + node.name)
        if v is None:
            raise env.unknown(node.name)
        return v
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
        x = _eval(env, node.x, src)
        return _select(x, node.field, src, node.pos)
    if isinstance(node, Index):
        x = _eval(env, node.x, src)
        return _index(env, x, node, src)
    if isinstance(node, SliceExpr):
        x = _eval(env, node.x, src)
        return _slice(env, x, node, src)
    if isinstance(node, Deref):
        x = _eval(env, node.x, src)
        _usable(x, src)
        if x.kind != "ptr":
            raise ExpressionError(f"{src!r}: cannot dereference {x.type_name} (not a pointer)")
        if not x.value:
            raise ExpressionError(f"{src!r}: nil pointer dereference ({x.type_name})")
        t = x.target()
        if t is None:
            raise ExpressionError(f"{src!r}: cannot dereference {x.type_name}: its target type is unknown")
        return t
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return Value("bool", "bool", None, value=node.value, size=1)
        if isinstance(node.value, int):
            return Value("int", "int", None, value=node.value, size=8)
        if isinstance(node.value, float):
            return Value("float64", "float", None, value=node.value, size=8)
        raise ExpressionError(f"{src!r}: a string literal is only usable as a map key")
    raise ExpressionError(f"{src!r}: unsupported expression")


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
                v = _select(v, rest.field, "", rest.pos)
            return v
    return None


def _usable(v: Value, src: str) -> None:
    if v.kind == "unreadable":
        raise ExpressionError(f"{src!r}: {v.type_name} is unreadable: {v.error}")


def _through(v: Value, src: str) -> Value:
    """Look through pointers and interfaces to what they hold (bounded)."""
    for _ in range(16):
        _usable(v, src)
        if v.kind == "ptr":
            if not v.value:
                raise ExpressionError(f"{src!r}: nil pointer dereference ({v.type_name})")
            t = v.target()
            if t is None:
                return v
            v = t
        elif v.kind == "iface":
            d = v.dynamic_value()
            if d is None:
                raise ExpressionError(f"{src!r}: nil interface ({v.type_name})")
            v = d
        else:
            return v
    raise ExpressionError(f"{src!r}: too many levels of indirection")


def _select(x: Value, name: str, src: str, pos: int) -> Value:
    base = _through(x, src)
    if base.kind != "struct":
        raise ExpressionError(f"{src!r}: {x.type_name} has no field {name} (it is a {base.kind})")
    got = base.field(name)
    if got is None:
        names = ", ".join(f.name for f, _ in base.fields()) or "none"
        raise ExpressionError(f"{src!r}: {base.type_name} has no field {name} (fields: {names})")
    return got


def _int_of(env: _Env, node: Node, src: str) -> int:
    if isinstance(node, Literal):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise ExpressionError(f"{src!r}: index must be an integer")
        return node.value
    v = _eval(env, node, src)
    _usable(v, src)
    if v.kind not in ("int", "uint"):
        raise ExpressionError(f"{src!r}: index must be an integer, not {v.type_name}")
    return int(v.value)


def _index(env: _Env, x: Value, node: Index, src: str) -> Value:
    _usable(x, src)
    if x.kind == "ptr":
        x = _through(x, src)
    if x.kind == "iface":
        x = _through(x, src)
    if x.kind == "map":
        return _map_lookup(env, x, node.index, src)
    if x.kind not in ("slice", "array", "string"):
        raise ExpressionError(f"{src!r}: cannot index {x.type_name}")
    i = _int_of(env, node.index, src)
    n = int(x.length or 0)
    if not 0 <= i < n:
        raise ExpressionError(f"{src!r}: index {i} out of range [0:{n}]")
    return x.element(i)


def _slice(env: _Env, x: Value, node: SliceExpr, src: str) -> Value:
    _usable(x, src)
    if x.kind == "ptr":
        x = _through(x, src)
    lo = _int_of(env, node.lo, src) if node.lo is not None else 0
    n = int(x.length or 0)
    if x.kind == "string":
        hi = _int_of(env, node.hi, src) if node.hi is not None else n
        if not 0 <= lo <= hi <= n:
            raise ExpressionError(f"{src!r}: slice bounds [{lo}:{hi}] out of range [0:{n}]")
        assert x._dec is not None and x._t is not None
        return x._dec.decode(x._t, Loc(None, struct.pack("<Qq", int(x.data or 0) + lo, hi - lo)),
                             type_name=x.type_name)
    if x.kind == "slice":
        cap = int(x.cap or 0)
        hi = _int_of(env, node.hi, src) if node.hi is not None else n
        if not 0 <= lo <= hi <= cap:
            raise ExpressionError(f"{src!r}: slice bounds [{lo}:{hi}] out of range [0:{cap}]")
        assert x._dec is not None and x._t is not None and x._t.elem is not None
        es = int(x._t.elem.size or 0)
        hdr = struct.pack("<Qqq", int(x.data or 0) + lo * es, hi - lo, cap - lo)
        return x._dec.decode(x._t, Loc(None, hdr), type_name=x.type_name)
    if x.kind == "array":
        hi = _int_of(env, node.hi, src) if node.hi is not None else n
        if not 0 <= lo <= hi <= n:
            raise ExpressionError(f"{src!r}: slice bounds [{lo}:{hi}] out of range [0:{n}]")
        if x.address is None:
            raise ExpressionError(f"{src!r}: the array is not in memory (it lives in registers)")
        assert x._dec is not None and x._t is not None
        elem = x._t.elem
        if elem is None:
            raise ExpressionError(f"{src!r}: element type of {x.type_name} unknown")
        st = _slice_type(x._dec, elem)
        es = int(elem.size or 0)
        hdr = struct.pack("<Qqq", x.address + lo * es, hi - lo, n - lo)
        return x._dec.decode(st, Loc(None, hdr))
    raise ExpressionError(f"{src!r}: cannot slice {x.type_name}")


def _slice_type(dec: Decoder, elem: Any) -> Any:
    """The DWARF type ``[]elem``, or a stand-in when the program never used that slice type."""
    t = dec.dwarf.type_by_name("[]" + elem.name) if dec.dwarf is not None else None
    if t is not None and t.kind == "slice":
        return t
    from explorer.binary.dwarf import GoType

    st = GoType(name="[]" + elem.name, kind="slice", size=24, offset=-1, tag=0x13)
    st.__dict__["elem"] = elem  # GoType.elem is a cached_property: seed it
    return st


def _key_matches(env: _Env, key: Value, want: Any) -> bool:
    """Whether map key ``key`` equals ``want`` (a literal or a Value)."""
    if key.kind == "iface":
        d = key.dynamic_value()
        if d is None:
            return want is None or (isinstance(want, Value) and want.kind == "iface" and want.is_nil)
        key = d
    if isinstance(want, Value):
        if want.kind == "iface":
            d = want.dynamic_value()
            if d is None:
                return False
            want = d
        if want.kind == "string":
            return key.kind == "string" and _string_bytes(key) == _string_bytes(want)
        if want.kind in ("int", "uint", "bool", "float"):
            return key.kind == want.kind and key.value == want.value
        if want.kind in ("ptr", "chan", "map", "func"):
            return key.kind == want.kind and key.value == want.value
        return False
    if isinstance(want, bool):
        return key.kind == "bool" and key.value == want
    if isinstance(want, (int, float)):
        return key.kind in ("int", "uint", "float") and key.value == want
    if isinstance(want, str):
        return key.kind == "string" and _string_bytes(key) == want.encode("utf-8", "surrogateescape")
    return False


def _string_bytes(v: Value) -> bytes:
    n = int(v.length or 0)
    if not n or v._dec is None:
        return b""
    return bytes(v._dec.mem.read(int(v.data or 0), min(n, 1 << 20)))


def _map_lookup(env: _Env, m: Value, key_node: Node, src: str) -> Value:
    want: Any
    if isinstance(key_node, Literal):
        want = key_node.value
    else:
        want = _eval(env, key_node, src)
        _usable(want, src)
    if not m.value:
        raise ExpressionError(f"{src!r}: the map is nil")
    try:
        for k, v in m.entries(MAX_MAP_LOOKUP):
            if _key_matches(env, k, want):
                return v
    except ExplorerError as e:
        raise ExpressionError(f"{src!r}: cannot read the map: {e}") from e
    shown = f"of type {want.type_name}" if isinstance(want, Value) else repr(want)
    raise ExpressionError(f"{src!r}: key {shown} not in the map ({m.length} entries)")


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
    return int(m.group(1).replace("_", ""), 0), int(m.group(2).replace("_", ""), 0)


def parse_address(text: str) -> int | None:
    """A bare address (``0xc000012000`` or decimal), or None if ``text`` is not one."""
    t = text.strip().replace("_", "")
    if re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", t):
        return int(t, 0)
    return None
