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
    Deref,
    Index,
    Literal,
    Name,
    Select,
    SliceExpr,
    evaluate,
    parse,
    parse_address,
    parse_range,
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
    assert parse("m[-3]") == Index(Name("m", 0), Literal(-3, 2), 1)
    assert parse("m[0x1f]").index == Literal(31, 2)  # type: ignore[union-attr]
    assert parse("m[0o17]").index == Literal(15, 2)  # type: ignore[union-attr]
    assert parse("m[1_000]").index == Literal(1000, 2)  # type: ignore[union-attr]
    assert parse("m['a']").index == Literal(97, 2)  # type: ignore[union-attr]
    assert parse(r'm["a\"b\n"]').index == Literal('a"b\n', 2)  # type: ignore[union-attr]
    assert parse("m[`raw\\n`]").index == Literal("raw\\n", 2)  # type: ignore[union-attr]
    assert parse("m[true]").index == Literal(True, 2)  # type: ignore[union-attr]
    assert parse("m[1.5]").index == Literal(1.5, 2)  # type: ignore[union-attr]
    assert parse("  x  ") == Name("x", 2)


def test_parse_package_paths() -> None:
    assert parse("main.config") == Select(Name("main", 0), "config", 4)
    node = parse("net/http.DefaultClient.Timeout")
    assert node == Select(Select(Name("net/http", 0), "DefaultClient", 8), "Timeout", 22)
    node = parse("example.com/values.config")
    assert node == Select(Name("example.com/values", 0), "config", 18)


@pytest.mark.parametrize("src, fragment", [
    ("", "empty expression"),
    ("a + b", "'+'"),
    ("a - b", "'-'"),
    ("f(x)", "function calls"),
    ("&x", "'&'"),
    ("x.(T)", "type assertions"),
    ("a[1:2:3]", "3-index slices"),
    ("a[", "expression ends too early"),
    ("a[1", "expected ']'"),
    ("(a", "expected ')'"),
    ('m["unterminated]', "unexpected"),
    ("a.", "field name"),
    ("a.1", "field name"),
    ("-x", "number literals"),
    ("x == y", "'='"),
    ("a,b", "','"),
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


# --------------------------------------------------------------------------------------------------
# Evaluation on the values program (-N -l builds of every release)


CASES: list[tuple[str, Any]] = [
    ("vStruct.Name", "outer"),
    ("vStruct.ID", 99),  # promoted from the embedded Base
    ("vStruct.Label", "base"),
    ("vStruct.Base.Label", "base"),
    ("vStruct.A", 7),  # promoted through the embedded *Inner
    ("vStruct.Inner.B", 70000),
    ("vStruct.Tags[1]", "y"),
    ("(vStruct).Tags[0]", "x"),
    ("vInner.B", 70000),  # through a pointer
    ("(*vInner).A", 7),
    ("*vInner", {"A": 7, "B": 70000}),
    ("vChain.Next.Name", "second"),
    ("vLoop.Next.Next.Name", "loop"),
    ("vAnyPtr.A", 3),  # through an interface and a pointer
    ("vAnyStruct.C", 36.6),
    ("vStringer.C", -5.0),
    ("vMyErr.Code", 503),
    ("vInts[1]", -20),
    ("vArray[3]", -4),
    ("vStrings[2]", "ccc"),
    ("vString[0]", ord("h")),
    ("vString[8:]", "wörld ✓"),
    ("vString[1:3]", "é"),
    ("vInts[1:3]", [-20, 30]),
    ("vInts[:5]", [10, -20, 30, 0, 0]),  # up to the capacity, as Go allows
    ("vArray[1:]", [-2, 3, -4]),
    ("vByteArray[:3]", "726177"),
    ("vBytes[7:]", "6f6b0a"),
    ('vSmallMap["b"]', 2),
    ("vBigMap[693]", "v99"),
    ('vMapOfSlices["odd"][2]', 5),
    ('vMapOfSlices["none"]', None),
    ("vMapBigVal[2].Data[19]", 42),
    ('vMapPtrVal["p"].B', 2),
    ('vLookup["x"]', 10),
    ("vHugeMap[2999]", 8997),
    ("vHugeMap[captured]", 15),  # a key given by another expression
    ("vGrowing[40]", 1600),
    ('vAnyMap["k"]', 1),
    ("main.config.Tags[0]", "alpha"),
    ("config.Port", 8080),
    ('main.globalMap["two"]', 2),
    ("main.globalBytes[:6]", b"global".hex()),
    ("vPair.Key", "answer"),
    ("vBox.Items[1]", 0.5),
]


@pytest.mark.parametrize("version", VERSIONS)
def test_expressions(version: str) -> None:
    case = values_case(version, "noopt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    for src, want in CASES:
        got = plain(value_json(evaluate(proc, src, g, fi)))
        assert same(got, want), f"{src}: {got!r} != {want!r}"
    assert evaluate(proc, "vInts[1:3]", g, fi).cap == 9


ERRORS = [
    ("vInts[3]", "index 3 out of range [0:3]"),
    ("vInts[-1]", "out of range"),
    ("vInt.x", "has no field x"),
    ("vStruct.Nope", "fields: Base, Inner, Name, Tags, Score"),
    ("vInt[0]", "cannot index int"),
    ("nope", "no variable nope"),
    ("main.nope", "no variable main.nope"),
    ('vSmallMap["zz"]', 'key \'zz\' not in the map (3 entries)'),
    ("vString[1:100]", "out of range"),
    ("*vInt", "not a pointer"),
    ("*vNilPtr", "nil pointer"),
    ("vNilPtr.A", "nil pointer"),
    ("vNilAny.A", "nil interface"),
    ('vNilMap["a"]', "the map is nil"),
    ("vInts[vString]", "index must be an integer"),
    ('"lit"', "only usable as a map key"),
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
        rc = main(["print", str(case.core), str(case.binary), "vInt + 1", "-f", str(fi)])
    assert rc == 1 and out.getvalue() == ""
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "'+'" in lines[0] and "Traceback" not in err.getvalue()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["print", str(case.core), str(case.binary), "vInts", "-f", "999"]) == 1
    assert "no frame 999" in err.getvalue()
