"""Frame variables and Go values read from real cores, against what the Go program printed.

tests/testprogs/values holds a local of every kind of Go value (see its doc comment), prints them
as JSON on its READY line and panics. Its cores are made with every Go release 1.21–1.27, with
``-gcflags=all=-N -l`` (every local is on the stack: all must read back exactly) and optimized
(where the globals must read back exactly, and every variable shown as available must be right).
The value trees of ``vars --json`` / ``print --json`` are reduced to the program's JSON conventions
by :func:`plain` and compared.

The same checks run on arm64 cores (qemu-user, see tests/corpus.py): ``-N -l`` builds of every
release, optimized builds of 1.21, 1.24 and 1.27 (:data:`corpus.ARM64_FULL_VERSIONS`).
"""

from __future__ import annotations

import functools
import io
import json
import math
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import ARM64_FULL_VERSIONS, CoreCase, make_core

from explorer.errors import ExplorerError
from explorer.goruntime.process import GoProcess
from explorer.render.valuejson import value_json
from explorer.render.values import summary

VERSIONS = gotools.test_versions()
HOLD = "main.holdValues"


def targets(versions: list[str], arm64: str = "noopt") -> list[Any]:
    """(version, arch) parameters: ``versions`` on amd64 (ids as before: the version), and on arm64
    the same ones, limited to ARM64_FULL_VERSIONS for optimized builds (``arm64``: the mode)."""
    out = [pytest.param(v, "amd64", id=v) for v in versions]
    if "arm64" in gotools.corpus_arches():
        out += [pytest.param(v, "arm64", id=f"arm64-{v}") for v in versions
                if arm64 == "noopt" or v in ARM64_FULL_VERSIONS]
    return out


# --------------------------------------------------------------------------------------------------
# The corpus


@functools.cache
def values_case(version: str, mode: str, arch: str = "amd64") -> CoreCase:
    return make_core(version, mode, "values", prog="values", arch=arch)


_OPEN: dict[tuple[str, str, str, str], GoProcess] = {}


def open_case(case: CoreCase) -> GoProcess:
    """One GoProcess per core for the whole session (its caches make the next test cheap)."""
    key = (case.arch, case.version, case.mode, case.scenario)
    if key not in _OPEN:
        _OPEN[key] = GoProcess.open(case.core, case.binary)
    return _OPEN[key]


@pytest.fixture(scope="session", autouse=True)
def _close_processes() -> Any:
    yield
    for p in _OPEN.values():
        p.close()
    _OPEN.clear()


def frame_index(proc: GoProcess, g: Any, function: str) -> int:
    for f in proc.backtrace(g).frames:
        if f.function == function or f.function.startswith(function + "["):
            return int(f.index)
    raise AssertionError(f"no frame {function} in {[f.function for f in proc.backtrace(g).frames]}")


# --------------------------------------------------------------------------------------------------
# Value trees reduced to the program's JSON conventions


class Unreadable(Exception):
    pass


def plain(t: dict[str, Any]) -> Any:
    """A CLI.md value tree as the Go program's json.Marshal would have printed the value."""
    k = t["kind"]
    if k == "unreadable":
        raise Unreadable(f"{t['type']}: {t['error']}")
    if t.get("truncated"):
        raise AssertionError(f"truncated value {t['type']}")
    if k in ("bool", "int", "uint", "float", "string"):
        return t["value"]
    if k == "complex":
        return {"real": t["real"], "imag": t["imag"]}
    if k in ("slice", "array"):
        if k == "slice" and not t["data"]:
            return None
        if t.get("elem_type") == "uint8":
            return bytes(e["value"] for e in t["elements"]).hex()
        return [plain(e) for e in t["elements"]]
    if k == "struct":
        out: dict[str, Any] = {}
        for f in t["fields"]:
            v = plain(f["value"])
            if f.get("embedded"):
                if v is None:
                    continue
                assert isinstance(v, dict), f
                out.update(v)
            else:
                out[f["name"]] = v
        return out
    if k == "map":
        if not t["value"]:
            return None
        return {_key(plain(e["key"])): plain(e["value"]) for e in t["entries"]}
    if k == "ptr":
        if t["type"] == "unsafe.Pointer":
            return t["value"]
        assert not t.get("cycle"), t
        return None if t["target"] is None else plain(t["target"])
    if k == "iface":
        return None if t["value"] is None else plain(t["value"])
    if k == "chan":
        if not t["value"]:
            return None
        return {"len": t["len"], "cap": t["cap"], "elements": [plain(e) for e in t["elements"]]}
    if k == "func":
        return t["function"]
    raise AssertionError(f"unknown kind {k}")


def _key(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


def same(a: Any, b: Any) -> bool:
    """Equality with float tolerance (float32 values print shorter in Go than as a double)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def check(name: str, tree: dict[str, Any], expected: Any) -> None:
    """Compare one variable's value tree with what the program printed for it."""
    if name == "vLoop":
        assert tree["kind"] == "ptr"
        tgt = tree["target"]
        fields = {f["name"]: f["value"] for f in tgt["fields"]}
        assert fields["Name"]["value"] == expected["Name"]
        assert fields["Next"]["cycle"] is True and fields["Next"]["target"] is None
        assert fields["Next"]["value"] == tree["value"] and expected["self"] is True
        return
    if name in ("vErr", "vMyErr") and expected is not None:
        assert tree["kind"] == "iface" and tree["dynamic_type"] == expected["type"], tree
        target = plain(tree["value"])
        if expected["type"] == "*errors.errorString":
            assert target == {"s": expected["error"]}
        else:
            assert f"code {target['Code']}: {target['Msg']}" == expected["error"]
        return
    if name == "vBadUTF8":  # printed as hex: json.Marshal would have replaced the bad bytes
        raw = bytes.fromhex(expected)
        assert tree["len"] == len(raw) and tree["value"] == raw.decode("utf-8", "backslashreplace")
        return
    got = plain(tree)
    assert same(got, expected), f"{name}: read {json.dumps(got)[:400]}\nprinted {json.dumps(expected)[:400]}"


def expected_key(function: str, var: str) -> str | None:
    """Which READY value a frame variable of the values program must equal (None: not printed)."""
    if function == HOLD:
        return var
    if function in ("main.crash", "main.checkCode"):
        return f"crash.{var}"
    if function.startswith("main.genericHold["):
        if var == "v":
            return "generic.inner" if "struct" in function else "generic.int"
        return None
    if function in ("main.main.func1.1", "main.main.func1") and var in ("in", "n"):
        return "generic.inner" if var == "in" else "generic.int"
    return None


# --------------------------------------------------------------------------------------------------
# -N -l builds: every local reads back exactly


@pytest.mark.parametrize(("version", "arch"), targets(VERSIONS))
def test_every_kind_of_value(version: str, arch: str) -> None:
    from explorer.goruntime.expr import evaluate
    from explorer.goruntime.variables import frame_variables

    case = values_case(version, "noopt", arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    expected = case.values
    variables = {v.name: v for v in frame_variables(proc, g, fi)}
    wanted = [k for k in expected if k.startswith("v") or k in ("captured", "target")]
    assert len(wanted) >= 65
    missing = [k for k in wanted if k not in variables]
    assert not missing, f"variables not found: {missing}"
    for name in wanted:
        tree = value_json(variables[name].value)
        check(name, tree, expected[name])
        # print EXPR goes through the expression evaluator: the same tree
        assert value_json(evaluate(proc, name, g, fi)) == tree
    shared = plain(value_json(variables["shared"].value))
    assert same(shared, {k: expected[k] for k in ("generic.inner", "generic.int")})
    assert variables["shared"].kind == "arg" and variables["vBool"].kind == "local"


@pytest.mark.parametrize(("version", "arch"), targets(VERSIONS))
def test_cli_vars_and_print_json(version: str, arch: str) -> None:
    from explorer.cli import main

    case = values_case(version, "noopt", arch)
    proc = open_case(case)
    fi = frame_index(proc, proc.crashed_goroutine, HOLD)
    expected = case.values

    def run(*args: str) -> Any:
        out = io.StringIO()
        with redirect_stdout(out):
            rc = main([args[0], str(case.core), str(case.binary), *args[1:]])
        assert rc == 0, out.getvalue()
        return json.loads(out.getvalue())

    got = {v["name"]: v for v in run("vars", "-f", str(fi), "--json")}
    for name, exp in expected.items():
        if name.startswith("v"):
            assert got[name]["kind"] == "local"
            check(name, got[name]["value"], exp)
    for name in ("vStruct", "vMapOfSlices", "vChan", "vPair"):
        check(name, run("print", name, "-f", str(fi), "--json"), expected[name])
    # text output never fails and names the values
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["vars", str(case.core), str(case.binary), "-f", str(fi)]) == 0
    text = out.getvalue()
    assert 'vString = "héllo, wörld ✓"' in text and "vInt = -42" in text


@pytest.mark.parametrize(("version", "arch"), targets(VERSIONS))
def test_other_frames_and_generics(version: str, arch: str) -> None:
    """Arguments of crash and checkCode, generic functions' shape-typed arguments (resolved through
    the dictionary), and a variable captured by a closure (``&in``, moved to the heap)."""
    from explorer.goruntime.variables import frame_variables

    case = values_case(version, "noopt", arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    assert g is not None
    seen = set()
    for f in proc.backtrace(g).frames:
        if not f.function.startswith("main."):
            continue
        for var in frame_variables(proc, g, f.index):
            key = expected_key(f.function, var.name)
            if key is None or key not in case.values or f.function == HOLD:
                continue
            check(key, value_json(var.value), case.values[key])
            seen.add((f.function.split("[")[0], var.name, var.value.type_name))
    assert ("main.genericHold", "v", "main.Inner") in seen
    assert ("main.genericHold", "v", "int64") in seen
    assert ("main.crash", "payload", "[]uint8") in seen
    assert ("main.main.func1.1", "in", "main.Inner") in seen


@pytest.mark.parametrize(("version", "arch", "mode"),
                         [pytest.param(*p.values, m, id=f"{p.id}-{m}") for m in ("noopt", "opt")
                          for p in targets(VERSIONS, m)])
def test_globals(version: str, arch: str, mode: str) -> None:
    from explorer.goruntime.expr import evaluate

    case = values_case(version, mode, arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    for name in ("config", "globalMap", "globalBytes", "globalCounter"):
        v = evaluate(proc, f"main.{name}", g, 0)
        check(name, value_json(v), case.values[name])
        # without a goroutine (globals only) and by the bare name (main. implied)
        assert value_json(evaluate(proc, f"main.{name}", None)) == value_json(v)
        assert value_json(evaluate(proc, name, None)) == value_json(v)
    assert evaluate(proc, "main.config.Limits[\"mem\"]", None).value == 512


@pytest.mark.parametrize(("version", "arch"), targets(VERSIONS, "opt"))
def test_optimized_never_wrong(version: str, arch: str) -> None:
    """Optimized builds: variables DWARF gives a location for read back right; the rest say why not."""
    from explorer.goruntime.variables import frame_variables

    case = values_case(version, "opt", arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    assert g is not None
    shown = unavailable = 0
    for f in proc.backtrace(g).frames:
        if not f.function.startswith("main."):
            continue
        for var in frame_variables(proc, g, f.index):
            tree = value_json(var.value)
            if tree["kind"] == "unreadable":
                assert tree["error"], tree
                unavailable += 1
                continue
            key = expected_key(f.function, var.name)
            if key is None or key not in case.values:
                continue
            try:
                check(key, tree, case.values[key])
            except Unreadable:
                pytest.fail(f"{f.function} {var.name}: shown as available but part of it is unreadable")
            shown += 1
    print(f"{version} {arch} opt: {shown} variables checked, {unavailable} unavailable")
    assert shown + unavailable > 0


@pytest.mark.parametrize(("version", "arch"), targets(VERSIONS))
def test_map_layouts(version: str, arch: str) -> None:
    """The program's maps exercise each layout: a classic map caught growing (<= 1.23), swiss
    maps small (one group) and large (a directory of several tables) (>= 1.24)."""
    from explorer.goruntime.expr import evaluate

    case = values_case(version, "noopt", arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    growing = evaluate(proc, "vGrowing", g, fi)._map
    huge = evaluate(proc, "vHugeMap", g, fi)._map
    small = evaluate(proc, "vSmallMap", g, fi)._map
    big_val = evaluate(proc, "vMapBigVal", g, fi)._map
    assert big_val.indirect_elem and not big_val.indirect_key
    if int(version.split(".")[1]) <= 23:
        assert growing.layout == "classic" and growing.growing
        assert huge.layout == "classic" and huge.B >= 9
    else:
        assert growing.layout == huge.layout == small.layout == "swiss"
        assert small.dir_len == 0 and huge.dir_len > 1


# --------------------------------------------------------------------------------------------------
# Bounded reads: garbage is an unreadable value, never a crash, hang or huge allocation


def _garbage_cases(proc: GoProcess) -> list[tuple[str, bytes]]:
    import struct

    big = 1 << 60
    unmapped = 0x10  # the first page is never mapped
    return [
        ("string", struct.pack("<QQ", 0xC000000000, big)),
        ("string", struct.pack("<QQ", unmapped, 5)),
        ("string", struct.pack("<Qq", 0xC000000000, -3)),
        ("[]int", struct.pack("<QQQ", 0xC000000000, big, big)),
        ("[]int", struct.pack("<QQQ", unmapped, 4, 4)),
        ("[]int", struct.pack("<QQQ", 0xC000000000, 9, 2)),
        ("[]string", struct.pack("<QQQ", unmapped, 1 << 40, 1 << 40)),
        ("map[string]int", struct.pack("<Q", unmapped)),
        ("map[int]int", struct.pack("<Q", 0xFFFF_FFFF_FFF0)),
        ("chan int", struct.pack("<Q", unmapped)),
        ("error", struct.pack("<QQ", unmapped, unmapped)),
        ("interface {}", struct.pack("<QQ", 0x1234, 0)),
        ("*main.Node", struct.pack("<Q", unmapped)),
        ("func(int) int", struct.pack("<Q", unmapped)),
    ]


@pytest.mark.parametrize("version", [VERSIONS[0], VERSIONS[-1]])
def test_garbage_is_unreadable(version: str) -> None:
    from explorer.goruntime.decode import decoder
    from explorer.goruntime.values import Loc

    case = values_case(version, "noopt")
    proc = open_case(case)
    dec = decoder(proc)
    assert proc.dwarf is not None
    for type_name, raw in _garbage_cases(proc):
        t = proc.dwarf.type_by_name(type_name)
        assert t is not None, type_name
        started = time.monotonic()
        v = dec.decode(t, Loc(None, raw))
        tree = value_json(v)
        text = summary(v)
        assert time.monotonic() - started < 2.0
        assert json.dumps(tree) and text
        bad = [n for n in _walk(tree) if n["kind"] == "unreadable"]
        assert bad or tree["kind"] in ("ptr", "iface", "func", "map", "chan"), (type_name, tree)
        for n in bad:
            assert n["error"], n


def _walk(tree: Any) -> Any:
    if isinstance(tree, dict):
        if "kind" in tree:
            yield tree
        for v in tree.values():
            yield from _walk(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _walk(v)


@pytest.mark.parametrize("version", [VERSIONS[-1]])
def test_fuzzed_headers_never_crash(version: str) -> None:
    """Random bytes decoded as every type the program uses: always a value tree, quickly."""
    import random

    from explorer.goruntime.decode import decoder
    from explorer.goruntime.values import Loc

    case = values_case(version, "noopt")
    proc = open_case(case)
    dec = decoder(proc)
    assert proc.dwarf is not None
    rng = random.Random(4)
    names = ["string", "[]int", "[]string", "map[string]int", "map[int]main.Big", "chan int", "error",
             "interface {}", "*main.Node", "main.Outer", "main.Config", "func(int) int", "map[string][]int",
             "[4]int32", "main.Box[float64]", "chan string"]
    heap = [0xC000000000, 0xC000010000, 0x10, 0, 1 << 63]
    started = time.monotonic()
    for i in range(600):
        t = proc.dwarf.type_by_name(names[i % len(names)])
        assert t is not None
        words = [rng.choice(heap) + rng.randrange(0, 4096) * 8 if rng.random() < 0.6
                 else rng.getrandbits(rng.choice((3, 8, 20, 64))) for _ in range(12)]
        raw = b"".join(w.to_bytes(8, "little") for w in words)
        v = dec.decode(t, Loc(None, raw[: max(8, t.size or 8)]))
        try:
            json.dumps(value_json(v, max_depth=6))
            summary(v)
        except ExplorerError:
            pass
    assert time.monotonic() - started < 60


# --------------------------------------------------------------------------------------------------
# Inlined frames and registers


@pytest.mark.parametrize(("version", "arch"), targets(VERSIONS))
def test_inlined_frame_variables(version: str, arch: str) -> None:
    """The crasher's panic scenario: mustBeValid(req) is inlined into handleRequest in optimized
    builds. Wherever ``req`` is available (the inlined frame included), it is the request."""
    from explorer.goruntime.variables import frame_variables

    case = make_core(version, "opt", "panic", arch=arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    assert g is not None
    want = case.values
    seen = []
    for f in proc.backtrace(g).frames:
        if f.function not in ("main.validate", "main.mustBeValid", "main.handleRequest",
                              "main.(*Dispatcher).serve"):
            continue
        for var in frame_variables(proc, g, f.index):
            if var.name != "req" or var.value.kind == "unreadable":
                continue
            req = plain(value_json(var.value))
            assert var.value.value == int(want["request_addr"], 16)
            assert req["ID"] == want["request_id"] and req["Method"] == want["method"]
            assert req["Body"] == want["body_hex"] and req["Headers"] == want["headers"]
            seen.append((f.function, f.inlined))
    assert seen
    if version == "1.21.13":
        assert ("main.mustBeValid", True) in seen


@pytest.mark.parametrize(("version", "arch"), targets([VERSIONS[0], VERSIONS[-1]]))
def test_register_locations(version: str, arch: str) -> None:
    """Location expressions with registers and pieces, on a frame whose registers are known (a
    thread's innermost frame) and on one whose registers are not (DWARF registers 0 and 3: amd64's
    rax and rbx, arm64's x0 and x3)."""
    from types import SimpleNamespace

    from explorer.binary.dwarf import Variable as DwarfVariable
    from explorer.core.arch import arch_named
    from explorer.goruntime.decode import decoder
    from explorer.goruntime.unwind import Frame
    from explorer.goruntime.variables import FrameScope, dwarf_regs, scope_variables

    case = values_case(version, "noopt", arch)
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    from explorer.goruntime.expr import evaluate

    desc = arch_named(arch)
    reg0, reg3 = desc.dwarf_reg_name(0), desc.dwarf_reg_name(3)
    s = evaluate(proc, "vString", g, fi)
    dw = decoder(proc).dwarf
    string_t, int_t = dw.type_by_name("string"), dw.type_by_name("int")
    everywhere = ((0, 1 << 64),)

    def var(name: str, t: Any, expr: bytes) -> DwarfVariable:
        return DwarfVariable(name, "local", t, False, None, expr, None, everywhere)

    variables = [
        var("inregs", string_t, bytes([0x50, 0x93, 0x08, 0x53, 0x93, 0x08])),  # reg0, reg3 pieces
        var("inrax", int_t, bytes([0x50])),
        var("lit", int_t, bytes([0x35, 0x9F])),  # DW_OP_lit5 DW_OP_stack_value
        var("onstack", int_t, bytes([0x91, 0x08])),  # fbreg 8
        var("halfgone", string_t, bytes([0x50, 0x93, 0x08, 0x93, 0x08])),  # second piece missing
        var("empty", int_t, b""),
    ]
    mem_int = int.from_bytes(proc.memory.read(0xC000000000, 8), "little") \
        if proc.memory.is_readable(0xC000000000, 8) else None
    logical = SimpleNamespace(variables=variables)
    regs = {reg0: int(s.data or 0), reg3: int(s.length or 0), desc.sp_reg: 0xC000000000 - 0x100}
    inner = Frame(0, "x", "x.go", 1, 0x401000, 0xC000000000 - 0x100, 0xC000000000 - 8, False, 0x401000,
                  0x401000, regs=regs)
    got = {v.name: v.value for v in scope_variables(proc, FrameScope(inner, None, logical, 0,
                                                                     dwarf_regs(inner, arch)))}
    assert got["inregs"].kind == "string" and got["inregs"].text()[0] == case.values["vString"]
    assert got["inrax"].value == int(s.data or 0)
    assert got["lit"].value == 5
    if mem_int is not None:
        assert got["onstack"].value == mem_int
    assert got["halfgone"].kind == "unreadable" and "optimized out" in str(got["halfgone"].error)
    assert got["empty"].kind == "unreadable" and got["empty"].error == "optimized out"
    outer = Frame(3, "x", "x.go", 1, 0x401000, inner.sp, inner.fp, False, 0x401000, 0x400fff)
    got = {v.name: v.value for v in scope_variables(proc, FrameScope(outer, None, logical, 0,
                                                                     dwarf_regs(outer, arch)))}
    assert got["inregs"].kind == "unreadable" and f"register {reg0}," in str(got["inregs"].error)
    assert got["inrax"].kind == "unreadable" and "innermost frame" in str(got["inrax"].error)
    assert got["lit"].value == 5


def test_stripped_binary_is_a_clear_error() -> None:
    from explorer.cli import main

    case = make_core(VERSIONS[-1], "stripped", "panic")
    for args in (["vars"], ["print", "req"], ["print", "main.config"], ["save", "req", "-o", "/nonexistent/x"]):
        err = io.StringIO()
        out = io.StringIO()
        from contextlib import redirect_stderr

        with redirect_stdout(out), redirect_stderr(err):
            rc = main([args[0], str(case.core), str(case.binary), *args[1:]])
        assert rc == 1 and "no DWARF" in err.getvalue() and len(err.getvalue().splitlines()) == 1, err.getvalue()


def test_pointer_hops_are_bounded_in_json(corpus: Any) -> None:
    """A handler's http.ResponseWriter reaches the whole server through pointers: vars --json
    follows four hops and marks the rest truncated: 25,000 nodes instead of 114,000."""
    from explorer.goruntime.variables import frame_variables
    from explorer.render.valuejson import variable_json

    case = corpus(VERSIONS[-1], "opt", "httpabort")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, "main.(*orderServer).ServeHTTP")
    w = next(v for v in frame_variables(proc, g, fi) if v.name == "w")
    tree = variable_json(w)["value"]

    def walk(t: Any, hops: int) -> tuple[int, int, bool]:
        nodes, deepest, cut = 1, hops, bool(t.get("truncated")) and t.get("kind") == "ptr"
        for key in ("target", "value", "elements", "fields", "entries"):
            sub = t.get(key)
            items = sub if isinstance(sub, list) else [sub]
            for item in items:
                wrapped = isinstance(item, dict) and ("name" in item or "key" in item)  # a field or entry
                for child in ([item.get("value"), item.get("key")] if wrapped else [item]):
                    if isinstance(child, dict) and "kind" in child:
                        n, d, c = walk(child, hops + (key == "target"))
                        nodes, deepest, cut = nodes + n, max(deepest, d), cut or c
        return nodes, deepest, cut

    nodes, hops, cut = walk(tree, 0)
    assert tree["kind"] == "iface" and cut and hops <= 4 and nodes < 50_000, (nodes, hops)
