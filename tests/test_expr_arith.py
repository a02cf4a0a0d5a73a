"""Go's arithmetic on values from a core, against Go itself computing the same expressions.

Random well-typed expressions over the values program's numeric locals (every integer width,
signed and unsigned, float32 and float64): ``+ - * / % & | ^ &^ << >>``, unary ``- ^``,
conversions between the types, comparisons. A generated Go program declares the same variables
with the values the values program printed, evaluates every expression (recovering runtime panics
such as a division by zero) and prints the results; gocore-tui evaluates the same text on the core.
Results must be equal exactly: wrapping, truncating division, shifts past the width, float32
rounding at each step. Expressions never fold to constants on the Go side (every operator has a
variable operand), so Go's compile-time constant rules do not decide anything here.

The expressions are drawn with a fixed seed in CI ($GOCORE_TUI_FUZZ_SEED picks another, and
$GOCORE_TUI_FUZZ_EXAMPLES how many).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from test_values import HOLD, frame_index, open_case, values_case

from explorer.errors import ExpressionError
from explorer.goruntime.expr import evaluate

VERSION = gotools.test_versions()[-1]
SEED = int(os.environ.get("GOCORE_TUI_FUZZ_SEED", "20261202"))
COUNT = int(os.environ.get("GOCORE_TUI_FUZZ_EXAMPLES", "400"))

INTS = {"int": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64}
UINTS = {"uint": 64, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
FLOATS = {"float32": 32, "float64": 64}
#: The values program's numeric locals by type.
VARS = {"int": "vInt", "int8": "vInt8", "int16": "vInt16", "int32": "vInt32", "int64": "vInt64",
        "uint": "vUint", "uint8": "vUint8", "uint16": "vUint16", "uint32": "vUint32", "uint64": "vUint64",
        "float32": "vFloat32", "float64": "vFloat64"}


class Gen:
    """Random typed expressions; each binary operator gets at least one non-constant operand."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def const(self, t: str) -> str:
        r = self.rng
        if t in FLOATS:
            return r.choice(["0.5", "3", "1.25", "100", "0.1", "7.75"])
        bits = INTS.get(t) or UINTS[t]
        hi = min((1 << (bits - 1)) - 1, 1000) if t in INTS else min((1 << bits) - 1, 1000)
        return str(r.randint(1, hi))

    def expr(self, t: str, depth: int) -> tuple[str, bool]:
        """(text, is_constant) of an expression of type ``t``."""
        r = self.rng
        if depth <= 0 or r.random() < 0.25:
            if r.random() < 0.7:
                return VARS[t], False
            return self.const(t), True
        choice = r.random()
        if choice < 0.15:
            src = r.choice([u for u in VARS if u != t and (u not in FLOATS or t in FLOATS)])
            inner, const = self.expr(src, depth - 1)
            return f"{t}({VARS[src] if const else inner})", False
        if choice < 0.25:
            op = "-" if t in FLOATS else r.choice(["-", "^"])
            inner, const = self.expr(t, depth - 1)
            if const:
                inner = VARS[t]
            return f"{op}({inner})", False
        if t not in FLOATS and choice < 0.4:
            x, _ = self.expr(t, depth - 1)
            if x.isdigit():
                x = VARS[t]
            n = r.choice(["0", "1", "3", str(INTS.get(t) or UINTS[t]), "70", "vUint8 % 9", "vUint16 % 17"])
            return f"({x}) {r.choice(['<<', '>>'])} ({n})", False
        ops = ["+", "-", "*", "/"] if t in FLOATS else ["+", "-", "*", "/", "%", "&", "|", "^", "&^"]
        op = r.choice(ops)
        x, cx = self.expr(t, depth - 1)
        y, cy = self.expr(t, depth - 1)
        if cx and cy:
            x, cx = VARS[t], False
        if op in ("/", "%") and cy and float(y) == 0:
            y = "1"
        return f"({x}) {op} ({y})", False

    def top(self) -> str:
        t = self.rng.choice(list(VARS))
        e, _ = self.expr(t, self.rng.randint(1, 4))
        if self.rng.random() < 0.15:
            f, _ = self.expr(t, 2)
            return f"({e}) {self.rng.choice(['==', '!=', '<', '<=', '>', '>='])} ({f})"
        return e


_PROGRAM = """package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// norm keeps every result exact in JSON: float32 as the float64 of the same value, and the IEEE
// specials (which JSON has no numbers for) as text.
func norm(v any) any {
	f, ok := v.(float64)
	if g, is32 := v.(float32); is32 {
		f, ok = float64(g), true
	}
	if !ok {
		return v
	}
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}

func main() {
%(decls)s
	out := []any{}
	add := func(f func() any) {
		defer func() {
			if r := recover(); r != nil {
				out = append(out, map[string]string{"panic": fmt.Sprint(r)})
			}
		}()
		out = append(out, norm(f()))
	}
%(adds)s
	json.NewEncoder(os.Stdout).Encode(out)
	_ = []any{%(uses)s}
}
"""


def _go_literal(t: str, v: Any) -> str:
    if t in FLOATS:
        return repr(float(v))
    return str(int(v))


def go_results(values: dict[str, Any], exprs: list[str]) -> list[Any]:
    """What Go computes for each expression, with the variables holding ``values``."""
    decls = "\n".join(f"\t{name} := {t}({_go_literal(t, values[name])})" for t, name in VARS.items())
    adds = "\n".join(f"\tadd(func() any {{ return {e} }})" for e in exprs)
    uses = ", ".join(VARS.values())
    src = _PROGRAM % {"decls": decls, "adds": adds, "uses": uses}
    key = hashlib.sha256(src.encode()).hexdigest()[:16]
    work = gotools.cache_dir() / "arith" / key
    out = work / "out.json"
    if not out.exists():
        work.mkdir(parents=True, exist_ok=True)
        (work / "go.mod").write_text("module arith\n\ngo 1.21\n")
        (work / "main.go").write_text(src)
        env = gotools.go_env(VERSION)
        r = subprocess.run([gotools.go_command(VERSION), "run", "."], cwd=work, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        tmp = out.with_suffix(".tmp")
        tmp.write_text(r.stdout)
        tmp.rename(out)
    return list(json.loads(out.read_text()))


def test_random_arithmetic_equals_go() -> None:
    case = values_case(VERSION, "noopt")
    values = case.values
    gen = Gen(random.Random(SEED))
    exprs = [gen.top() for _ in range(COUNT)]
    want = go_results(values, exprs)
    assert len(want) == len(exprs)
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    wrong = []
    panicked = 0
    for src, expected in zip(exprs, want, strict=True):
        if isinstance(expected, dict) and "panic" in expected:
            panicked += 1
            message = expected["panic"].removeprefix("runtime error: ")
            try:
                got = evaluate(proc, src, g, fi)
                wrong.append(f"{src}: Go panics ({message}), we gave {got.value!r}")
            except ExpressionError as e:
                if message not in str(e):
                    wrong.append(f"{src}: Go panics ({message}), we said {e}")
            continue
        try:
            got = evaluate(proc, src, g, fi)
        except ExpressionError as e:
            wrong.append(f"{src}: Go gives {expected!r}, we said {e}")
            continue
        value = got.value
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            value = "NaN" if math.isnan(value) else "+Inf" if value > 0 else "-Inf"
        if isinstance(value, float) and isinstance(expected, int) and not isinstance(expected, bool):
            expected = float(expected)  # encoding/json writes 2.7e19 as 27000000000000000000
        if value != expected or isinstance(value, bool) != isinstance(expected, bool):
            wrong.append(f"{src}: Go gives {expected!r}, we gave {got.value!r} ({got.type_name})")
    assert not wrong, f"{len(wrong)} of {len(exprs)} differ (seed {SEED}):\n" + "\n".join(wrong[:40])
    assert panicked < len(exprs) // 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generator_makes_varied_expressions(seed: int) -> None:
    """The generator is not degenerate: operators, conversions and shifts all appear."""
    gen = Gen(random.Random(seed))
    text = " ".join(gen.top() for _ in range(200))
    for token in ("<<", ">>", "&^", "%", "/", "uint8(", "float32(", "^(", "-("):
        assert token in text, token
