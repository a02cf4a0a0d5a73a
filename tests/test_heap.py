"""The heap read from real cores, against what the Go program itself said about its heap.

tests/testprogs/heapprog allocates known populations, collects garbage, leaves garbage behind, writes
its own heap and goroutine profiles, reads runtime.MemStats twice with nothing allocated in between
(it prints both readings: the test checks they agree), and kills itself with SIGABRT, which
allocates nothing either. So the heap in the core is exactly the one MemStats described: ``objects``
and ``bytes`` must equal ``HeapObjects`` and ``HeapAlloc`` with no allowance at all.

Cheap checks run for every Go release 1.21–1.27 (optimized builds); the full mode matrix (opt,
``-N -l``, stripped) runs on 1.21, 1.24 and 1.27. One GoProcess per core is shared by the module.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import CoreCase, make_core

from explorer.goruntime.heap import Heap, heap_of
from explorer.goruntime.process import GoProcess

VERSIONS = gotools.test_versions()
FULL = [v for v in VERSIONS if v.rsplit(".", 1)[0] in ("1.21", "1.24", "1.27")]
CASES = [(v, "opt") for v in VERSIONS] + [(v, m) for v in FULL for m in ("noopt", "stripped")]


def case_id(c: tuple[str, str]) -> str:
    return f"{c[0]}-{c[1]}"


@functools.cache
def heap_case(version: str, mode: str) -> CoreCase:
    return make_core(version, mode, "heap", prog="heapprog")


_OPEN: dict[tuple[str, str], GoProcess] = {}


def open_heap(version: str, mode: str) -> tuple[CoreCase, GoProcess, Heap]:
    case = heap_case(version, mode)
    key = (version, mode)
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
def test_objects_and_bytes_are_memstats(case: tuple[str, str]) -> None:
    """objects/bytes are HeapObjects/HeapAlloc exactly (nothing was allocated after the reading)."""
    c, _proc, heap = open_heap(*case)
    ms = memstats(c)
    s = heap.summary()
    assert (s["objects"], s["bytes"]) == (ms["HeapObjects"], ms["HeapAlloc"])
    assert heap.objects.mismatched_spans == []  # every span's alloc bits agree with its allocCount
    assert sum(sc["objects"] for sc in s["size_classes"]) == s["objects"]
    assert sum(sc["bytes"] for sc in s["size_classes"]) == s["bytes"]
