"""Grouping, filtering and the traceback format of `goroutines`, and unwinding corrupted stacks."""

from __future__ import annotations

import json

import pytest
from corpus import CoreCase, parse_traceback
from test_goroutines import printed_name, status_words

from explorer.cli import main as cli_main
from explorer.core import Region
from explorer.core.memory import PRIO_CORE
from explorer.goruntime.process import GoProcess
from explorer.goruntime.unwind import MAX_FRAMES

VERSIONS = ["1.21.13", "1.24.11", "1.27.3"]


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> object:
    rc = cli_main(list(args))
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mode", ["opt", "stripped"])
def test_group_by_stack(corpus, version: str, mode: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    case: CoreCase = corpus(version, mode, "waits")
    groups = cli_json(capsys, "goroutines", "--group", "--json", str(case.core), str(case.binary))
    assert isinstance(groups, list)
    group_of = {gid: i for i, grp in enumerate(groups) for gid in grp["ids"]}
    assert sum(grp["count"] for grp in groups) == len(case.trace.user_goroutines())
    # The program started each kind of waiter from one place: each kind is one group of its own.
    kinds = case.ready["goroutines"]
    for kind, ids in kinds.items():
        assert len({group_of[i] for i in ids}) == 1, f"{kind} goroutines split over groups"
        grp = groups[group_of[ids[0]]]
        assert sorted(grp["ids"]) == sorted(ids), f"group of {kind} holds other goroutines"
        assert grp["status"] == status_words(case.trace.goroutine(ids[0]).status)


@pytest.mark.parametrize("text", ["chan receive", "IO wait", "sync.Mutex.Lock", "recvForever", "waiters.go"])
def test_filter(corpus, text: str, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    case: CoreCase = corpus("1.24.11", "opt", "waits")
    got = cli_json(capsys, "goroutines", "--json", "--filter", text, str(case.core), str(case.binary))
    assert isinstance(got, list)
    want = set()
    for gid, g in case.trace.user_goroutines().items():
        hay = [g.status] + [f.function for f in g.frames] + [f"{f.file}:{f.line}" for f in g.frames]
        if g.created_by:
            hay.append(g.created_by.function)
        if any(text.lower() in h.lower() for h in hay):
            want.add(gid)
    assert {g["id"] for g in got} == want
    assert want


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("scenario", ["panic", "waits", "httpabort"])
def test_traceback_format_reads_like_the_runtime(corpus, version: str, scenario: str,  # type: ignore[no-untyped-def]
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    case: CoreCase = corpus(version, "opt", scenario)
    rc = cli_main(["goroutines", "--format", "traceback", str(case.core), str(case.binary)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    ours = parse_traceback(out.out)  # the same parser that reads the runtime's own output
    printed = case.trace.user_goroutines()
    assert {g.id for g in ours.goroutines} == set(printed)
    for g in ours.goroutines:
        rg = printed[g.id]
        assert g.wait_reason == rg.wait_reason
        tail = g.frames[len(g.frames) - len(rg.frames):] if rg.frames else []
        for a, b in zip(tail, rg.frames, strict=True):
            assert (printed_name(a.function), a.file, a.line) == (b.function, b.file, b.line)
            if b.pc is not None:
                assert (a.pc, a.sp) == (b.pc, b.sp)
        if rg.created_by:
            assert g.created_by is not None
            assert (g.created_by.function, g.created_by.file, g.created_by.line) == (
                rg.created_by.function, rg.created_by.file, rg.created_by.line)


def _corrupt(proc: GoProcess, addr: int, data: bytes) -> None:
    proc.memory.add([Region(addr, addr + len(data), data, 0, PRIO_CORE + 1, source="test")])
    proc.__dict__.pop("_bt_cache", None)
    proc.__dict__.pop("_tbt_cache", None)


@pytest.mark.parametrize("version", VERSIONS)
def test_corrupted_stacks_end_in_a_marked_truncated_backtrace(corpus, version: str) -> None:  # type: ignore[no-untyped-def]
    case: CoreCase = corpus(version, "opt", "waits")
    with GoProcess.open(case.core, case.binary) as proc:
        parked = [g for g in proc.goroutines if g.status == "waiting" and g.thread is None]
        g = parked[0]
        good = proc.backtrace(g)
        assert not good.truncated
        # 1. A garbage return address.
        f1 = good.frames[1]
        _corrupt(proc, f1.fp - 8, (0xDEADBEEF).to_bytes(8, "little"))
        bt = proc.backtrace(g)
        assert bt.truncated and "unknown pc" in (bt.error or "")
        assert len(bt.frames) <= len(good.frames)
        # 2. A return address pointing into the stack's own frames (a loop in a naive unwinder):
        #    every frame of the goroutine's stack, then a stop at its end, never a hang.
        loop_pc = good.frames[0].pc
        _corrupt(proc, g.stack_lo, loop_pc.to_bytes(8, "little") * ((g.stack_hi - g.stack_lo) // 8))
        bt = proc.backtrace(g)
        assert bt.truncated and bt.error
        assert len(bt.frames) <= MAX_FRAMES
        # 3. A frame count limit is honoured.
        bt = proc.backtrace(g, max_frames=3)
        assert len(bt.frames) <= 3 + 4 and bt.truncated
        # 4. A garbage saved stack pointer: outside the goroutine's stack.
        g.sched_sp = 0x10
        proc.__dict__.pop("_bt_cache", None)
        bt = proc.backtrace(g)
        assert bt.truncated and bt.error
