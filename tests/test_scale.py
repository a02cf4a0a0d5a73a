"""Big cores: the shortcuts that make 100,000 goroutines fast must not change a single byte.

- Parked goroutines unwound by shared stack shapes (explorer.goruntime.shapes: one by one, and many
  at once with numpy) give exactly the frames of the full unwinder, itself checked against the
  runtime's traceback (tests/test_goroutines.py), on every corpus core and the syscall program's.
- ``goroutines --json [--stacks]``'s fast encoder writes exactly json.dumps(goroutine_dict(...)),
  and streams: its first goroutines are written before the last ones are unwound.
- The TUI's first screen shows the crashed goroutine's backtrace (as the runtime printed it) and a
  first page of the list without reading every goroutine; the rest follows, the 'where' column as
  the runtime's frames say.

No wall-clock figure is asserted here: benchmarks/bench.py prints them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from typing import Any

import pytest
from corpus import CoreCase, case_id, corpus_cases, make_core
from gotools import test_versions as go_versions
from oracle import block_problem, printed_name

from explorer.goruntime import backtraces as backtraces_mod
from explorer.goruntime.jsonlist import GoroutineJSON
from explorer.goruntime.model import goroutine_dict
from explorer.goruntime.process import GoProcess

SYSCALL_CASES = [("1.21.13", "opt", "panic"), ("1.24.11", "opt", "abort"), ("1.27.3", "stripped", "gonil")]


def _three_ways(core: Any, binary: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[GoProcess, GoProcess, GoProcess]:
    """The same core opened three times: every backtrace primed at once (numpy), one by one through
    shapes, and through the full unwinder alone."""
    monkeypatch.setattr(backtraces_mod, "PRIME_MIN", 0)  # vectorise even a handful
    many, one, full = (GoProcess.open(core, binary) for _ in range(3))
    full.__dict__["shapes"] = None
    many.prime_backtraces(many.goroutines)
    return many, one, full


def _check_same(core: Any, binary: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    many, one, full = _three_ways(core, binary, monkeypatch)
    try:
        shaped = 0
        for g in full.goroutines:
            want = full.backtrace(g)
            assert many.backtrace(g) == want, f"goroutine {g.id} (primed)"
            assert one.backtrace(g) == want, f"goroutine {g.id} (one by one)"
            shaped += many.stack_shape(g) is not None
            for stacks in (False, True):
                expected = json.dumps(goroutine_dict(full, g, stacks=stacks), separators=(",", ":"))
                assert GoroutineJSON(many, stacks).encode(g) == expected, f"goroutine {g.id} stacks={stacks}"
        return shaped
    finally:
        for p in (many, one, full):
            p.close()


#: Every version optimized; -N -l and stripped builds on the first, a middle and the last version.
CASES = corpus_cases(modes=["opt"]) + corpus_cases(
    versions=[v for v in ("1.21.13", "1.24.11", "1.27.3") if v in go_versions()], modes=["noopt", "stripped"])


@pytest.mark.parametrize("core_case", CASES, ids=case_id, indirect=True)
def test_shapes_and_fast_json_are_the_full_path(core_case: CoreCase, monkeypatch: pytest.MonkeyPatch) -> None:
    shaped = _check_same(core_case.core, core_case.binary, monkeypatch)
    if core_case.scenario == "waits":  # goroutines parked in a dozen ways: most go through shapes
        assert shaped >= len(core_case.trace.user_goroutines()) // 2


@pytest.mark.parametrize("case", SYSCALL_CASES, ids=lambda c: "-".join(c))
def test_shapes_of_goroutines_in_system_calls(case: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    version, mode, scenario = case
    core_case = make_core(version, mode, scenario, prog="syscalls")
    _check_same(core_case.core, core_case.binary, monkeypatch)


@pytest.fixture(scope="module")
def big() -> CoreCase:
    """1,000 goroutines parked in four ways (shared with test_inputs' mmap test)."""
    return make_core("1.24.11", "opt", "crash", ("1000", "300"), prog="bigcore")


class _Out:
    """A stdout that records, at each write, how many goroutines had been unwound."""

    def __init__(self, primed: list[int]) -> None:
        self.primed = primed
        self.writes: list[tuple[int, bytes]] = []
        self.buffer = self

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("not a file")

    def write(self, b: bytes) -> int:
        self.writes.append((self.primed[0], bytes(b)))
        return len(b)

    def flush(self) -> None:
        pass


def test_goroutines_json_is_streamed_and_matches_runtime(big: CoreCase, monkeypatch: pytest.MonkeyPatch) -> None:
    from explorer import cli_commands
    from explorer.cli import main

    primed = [0]
    real = GoProcess.prime_backtraces

    def counting(self: GoProcess, gs: Any) -> None:
        real(self, gs)
        primed[0] += len(gs)

    monkeypatch.setattr(GoProcess, "prime_backtraces", counting)
    monkeypatch.setattr(cli_commands, "JSON_BATCH", 128)
    out = _Out(primed)
    monkeypatch.setattr(sys, "stdout", out)
    assert main(["goroutines", "--json", "--stacks", str(big.core), str(big.binary)]) == 0
    text = b"".join(b for _, b in out.writes)
    gs = json.loads(text)
    printed = big.trace.user_goroutines()
    assert sorted(g["id"] for g in gs) == sorted(printed)
    # Streamed: goroutines were written while most were still to be unwound.
    first_goroutine = next(n for n, b in out.writes if b.startswith(b"{"))
    assert first_goroutine < len(gs) // 2
    for g in gs:  # as the runtime printed them (bigcore's stacks are shallow: never elided)
        block = next(b for b in big.trace.goroutines if b.id == g["id"] and b.frames)
        ours = g["frames"][len(g["frames"]) - len(block.frames):] if g["crashed"] else g["frames"]
        assert len(ours) == len(block.frames), g["id"]
        for f, rf in zip(ours, block.frames, strict=True):
            assert (printed_name(f["function"]), f["file"], f["line"], f["inlined"]) == \
                (rf.function, rf.file, rf.line, rf.inlined), g["id"]
            if rf.pc is not None:
                assert (f["pc"], f["sp"]) == (rf.pc, rf.sp), g["id"]


def test_tui_first_screen_reads_one_page(big: CoreCase, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first screen: the crashed goroutine's frames (as the runtime printed them) and the first
    page of goroutines, with allgs not read whole nor more than a couple of goroutines unwound;
    then every goroutine, each 'where' the first frame of the program's own code the runtime printed."""
    from test_tui import wait_for

    from explorer.goruntime import goroutines as goroutines_mod
    from explorer.tui.app import GoCoreApp
    from explorer.tui.navigation import FIRST_PAGE
    from explorer.tui.panes import GoroutineList
    from explorer.tui.session import Session

    gate = threading.Event()
    real = goroutines_mod.read_allgs

    def gated(*a: Any, **kw: Any) -> Any:
        if kw.get("limit") is None:  # the whole list: held until the first screen is checked
            gate.wait(60)
        return real(*a, **kw)

    monkeypatch.setattr(goroutines_mod, "read_allgs", gated)
    proc = GoProcess.open(big.core, big.binary)
    app = GoCoreApp(Session(proc))
    crashing = big.trace.crashing
    assert crashing is not None
    printed = big.trace.user_goroutines()

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for(pilot, lambda: app.first_screen and bool(app.frames), "first screen")
            await pilot.pause()
            gl = app.q(GoroutineList)
            assert "all_goroutines" not in proc.__dict__
            assert len(proc.__dict__.get("_bt_cache", {})) <= 2
            assert 0 < gl.row_count <= FIRST_PAGE + 1
            assert gl.current_goroutine().id == crashing.id == app.current_g.id
            block = next(b for b in big.trace.goroutines if b.id == crashing.id and b.frames)
            assert block_problem(block, app.frames, outer=True) is None
            assert not app.loaded
            gate.set()
            await wait_for(pilot, lambda: app.loaded and app.where_done, "every goroutine")
            await pilot.pause()
            assert gl.row_count == len(printed)
            assert gl.current_goroutine().id == crashing.id
            for g in app.goroutines:
                rg = printed[g.id]
                own = next((f for f in rg.frames if f.function.startswith("main.")), None)
                if own is None or g.id == crashing.id:
                    continue
                assert gl.where[g.addr] == (own.function, f"{os.path.basename(own.file)}:{own.line}"), g.id
            assert not app.internal_errors, app.internal_errors

    try:
        asyncio.run(main())
    finally:
        gate.set()
        proc.close()
