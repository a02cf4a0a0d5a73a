"""Goroutines in system calls when another goroutine crashes (tests/testprogs/syscalls).

Under GOTRACEBACK=crash every thread gets a signal before the core is written, so a thread whose
goroutine is blocked in read(2), write(2), recvfrom(2), accept(2) or a C call sits in a signal
handler in the core. The runtime prints such a goroutine from where it entered the system call
(``syscallpc/syscallsp``): so must we, while the thread's own view (signal frames, then the
interrupted system call) stays available as the thread's backtrace. Scenarios: a panic, a throw on
the system stack (``go of nil func value``) and a SIGABRT to the thread of a goroutine blocked in
read(2). The program is built with cgo: its extra M's g (``_Gdeadextra`` from 1.26, "waiting for
cgo callback") is not a goroutine the runtime prints, stripped builds included.
"""

from __future__ import annotations

import pytest
from corpus import MODES, case_id, corpus_cases, make_core
from oracle import crash_problems, goroutine_problems, runtime_stack_problems, thread_section_problems

from explorer.goruntime.process import GoProcess

SCENARIOS = ("panic", "gonil", "abort")
CASES = corpus_cases(modes=list(MODES), scenarios=SCENARIOS)
#: Goroutine kinds (the program's READY line) blocked in a system call or a C call.
IN_SYSCALL = {"pipe_read", "pipe_write", "socket_read", "socket_write", "udp_recvfrom", "tcp_accept", "cgo_call"}


def minor(version: str) -> int:
    return int(version.split(".")[1])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_syscall_goroutines_match_runtime(case: tuple[str, str, str]) -> None:
    version, mode, scenario = case
    core_case = make_core(version, mode, scenario, prog="syscalls")
    trace = core_case.trace
    kinds = core_case.ready["goroutines"]
    assert IN_SYSCALL <= set(kinds), kinds
    with GoProcess.open(core_case.core, core_case.binary) as proc:
        problems = goroutine_problems(proc, trace)
        problems += runtime_stack_problems(proc, trace)
        problems += thread_section_problems(proc, trace)
        problems += crash_problems(proc, core_case)
        assert not problems, f"{core_case.directory}:\n" + "\n".join(problems)
        relayed = len(trace.sections) > 1  # the other threads printed their stacks from a SIGQUIT
        for kind in IN_SYSCALL:
            (gid,) = kinds[kind]
            g = proc.goroutine(gid)
            assert g.status == "syscall" and g.syscallsp, (kind, g.status)
            frames = proc.backtrace(g).frames
            assert all(f.stack == "g" and f.signal is None for f in frames), (kind, [f.function for f in frames])
            ti = proc.thread_of(g)
            assert ti is not None, kind
            if relayed:  # the thread's own view: its signal handler, then what it interrupted
                thread = proc.thread_backtrace(ti).frames
                assert any(f.signal == 3 for f in thread), (kind, [f.function for f in thread])
        extra = [g for g in proc.all_goroutines if g.status == "waiting for cgo callback"]
        assert len(extra) == (1 if minor(version) >= 26 else 0), [(g.id, g.status) for g in extra]
        assert not any(g.addr == extra[0].addr for g in proc.goroutines) if extra else True
        crashed = proc.crashed_goroutine
        if scenario == "abort":  # SIGABRT to a thread in read(2): its goroutine crashed in the call
            assert crashed is not None and crashed.id == 1 and crashed.status == "syscall"
            frames = proc.backtrace(crashed).frames
            assert frames[0].stack == "gsignal" and frames[-1].function == "runtime.goexit"
        elif scenario == "gonil":  # the line of the go statement, past the system stack
            assert crashed is not None and crashed.id == 1
            site = next(f for f in trace.crashing.frames if f.function == "main.startNil")  # type: ignore[union-attr]
            frames = proc.backtrace(crashed).frames
            names = [f.function for f in frames]
            i = names.index("runtime.systemstack")
            assert names[i + 1] == "runtime.systemstack_switch" and frames[i].stack != "g"
            assert frames[i + 1].stack == "g"
            from explorer.goruntime.model import info_dict

            cs = info_dict(proc)["crash_site"]
            assert (cs["function"], cs["file"], cs["line"]) == ("main.startNil", site.file, site.line)
