"""The heap read from real cores, against what the Go program itself said about its heap.

tests/testprogs/heapprog allocates known populations, collects garbage, leaves garbage behind, writes
its own heap and goroutine profiles, reads runtime.MemStats twice with nothing allocated in between
(it prints both readings: the test checks they agree), and kills itself with SIGABRT, which
allocates nothing either. So the heap in the core is exactly the one MemStats described: ``objects``
and ``bytes`` must equal ``HeapObjects`` and ``HeapAlloc`` with no allowance at all.

Cheap checks run for every Go release 1.21–1.27 (optimized builds); the full mode matrix (opt,
``-N -l``, stripped) runs on 1.21, 1.24 and 1.27. The same checks run on arm64 cores of the
optimized builds of 1.21, 1.24 and 1.27 (cross-compiled, run under qemu-user: tests/corpus.py),
unless $GOCORE_TUI_ARCHES leaves arm64 out. One GoProcess per core is shared by the module.
"""

from __future__ import annotations

import functools
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import ARM64_FULL_VERSIONS, CoreCase, make_core

from explorer.goruntime.heap import Heap, heap_of
from explorer.goruntime.process import GoProcess

VERSIONS = gotools.test_versions()
FULL = [v for v in VERSIONS if v.rsplit(".", 1)[0] in ("1.21", "1.24", "1.27")]
ARM64 = [v for v in VERSIONS if v in ARM64_FULL_VERSIONS] if "arm64" in gotools.corpus_arches() else []
#: (version, mode, arch)
Case = tuple[str, str, str]
CASES: list[Case] = ([(v, "opt", "amd64") for v in VERSIONS]
                     + [(v, m, "amd64") for v in FULL for m in ("noopt", "stripped")]
                     + [(v, m, "arm64") for v in ARM64 for m in ("opt", "noopt", "stripped")])


def case_id(c: Case) -> str:
    return "-".join([*([c[2]] if c[2] != "amd64" else []), c[0], c[1]])


@functools.cache
def heap_case(version: str, mode: str, arch: str = "amd64") -> CoreCase:
    return make_core(version, mode, "heap", prog="heapprog", arch=arch)


_OPEN: dict[Case, GoProcess] = {}


def open_heap(version: str, mode: str, arch: str = "amd64") -> tuple[CoreCase, GoProcess, Heap]:
    case = heap_case(version, mode, arch)
    key = (version, mode, arch)
    if key not in _OPEN:
        _OPEN[key] = GoProcess.open(case.core, case.binary)
    proc = _OPEN[key]
    return case, proc, heap_of(proc)


@pytest.fixture(scope="module", autouse=True)
def _close_processes() -> Any:
    yield
    for p in _OPEN.values():
        p.close()
    _OPEN.clear()


def memstats(case: CoreCase) -> dict[str, int]:
    """The program's MemStats, after checking that printing them allocated nothing."""
    lines = [json.loads(line.split(" ", 1)[1]) for line in case.stdout.splitlines()
             if line.startswith("HEAPPROG-MEMSTATS ")]
    assert len(lines) == 2, case.stdout[-2000:]
    assert lines[0] == lines[1], "the program allocated between its two MemStats readings"
    return dict(lines[0])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_objects_and_bytes_are_memstats(case: Case) -> None:
    """objects/bytes are HeapObjects/HeapAlloc exactly (nothing was allocated after the reading)."""
    c, _proc, heap = open_heap(*case)
    ms = memstats(c)
    s = heap.summary()
    assert (s["objects"], s["bytes"]) == (ms["HeapObjects"], ms["HeapAlloc"])
    assert heap.objects.mismatched_spans == []  # every span's alloc bits agree with its allocCount
    assert sum(sc["objects"] for sc in s["size_classes"]) == s["objects"]
    assert sum(sc["bytes"] for sc in s["size_classes"]) == s["bytes"]


# --------------------------------------------------------------------------------------------------
# Populations: the program's own counts, by type

POPULATIONS = ("main.Item", "main.Entry", "main.Node", "main.Leak", "main.StackOnly", "main.StackLocal",
               "main.Circle")
# Without DWARF the only typed roots are gone: types come from malloc headers (Go 1.22+) and what
# typed pointers lead to from there. Items, entries and leaks are reached through slices and map
# groups of more than 512 bytes (headers), circles through interfaces in a header-typed slice.
STRIPPED_TYPED = ("main.Item", "main.Entry", "main.Leak", "main.StackOnly", "main.Circle")


def required_types(version: str, mode: str, arch: str = "amd64") -> set[str]:
    minor = int(version.split(".")[1])
    if mode == "stripped":
        return set(STRIPPED_TYPED) if minor >= 22 else set()  # 1.21 has no malloc headers
    req = set(POPULATIONS)
    if minor == 21 and mode == "opt":
        # The holder's slice lives only in a stack slot DWARF does not describe (its variable is in
        # a register at the call), and 1.21 has no malloc header to name its backing array.
        req.discard("main.StackOnly")
    return req


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_populations_by_type(case: Case) -> None:
    """Each known population's count is exact wherever a type can be known, and nothing is ever
    given a population's type that does not belong to it; garbage is never typed (nothing reaches
    it to say what it is) and shows as unknown."""
    c, _proc, heap = open_heap(*case)
    hist = heap.histogram()
    got = {r["type"]: r["count"] for r in hist if r["type"] is not None}
    want = c.ready["counts"]
    required = required_types(*case)
    for name in POPULATIONS:
        if name in required:
            assert got.get(name) == want[name], (name, got.get(name), want[name])
        else:
            assert got.get(name) in (None, want[name]), (name, got.get(name))
    assert "main.Garbage" not in got
    assert sum(r["count"] for r in hist) == len(heap.objects)
    assert sum(r["bytes"] for r in hist) == heap.objects.bytes
    assert all(r["size"] > 0 for r in hist if r["type"] is None)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_garbage_is_unreachable(case: Case) -> None:
    """Objects allocated after the last collection and dropped (the program kept only their
    addresses as integers) are allocated, unreachable, and have no path; everything else the
    program holds is reachable."""
    c, _proc, heap = open_heap(*case)
    from explorer.goruntime.heap.paths import path

    s = heap.summary()
    garbage = c.ready["addrs"]["garbage"]
    idx = [heap.objects.find_one(a) for a in garbage]
    assert all(i >= 0 and int(heap.objects.addr[i]) == a for i, a in zip(idx, garbage, strict=True))
    assert not heap.reach.reachable[idx].any()
    assert path(heap, garbage[0]) is None
    assert s["reachable_objects"] <= s["objects"] - len(garbage)
    held = [a for k, a in c.ready["addrs"].items() if k not in ("garbage",)]
    for a in [x for v in held for x in (v if isinstance(v, list) else [v])]:
        assert heap.reach.reachable[heap.objects.find_one(a)], hex(a)


SAMPLE_ROOTS = {"item0": "main.items", "item_last": "main.items", "entry": "main.table", "node_tail": "main.list",
                "leak": "main.leakRoot", "circle": "main.shapes"}
SAMPLE_TYPES = {"item0": "main.Item", "item_last": "main.Item", "entry": "main.Entry", "node_tail": "main.Node",
                "leak": "main.Leak", "circle": "main.Circle", "stack_only": "main.StackOnly",
                "stack_local": "main.StackLocal"}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_paths_end_at_the_right_root(case: Case) -> None:
    """A shortest path from a root to each sample object starts at the global the program keeps it
    in (by name, or by the address the program printed for the global in a stripped binary), or at
    the parked holder goroutine's frame; each step points to the next; the last step is the object
    with its type."""
    from explorer.goruntime.heap.paths import path

    c, proc, heap = open_heap(*case)
    addrs = c.ready["addrs"]
    globals_ = c.ready["globals"]
    required = required_types(*case)
    for key, addr in addrs.items():
        if key in ("garbage", "bigs"):
            continue
        steps = path(heap, addr)
        assert steps, key
        root, last = steps[0], steps[-1]
        assert last["kind"] == "object" and last["address"] == addr and last["field"] is None, (key, last)
        if SAMPLE_TYPES[key] in required:
            assert last["type"] == SAMPLE_TYPES[key], (key, last)
        if key in SAMPLE_ROOTS:
            g = SAMPLE_ROOTS[key]
            assert root["kind"] == "global", (key, root)
            assert root["address"] == globals_[g], (key, root, hex(globals_[g]))
            if case[1] != "stripped":
                assert root["name"] == g
        else:
            assert root["kind"] == "stack", (key, root)
            g = proc.goroutine(root["goroutine"])
            frames = proc.backtrace(g).frames
            assert frames[root["frame"]].function == "main.holder" == root["function"], (key, root)
            if key == "stack_local" and case[1] != "stripped":
                assert root["variable"] == "local" and root["field"] == "[3]", root
        # Each step's pointer is where it says: the word there points into the next step's object.
        for a, b in itertools.pairwise(steps):
            value = proc.memory.read_ptr(a["address"] + a["offset"])
            assert b["address"] <= value < b["address"] + b["size"], (key, a, b)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_big_slices_are_large_objects(case: Case) -> None:
    """The program's 1 MiB byte slices are large objects of their own span, reachable from
    main.bigs, and their bytes are in ``bytes``."""
    c, _proc, heap = open_heap(*case)
    big = c.ready["big_size"]
    for a in c.ready["addrs"]["bigs"]:
        i = heap.objects.find_one(a)
        assert i >= 0 and int(heap.objects.addr[i]) == a
        assert int(heap.objects.size[i]) >= big
        assert heap.spans.sizeclass[heap.objects.span[i]] == 0


@pytest.mark.parametrize("case", [c for c in CASES if c[1] == "opt"], ids=case_id)
def test_profiler_globals_found_through_code(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without symbols, the profiler's globals are found through the code that uses them (amd64's
    RIP-relative operands, arm64's ADRP pairs): at the addresses the symbol table gives them."""
    from explorer.goruntime.heap import pprof

    _c, proc, _heap = open_heap(*case)
    want = {name: proc.global_addr(name) for name in ("runtime.mbuckets", "runtime.mProfCycle",
                                                       "runtime.MemProfileRate")}
    assert all(want.values()), want
    monkeypatch.setattr(proc, "global_addr", lambda name: None)
    assert pprof._mbuckets(proc) == want["runtime.mbuckets"]
    assert pprof._mprof_cycle(proc) == proc.memory.read_u32(want["runtime.mProfCycle"]) >> 1
    assert pprof.mem_profile_rate(proc) == proc.memory.read_i64(want["runtime.MemProfileRate"]) == 4096


# --------------------------------------------------------------------------------------------------
# The CLI (one case: the JSON contract and text output)


def _cli(*argv: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from explorer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_cli_heap_json_and_text() -> None:
    version = VERSIONS[-1]
    c = heap_case(version, "opt")
    ms = memstats(c)
    code, out, _ = _cli("heap", str(c.core), str(c.binary), "--json")
    assert code == 0
    s = json.loads(out)
    assert (s["objects"], s["bytes"]) == (ms["HeapObjects"], ms["HeapAlloc"])
    assert {"reachable_objects", "reachable_bytes", "spans", "size_classes"} <= set(s)
    code, out, _ = _cli("heap", str(c.binary), str(c.core), "--histogram", "--json")
    rows = json.loads(out)
    assert code == 0 and rows == sorted(rows, key=lambda r: -r["bytes"])
    assert {"type": "main.Entry", "count": 7777, "bytes": 7777 * 32} in rows
    code, out, _ = _cli("heap", str(c.core), str(c.binary), "objects", "main.Item", "-n", "5", "--json")
    assert code == 0 and len(json.loads(out)) == 5
    leak = c.ready["addrs"]["leak"]
    code, out, _ = _cli("heap", str(c.core), str(c.binary), "path", hex(leak), "--json")
    p = json.loads(out)["path"]
    assert code == 0 and p[0] == {**p[0], "kind": "global", "name": "main.leakRoot"} and p[-1]["address"] == leak
    code, out, _ = _cli("heap", str(c.core), str(c.binary), "path", hex(leak))
    assert code == 0 and out.splitlines()[0] == "global main.leakRoot" and "main.Leak" in out.splitlines()[-1]
    code, out, _ = _cli("heap", str(c.core), str(c.binary), "refs", hex(c.ready["addrs"]["item0"]), "--json")
    refs = json.loads(out)
    assert code == 0 and any(r.get("type") == "main.Entry" and r["field"] == "Item" for r in refs)
    code, out, _ = _cli("heap", str(c.core), str(c.binary))
    assert code == 0 and f"{ms['HeapObjects']:,}" in out
    code, _out, err = _cli("heap", str(c.core), str(c.binary), "path", "0x10")
    assert code == 1 and "not in an allocated heap object" in err
    code, _out, err = _cli("heap", str(c.core), str(c.binary), "path")
    assert code == 2


# --------------------------------------------------------------------------------------------------
# pprof profiles: go tool pprof reads ours as it reads the program's own


def _own_profile(case: CoreCase, kind: str) -> bytes:
    import base64

    for line in case.stdout.splitlines():
        if line.startswith(f"HEAPPROG-PROFILE {kind} "):
            return base64.b64decode(line.split(" ", 2)[2])
    raise AssertionError(f"the program printed no {kind} profile")


def _pprof(version: str, path: Path, *args: str) -> str:
    import subprocess

    r = subprocess.run([gotools.go_command(version), "tool", "pprof", *args, str(path)], capture_output=True,
                       text=True, env=gotools.go_env(version), timeout=120)
    assert r.returncode == 0, r.stderr
    # The time the profile was taken and the build ID (the program's copy of it may be absent) are
    # not what is compared.
    return "\n".join(ln for ln in r.stdout.splitlines() if not ln.startswith(("Time:", "Build ID:")))


def _traces(text: str) -> list[tuple[str, ...]]:
    """go tool pprof -traces output as sorted (count, labels..., functions...) tuples."""
    out = []
    for block in text.split("-----------+-------------------------------------------------------")[1:]:
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        if lines:
            out.append(tuple(" ".join(ln.split()) for ln in lines))
    return sorted(out)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pprof_profiles_match_the_programs_own(case: Case, tmp_path: Path) -> None:
    """``pprof heap`` and ``pprof goroutine`` (through the CLI) give the same ``go tool pprof``
    output as the profiles the program wrote of itself: -top in-use and allocated space by
    function; -traces of the goroutines, with their labels. The goroutine that wrote the profiles
    is the one that later crashed: its stack differs by nature and is left out of the comparison."""
    c = heap_case(*case)
    version = case[0]
    for kind in ("heap", "goroutine"):
        ours = tmp_path / f"ours.{kind}.pb.gz"
        code, _out, err = _cli("pprof", str(c.core), str(c.binary), kind, "-o", str(ours))
        assert code == 0, err
        own = tmp_path / f"own.{kind}.pb.gz"
        own.write_bytes(_own_profile(c, kind))
        if kind == "heap":
            for index in ("inuse_space", "alloc_space", "inuse_objects"):
                mine = _pprof(version, ours, "-top", f"-sample_index={index}")
                theirs = _pprof(version, own, "-top", f"-sample_index={index}")
                assert mine == theirs, (index, mine, theirs)
                assert "main.build" in mine
        else:
            mine_t = [t for t in _traces(_pprof(version, ours, "-traces")) if "main.main" not in t]
            theirs_t = [t for t in _traces(_pprof(version, own, "-traces")) if "main.main" not in t]
            assert mine_t == theirs_t
            assert any("role: holder" in t and "main.holder" in t for t in mine_t), mine_t
    code, _out, err = _cli("pprof", str(c.core), str(c.binary), "heap", "-o", str(tmp_path / "ours.heap.pb.gz"))
    assert code == 1 and "exists" in err  # never overwritten without --force
