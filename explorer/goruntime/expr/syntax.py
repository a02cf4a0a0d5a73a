"""The syntax of expressions: tokens, the tree, and a parser for the part of Go that delve evaluates.

Grammar (Go's, less calls of user functions, composite literals and function literals)::

    Expr       = Unary { binop Unary }                      (Go's five precedence levels)
    Unary      = ( '+' | '-' | '!' | '^' | '*' | '&' ) Unary | Primary
    Primary    = Operand { '.' IDENT | '.' '(' Type ')' | '[' Expr ']'
                         | '[' [Expr] ':' [Expr] [ ':' Expr ] ']' | '(' [ Expr { ',' Expr } ] ')' }
    Operand    = IDENT | PKGPATH | literal | '(' Expr ')' | TypeLit
    Type       = '*' Type | '[' ']' Type | '[' INT ']' Type | 'map' '[' Type ']' Type
               | 'chan' Type | 'interface' '{' '}' | 'struct' '{' '}' | TypeName
    TypeName   = IDENT [ '.' IDENT ] | PKGPATH '.' IDENT

A call ``f(x)`` is a conversion when ``f`` denotes a type (``int64(x)``, ``(*main.T)(0xc000010000)``,
``[]byte(s)``) and a builtin when it names one (``len``, ``cap``); the evaluator decides, as Go's
type checker does, since ``(*T)(x)`` and ``(*p)(x)`` parse alike.

Literals are Go's: decimal, ``0x``, ``0o``/``0`` octal, ``0b`` integers with ``_`` separators,
floats, interpreted and raw strings, runes, ``true``/``false``/``nil``. Lengths and nesting are
bounded before anything recurses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from explorer.errors import ExpressionError

MAX_EXPR_LEN = 4096
MAX_NESTING = 200
MAX_LITERAL_DIGITS = 64


# ---------------------------------------------------------------------------------------------------
# The tree


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
    max: Node | None = None


@dataclass(frozen=True)
class Deref:
    x: Node
    pos: int


@dataclass(frozen=True)
class AddrOf:
    x: Node
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str  # '+', '-', '!', '^'
    x: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str
    x: Node
    y: Node
    pos: int


@dataclass(frozen=True)
class Call:
    fun: Node
    args: tuple[Node, ...]
    pos: int


@dataclass(frozen=True)
class TypeAssert:
    x: Node
    type: TypeExpr
    pos: int


@dataclass(frozen=True)
class Literal:
    value: int | float | str | bool | None
    pos: int
    rune: bool = False  # a rune literal ('a'): an untyped rune constant


@dataclass(frozen=True)
class TypeExpr:
    """A type written in an expression, as its Go spelling (``*main.T``, ``[16]uint8``, ``[]uint8``).

    ``kind`` is ``name``, ``ptr``, ``slice``, ``array``, ``map``, ``chan`` or ``iface``; ``elem`` the
    element (pointee, value) type; ``key`` a map's key type; ``count`` an array's length.
    """

    kind: str
    pos: int
    name: str = ""
    elem: TypeExpr | None = None
    key: TypeExpr | None = None
    count: int | None = None

    @property
    def go_name(self) -> str:
        """The name DWARF and the runtime give this type (``byte`` is ``uint8``, ``any`` is
        ``interface {}``)."""
        k = self.kind
        if k == "name":
            return _ALIASES.get(self.name, self.name)
        assert self.elem is not None or k == "iface"
        if k == "ptr":
            return "*" + self.elem.go_name  # type: ignore[union-attr]
        if k == "slice":
            return "[]" + self.elem.go_name  # type: ignore[union-attr]
        if k == "array":
            return f"[{self.count}]" + self.elem.go_name  # type: ignore[union-attr]
        if k == "map":
            assert self.key is not None
            return f"map[{self.key.go_name}]" + self.elem.go_name  # type: ignore[union-attr]
        if k == "chan":
            return "chan " + self.elem.go_name  # type: ignore[union-attr]
        return "interface {}"


_ALIASES = {"byte": "uint8", "rune": "int32", "any": "interface {}"}

Node = Name | Select | Index | SliceExpr | Deref | AddrOf | Unary | Binary | Call | TypeAssert | Literal | TypeExpr


# ---------------------------------------------------------------------------------------------------
# Tokens


_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<path>[A-Za-z_][\w.\-]*(?:/[\w.\-~]+)+)          # an import path: a/b.c, example.com/x
  | (?P<float>(?:\d[\d_]*\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d[\d_]*[eE][+-]?\d+))
  | (?P<int>0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|\d[\d_]*)
  | (?P<ident>[A-Za-z_\u00c0-\uffff][\w\u00c0-\uffff]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<op>&&|\|\||<<|>>|&\^|==|!=|<=|>=|[-+*/%&|^<>!.\[\]():,{}])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def tokenize(src: str) -> list[Token]:
    """The tokens of ``src``, ending with an ``eof`` token."""
    out: list[Token] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN_RE.match(src, pos)
        if m is None or m.end() == pos:
            raise ExpressionError(f"{src!r}: unexpected {src[pos]!r} at column {pos + 1}")
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

# Go's binary operator precedences.
_PREC = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 3, "<=": 3, ">": 3, ">=": 3,
         "+": 4, "-": 4, "|": 4, "^": 4, "*": 5, "/": 5, "%": 5, "<<": 5, ">>": 5, "&": 5, "&^": 5}
_BUILTIN_TYPES = {"bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32",
                  "uint64", "uintptr", "float32", "float64", "complex64", "complex128", "string", "byte",
                  "rune", "any", "error", "unsafe.Pointer"}


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks = tokenize(src)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def peek(self, n: int = 1) -> Token:
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def error(self, msg: str, tok: Token | None = None) -> ExpressionError:
        t = tok or self.tok
        where = f"column {t.pos + 1}" if t.kind != "eof" else "the end"
        return ExpressionError(f"{self.src!r}: {msg} at {where}")

    def at(self, text: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == text

    def accept(self, text: str) -> Token | None:
        if self.at(text):
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
        node = self.expr(1)
        if self.tok.kind != "eof":
            raise self.error(f"unexpected {self.tok.text!r}")
        return node

    def expr(self, min_prec: int) -> Node:
        x = self.unary()
        while self.tok.kind == "op" and _PREC.get(self.tok.text, 0) >= min_prec:
            op = self.tok
            self.i += 1
            y = self.expr(_PREC[op.text] + 1)
            x = Binary(op.text, x, y, op.pos)
        return x

    def unary(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.text in ("+", "-", "!", "^", "*", "&"):
            self.i += 1
            x = self.unary()
            if t.text == "*":
                return Deref(x, t.pos)
            if t.text == "&":
                return AddrOf(x, t.pos)
            if t.text == "-" and isinstance(x, Literal) and isinstance(x.value, int | float) \
                    and not isinstance(x.value, bool):
                return Literal(-x.value, t.pos, x.rune)  # keep -3 a literal (a map key, an index)
            return Unary(t.text, x, t.pos)
        return self.postfix(self.operand())

    def postfix(self, node: Node) -> Node:
        while True:
            dot = self.accept(".")
            if dot is not None:
                if self.accept("(") is not None:
                    typ = self.type()
                    self.expect(")")
                    node = TypeAssert(node, typ, dot.pos)
                    continue
                t = self.tok
                if t.kind != "ident":
                    raise self.error("expected a field name after '.'")
                self.i += 1
                node = Select(node, t.text, dot.pos)
                continue
            lb = self.accept("[")
            if lb is not None:
                node = self._index_or_slice(node, lb)
                continue
            lp = self.accept("(")
            if lp is not None:
                args: list[Node] = []
                while not self.at(")"):
                    args.append(self.expr(1))
                    if self.accept(",") is None:
                        break
                self.expect(")")
                node = Call(node, tuple(args), lp.pos)
                continue
            return node

    def _index_or_slice(self, node: Node, lb: Token) -> Node:
        lo = None if self.at(":") else self.expr(1)
        if self.accept(":") is None:
            self.expect("]")
            assert lo is not None
            return Index(node, lo, lb.pos)
        hi = None if (self.at("]") or self.at(":")) else self.expr(1)
        mx = None
        if self.accept(":") is not None:
            if hi is None or self.at("]"):
                raise self.error("middle and final index required in a 3-index slice")
            mx = self.expr(1)
        self.expect("]")
        return SliceExpr(node, lo, hi, lb.pos, mx)

    def operand(self) -> Node:
        t = self.tok
        if self.at("("):
            self.i += 1
            node = self.expr(1)
            self.expect(")")
            return node
        if self.at("["):
            return self.type()  # []T(x), [N]T(x): a conversion's type
        if t.kind in ("ident", "path"):
            if t.text in ("map", "chan", "interface", "struct", "func") and t.kind == "ident":
                return self.type()
            self.i += 1
            if t.text in ("true", "false"):
                return Literal(t.text == "true", t.pos)
            if t.text == "nil":
                return Literal(None, t.pos)
            return Name(t.text, t.pos)
        if t.kind in ("int", "float"):
            self.i += 1
            return Literal(_number(t, self.src), t.pos)
        if t.kind == "string":
            self.i += 1
            return Literal(_string(t.text, t, self), t.pos)
        if t.kind == "char":
            self.i += 1
            s = _string('"' + t.text[1:-1].replace('"', '\\"').replace("\\'", "'") + '"', t, self)
            if len(s) != 1:
                raise self.error("bad rune literal", t)
            return Literal(ord(s), t.pos, rune=True)
        if t.kind == "eof":
            raise self.error("expression ends too early")
        raise self.error(f"unexpected {t.text!r}")

    # -- types -----------------------------------------------------------------------------------

    def type(self) -> TypeExpr:
        t = self.tok
        if self.accept("*") is not None:
            return TypeExpr("ptr", t.pos, elem=self.type())
        if self.accept("(") is not None:
            inner = self.type()
            self.expect(")")
            return inner
        if self.accept("[") is not None:
            if self.accept("]") is not None:
                return TypeExpr("slice", t.pos, elem=self.type())
            n = self.tok
            if n.kind != "int":
                raise self.error("expected an array length", n)
            self.i += 1
            count = _number(n, self.src)
            assert isinstance(count, int)
            self.expect("]")
            return TypeExpr("array", t.pos, elem=self.type(), count=count)
        if t.kind == "ident" and t.text == "map":
            self.i += 1
            self.expect("[")
            key = self.type()
            self.expect("]")
            return TypeExpr("map", t.pos, elem=self.type(), key=key)
        if t.kind == "ident" and t.text == "chan":
            self.i += 1
            return TypeExpr("chan", t.pos, elem=self.type())
        if t.kind == "ident" and t.text == "interface":
            self.i += 1
            self.expect("{")
            self.expect("}")
            return TypeExpr("iface", t.pos)
        if t.kind in ("ident", "path"):
            self.i += 1
            name = t.text
            if self.at(".") and self.peek().kind == "ident":
                self.i += 1
                name += "." + self.tok.text
                self.i += 1
            return TypeExpr("name", t.pos, name=name)
        raise self.error("expected a type")


def type_of_node(node: Node) -> TypeExpr | None:
    """The type an expression spells, if it can be one (``main.T``, ``*main.T``, ``int``), else None:
    how ``(*T)(x)`` is told from a call."""
    if isinstance(node, TypeExpr):
        return node
    if isinstance(node, Name):
        return TypeExpr("name", node.pos, name=node.name)
    if isinstance(node, Select) and isinstance(node.x, Name):
        return TypeExpr("name", node.x.pos, name=f"{node.x.name}.{node.field}")
    if isinstance(node, Deref):
        inner = type_of_node(node.x)
        return TypeExpr("ptr", node.pos, elem=inner) if inner is not None else None
    return None


def is_builtin_type(name: str) -> bool:
    return name in _BUILTIN_TYPES


_LEGACY_OCTAL = re.compile(r"0_?[0-7](?:_?[0-7])*")


def go_int(text: str) -> int:
    """The value of a Go integer literal: decimal, ``0x``, ``0o``, ``0b`` or legacy octal (``017``),
    underscores between digits or after the prefix. A literal Go rejects (``09``: a 9 in an octal
    literal; ``1__0``, ``0x_``, ``1_``) is a ValueError in Go's words."""
    if len(text) > 1 and text[0] == "0" and (text[1].isdigit() or text[1] == "_"):
        if not _LEGACY_OCTAL.fullmatch(text):
            bad = next((c for c in text if c in "89"), None)
            raise ValueError(f"invalid digit {bad!r} in octal literal" if bad else f"invalid number literal {text}")
        return int(text.replace("_", ""), 8)
    try:
        return int(text, 0)  # Python's prefixes and underscore rules are Go's
    except ValueError:
        raise ValueError(f"invalid number literal {text}") from None


def _number(t: Token, src: str) -> int | float:
    text = t.text
    if len(text.replace("_", "")) > MAX_LITERAL_DIGITS:
        raise ExpressionError(f"{src!r}: number literal of {len(text)} digits at column {t.pos + 1}")
    try:
        if t.kind == "float":
            try:
                return float(text)  # Python's underscore rules are Go's (between digits)
            except ValueError:
                raise ValueError(f"invalid number literal {text}") from None
        return go_int(text)
    except ValueError as e:  # as Go says it
        raise ExpressionError(f"{src!r}: {e} at column {t.pos + 1}") from None


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\",
            "'": "'", '"': '"'}


def _string(text: str, t: Token, p: _Parser) -> str:
    """A Go string literal's value (escapes as Go defines them; bytes \\xNN as surrogate-escaped)."""
    if text.startswith("`"):
        return text[1:-1].replace("\r", "")
    body = text[1:-1]
    out: list[str] = []
    raw = bytearray()
    i = 0

    def flush() -> None:
        if raw:
            out.append(bytes(raw).decode("utf-8", "surrogateescape"))
            raw.clear()

    while i < len(body):
        c = body[i]
        if c != "\\":
            flush()
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise p.error("bad escape in string literal", t)
        e = body[i + 1]
        if e in _ESCAPES:
            flush()
            out.append(_ESCAPES[e])
            i += 2
        elif e == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            raw.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e in "01234567" and re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]) and int(body[i + 1:i + 4], 8) < 256:
            raw.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            digits = body[i + 2:i + 2 + n]
            if not re.fullmatch("[0-9a-fA-F]{" + str(n) + "}", digits) or int(digits, 16) > 0x10FFFF \
                    or 0xD800 <= int(digits, 16) <= 0xDFFF:
                raise p.error("bad unicode escape in string literal", t)
            flush()
            out.append(chr(int(digits, 16)))
            i += 2 + n
        else:
            raise p.error(f"unknown escape \\{e} in string literal", t)
    flush()
    return "".join(out)


def parse(src: str) -> Node:
    """Parse an expression; raises :class:`ExpressionError` naming what is wrong and where."""
    if len(src) > MAX_EXPR_LEN:
        raise ExpressionError(f"expression of {len(src)} characters: at most {MAX_EXPR_LEN}")
    # The parser and evaluator recurse once per level: bound the levels before either runs.
    depth = deepest = 0
    for ch in src:
        if ch in "([{*&!^-+":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    if deepest > MAX_NESTING:
        raise ExpressionError(f"expression nested {deepest} levels deep: at most {MAX_NESTING}")
    try:
        return _Parser(src).parse()
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
