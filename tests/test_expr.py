"""Expressions (shared/CLI.md): the parser alone, then evaluation on the values program's cores."""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_values import HOLD, VERSIONS, frame_index, open_case, plain, same, values_case

from explorer.errors import ExpressionError
from explorer.goruntime.expr import (
    AddrOf,
    Binary,
    Call,
    Deref,
    Index,
    Literal,
    Name,
    Select,
    SliceExpr,
    TypeAssert,
    TypeExpr,
    Unary,
    evaluate,
    parse,
    parse_address,
    parse_range,
    value_bytes,
)
from explorer.render.valuejson import value_json

# --------------------------------------------------------------------------------------------------
# Parsing


def test_parse_shapes() -> None:
    assert parse("x") == Name("x", 0)
    assert parse("a.b.c") == Select(Select(Name("a", 0), "b", 1), "c", 3)
    assert parse("*p.x") == Deref(Select(Name("p", 1), "x", 2), 0)
    node = parse("(*p).x")
    assert isinstance(node, Select) and isinstance(node.x, Deref)
    node = parse('m["k"][3]')
    assert isinstance(node, Index) and node.index == Literal(3, 7)
    assert isinstance(node.x, Index) and node.x.index == Literal("k", 2)
    node = parse("s[1:]")
    assert isinstance(node, SliceExpr) and node.lo == Literal(1, 2) and node.hi is None
    node = parse("s[:n]")
    assert isinstance(node, SliceExpr) and node.lo is None and node.hi == Name("n", 3)
    node = parse("s[1:2:3]")
    assert isinstance(node, SliceExpr) and node.max == Literal(3, 6)
    assert parse("m[-3]") == Index(Name("m", 0), Literal(-3, 2), 1)
    assert parse("m[0x1f]").index == Literal(31, 2)  # type: ignore[union-attr]
    assert parse("m[0o17]").index == Literal(15, 2)  # type: ignore[union-attr]
    assert parse("m[017]").index == Literal(15, 2)  # type: ignore[union-attr]
    assert parse("m[1_000]").index == Literal(1000, 2)  # type: ignore[union-attr]
    assert parse("m['a']").index == Literal(97, 2, rune=True)  # type: ignore[union-attr]
    assert parse("m['\\'']").index == Literal(39, 2, rune=True)  # type: ignore[union-attr]
    assert parse(r'm["a\"b\n\x41\u00e9"]').index == Literal('a"b\nAé', 2)  # type: ignore[union-attr]
    assert parse("m[`raw\\n`]").index == Literal("raw\\n", 2)  # type: ignore[union-attr]
    assert parse("m[true]").index == Literal(True, 2)  # type: ignore[union-attr]
    assert parse("m[1.5]").index == Literal(1.5, 2)  # type: ignore[union-attr]
    assert parse("  x  ") == Name("x", 2)


def test_parse_operators_follow_go_precedence() -> None:
    # a + b*c << 2 == d && !e || f  parses as  ((a + ((b*c) << 2)) == d && !e) || f
    node = parse("a + b*c << 2 == d && !e || f")
    assert isinstance(node, Binary) and node.op == "||"
    land = node.x
    assert isinstance(land, Binary) and land.op == "&&"
    assert isinstance(land.y, Unary) and land.y.op == "!"
    eq = land.x
    assert isinstance(eq, Binary) and eq.op == "=="
    add = eq.x
    assert isinstance(add, Binary) and add.op == "+"
    shl = add.y
    assert isinstance(shl, Binary) and shl.op == "<<" and isinstance(shl.x, Binary) and shl.x.op == "*"
    sub = parse("a - b - c")  # left-associative
    assert isinstance(sub, Binary) and isinstance(sub.x, Binary) and sub.y == Name("c", 8)
    assert parse("-x") == Unary("-", Name("x", 1), 0)
    assert parse("&x.y") == AddrOf(Select(Name("x", 1), "y", 2), 0)
    assert parse("^x &^ y").op == "&^"  # type: ignore[union-attr]


def test_parse_calls_conversions_and_assertions() -> None:
    node = parse("len(x)")
    assert isinstance(node, Call) and node.fun == Name("len", 0) and node.args == (Name("x", 4),)
    node = parse("(*main.T)(0xc000010000)")
    assert isinstance(node, Call) and isinstance(node.fun, Deref) and node.args == (Literal(0xC000010000, 10),)
    node = parse("*(*[16]byte)(p)")
    assert isinstance(node, Deref) and isinstance(node.x, Call)
    fun = node.x.fun
    assert isinstance(fun, Deref) and isinstance(fun.x, TypeExpr) and fun.x.go_name == "[16]uint8"
    node = parse("[]byte(s)")
    assert isinstance(node, Call) and isinstance(node.fun, TypeExpr) and node.fun.go_name == "[]uint8"
    node = parse("x.(*net/http.Request).URL")
    assert isinstance(node, Select) and isinstance(node.x, TypeAssert)
    assert node.x.type.go_name == "*net/http.Request"
    assert parse("v.(map[string]any)").type.go_name == "map[string]interface {}"  # type: ignore[union-attr]


@pytest.mark.parametrize("src, fragment", [
    ("", "empty expression"),
    ("f(x", "expected ')'"),
    ("a[", "expression ends too early"),
    ("a[1", "expected ']'"),
    ("(a", "expected ')'"),
    ('m["unterminated]', "unexpected"),
    ("a.", "field name"),
    ("a.1", "unexpected"),
    ("a,b", "','"),
    ("a[1::3]", "middle and final index required"),
    ("09", "invalid digit '9' in octal literal"),
    ("a[08]", "invalid digit '8' in octal literal"),
    ("x.(", "expected a type"),
    ('"\\q"', "unknown escape"),
    ("a $ b", "unexpected '$'"),
    # number literals Go rejects (issue 11: these ended in an internal ValueError)
    ("a[0_8]", "invalid digit '8' in octal literal"),
    ("1__0", "invalid number literal 1__0"),
    ("0x_", "invalid number literal 0x_"),
    ("m[1_]", "invalid number literal 1_"),
    ("1_.5", "invalid number literal 1_.5"),
])
def test_parse_errors(src: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as exc:
        parse(src)
    assert fragment in str(exc.value)


def test_ranges_and_addresses() -> None:
    assert parse_range("0xc000010000:64") == (0xC000010000, 64)
    assert parse_range(" 4096 : 0x10 ") == (4096, 16)
    assert parse_range("x[1:2]") is None
    assert parse_range("0x10") is None
    assert parse_address("0xc000010000") == 0xC000010000
    assert parse_address("123") == 123
    assert parse_address("vInts") is None
    # Go's integer literals (the values Go gives them), and those it rejects
    assert parse("0_17") == Literal(15, 0) and parse("017") == Literal(15, 0) and parse("09.5") == Literal(9.5, 0)
    assert parse("0x_1f") == Literal(31, 0) and parse("1_000") == Literal(1000, 0) and parse("08e1") == Literal(80.0, 0)
    assert parse_address("0100") == 64 and parse_address("09") is None  # left to the parser to explain
    assert parse_range("0_10:0x_10") == (8, 16)
    with pytest.raises(ExpressionError, match="invalid digit '9' in octal literal"):
        parse_range("09:4")
    with pytest.raises(ExpressionError, match="invalid number literal 1__0"):
        parse_range("0x10:1__0")


# --------------------------------------------------------------------------------------------------
# Evaluation on the values program (-N -l builds of every release)


def program_expressions(case: Any) -> dict[str, Any]:
    """The expressions the values program evaluated itself, with the values Go gave them."""
    exprs = case.values["expressions"]
    assert len(exprs) > 100, sorted(exprs)
    return dict(exprs)


@pytest.mark.parametrize("version", VERSIONS)
def test_expressions_equal_what_go_computed(version: str) -> None:
    """Every expression's value equals what the program itself computed for it (its JSON)."""
    case = values_case(version, "noopt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    wrong = []
    for src, want in sorted(program_expressions(case).items()):
        try:
            got = plain(value_json(evaluate(proc, src, g, fi)))
        except ExpressionError as e:
            wrong.append(f"{src}: error {e}")
            continue
        if not same(got, want):
            wrong.append(f"{src}: {got!r} != {want!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
def test_expression_types_and_addresses(version: str) -> None:
    """What the JSON conventions cannot show: result types, and addresses against the program's."""
    case = values_case(version, "noopt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)

    def ev(src: str) -> Any:
        return evaluate(proc, src, g, fi)

    types = {"vUint8 + 100": "uint8", "len(vInts)": "int", "vInt < 0": "bool", "Color(3)": "main.Color",
             "main.Celsius(vFloat64) * 2": "main.Celsius", "int64(vInt32) * 2": "int64", "'a'": "int32",
             "1.5 * 2": "float64", "[]byte(vString)": "[]uint8", "string(vBytes[7:9])": "string",
             "&vInner.B": "*uint32", "vAnyPtr.(*Inner)": "*main.Inner", "vInts[1:2:4]": "[]int"}
    for src, name in types.items():
        assert ev(src).type_name == name, src
    for src, addr in case.values["addresses"].items():
        v = ev(src)
        assert v.kind == "ptr" and v.value == addr, (src, v.value, addr)
    assert ev("vInts[1:3]").cap == 9
    assert ev("vInts[1:2:4]").cap == 3
    # x and save act on what these expressions name
    start, size = value_bytes(ev(f"*(*[6]byte)({case.values['addresses']['&globalBytes[3]']})"), "x")
    assert (start, size) == (case.values["addresses"]["&globalBytes[3]"], 6)
    assert value_bytes(ev("[]byte(vString)"), "x")[1] == len(case.values["vString"].encode())


@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
def test_failing_expressions_say_what_go_says(version: str) -> None:
    """Where Go's runtime panics evaluating an expression, our error carries its message."""
    case = values_case(version, "noopt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    panics = case.values["panics"]
    assert len(panics) == 6, panics
    for src, message in panics.items():
        with pytest.raises(ExpressionError) as exc:
            evaluate(proc, src, g, fi)
        assert message.removeprefix("runtime error: ") in str(exc.value), (src, message, str(exc.value))


ERRORS = [
    ("vInts[3]", "index out of range [3] with length 3"),
    ("vInts[-1]", "index out of range [-1]"),
    ("vInt.x", "has no field x"),
    ("vStruct.Nope", "fields: Base, Inner, Name, Tags, Score"),
    ("vInt[0]", "cannot index int"),
    ("nope", "no variable nope"),
    ("main.nope", "no variable main.nope"),
    ('vSmallMap["zz"]', "key 'zz' not in the map (3 entries)"),
    ("vString[1:100]", "slice bounds out of range [:100] with length 18"),
    ("vInts[2:1]", "slice bounds out of range [2:1]"),
    ("vInts[1:2:11]", "slice bounds out of range [::11] with capacity 10"),
    ("*vInt", "not a pointer"),
    ("*vNilPtr", "nil pointer dereference"),
    ("vNilAny.A", "nil interface"),
    ('vNilMap["a"]', "the map is nil"),
    ("vInts[vString]", "index must be an integer"),
    ('"lit"', "has no bytes in the core"),
    ("vUint8 + 300", "constant 300 overflows uint8"),  # Go's compiler says so
    ("vInt + vUint", "mismatched types int and uint"),
    ("vInt + 1.5", "truncated to integer"),
    ("double(3)", "function calls are not possible"),
    ("len(vInt)", "invalid argument: int for built-in len"),
    ("&(vInt + 1)", "not in memory"),
    ("vInts + 1", "cannot use constant 1 as []int"),
    ("vString < 3", "invalid"),
    ("vInt << -1", "negative shift count"),
    ("vInt / 0", "integer divide by zero"),
    ("nosuchtype(3)", "neither a type in the executable nor a builtin"),
    ("(*main.NoSuch)(0x10)", "no type main.NoSuch"),
    ("vInt.(int)", "is not an interface"),
    ("vAnyInt.(main.Inner)", "interface conversion: interface {} is int, not main.Inner"),
]


@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
def test_expression_errors(version: str) -> None:
    case = values_case(version, "noopt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    for src, fragment in ERRORS:
        with pytest.raises(ExpressionError) as exc:
            evaluate(proc, src, g, fi)
        assert fragment in str(exc.value), (src, str(exc.value))


def test_cli_expression_error_is_one_line() -> None:
    from explorer.cli import main

    case = values_case(VERSIONS[-1], "noopt")
    proc = open_case(case)
    fi = frame_index(proc, proc.crashed_goroutine, HOLD)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(["print", str(case.core), str(case.binary), "vInt + vUint", "-f", str(fi)])
    assert rc == 1 and out.getvalue() == ""
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "mismatched types" in lines[0] and "Traceback" not in err.getvalue()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["print", str(case.core), str(case.binary), "vInts", "-f", "999"]) == 1
    assert "no frame 999" in err.getvalue()
