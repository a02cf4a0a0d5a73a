"""Comparing the model's goroutines and frames with what the Go runtime printed (tests/corpus.py's
RuntimeTrace). Shared by the corpus tests; every check returns the differences it found as text, so a
test can report all of them at once.

The rules (runtime/traceback.go, Go 1.21-1.27):

- every goroutine block the runtime printed with frames equals our backtrace of that goroutine,
  frame for frame (function as printed, file:line, inlined or not, pc/sp/fp and +offset where
  printed), except for the crashing goroutine: the runtime printed it from where its own print
  began (the panic, the signal's context...), which is the outer part of ours (ours starts at the
  crash machinery that ran after the print);
- a block with ``...N frames elided...`` printed the innermost 50 and the outermost 50 logical
  frames: ours has N frames between them;
- the ``runtime stack:`` of a throw on the system stack comes right before the crashing goroutine's
  frames in ours (the goroutine continues through ``runtime.systemstack_switch``);
- the blocks other threads printed in their SIGQUIT sections (``goroutine 0`` for an M's g0) are
  what our view of that thread shows right after its signal frame.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from corpus import CoreCase, RuntimeTrace
from corpus import Goroutine as PrintedGoroutine

from explorer.goruntime.model import info_dict
from explorer.goruntime.process import GoProcess
from explorer.goruntime.unwind import Frame


def printed_name(name: str) -> str:
    """The function name as the runtime's traceback prints it (funcNameForPrint, "panic")."""
    if name == "runtime.gopanic":
        return "panic"
    # Instantiated generic functions: shapes in brackets print as [...].
    out, depth = [], 0
    for ch in name:
        if ch == "[":
            if depth == 0:
                out.append("[...]")
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def status_words(text: str) -> str:
    """The bracket text without the minutes and the 'locked to thread' flag."""
    parts = [p.strip() for p in text.split(",")]
    keep = [p for p in parts if p != "locked to thread" and not re.fullmatch(r"\d+ minutes?", p)]
    return ", ".join(keep)


def _same_frame(rf: Any, f: Frame) -> str | None:
    """Why our frame ``f`` is not the printed frame ``rf`` (None if it is)."""
    if printed_name(f.function) != rf.function:
        return f"function {f.function} != {rf.function}"
    if (f.file, f.line) != (rf.file, rf.line):
        return f"{rf.function}: {f.file}:{f.line} != {rf.file}:{rf.line}"
    if f.inlined != rf.inlined:
        return f"{rf.function}: inlined {f.inlined} != {rf.inlined}"
    if rf.pc is not None and (f.pc, f.sp, f.fp) != (rf.pc, rf.sp, rf.fp):
        return (f"{rf.function}: pc/sp/fp {f.pc:#x}/{f.sp:#x}/{f.fp:#x} != "
                f"{rf.pc:#x}/{rf.sp:#x}/{rf.fp:#x}")
    if rf.offset is not None and f.offset != rf.offset:
        return f"{rf.function}: +{f.offset:#x} != +{rf.offset:#x}"
    return None


def _run_problem(printed: Sequence[Any], ours: Sequence[Frame], at: int) -> str | None:
    if at < 0 or at + len(printed) > len(ours):
        return f"{len(ours)} frames, the printed run of {len(printed)} does not fit at {at}"
    for i, rf in enumerate(printed):
        why = _same_frame(rf, ours[at + i])
        if why is not None:
            return f"frame {at + i}: {why}"
    return None


def _elided_count(block: PrintedGoroutine) -> int | None:
    m = re.fullmatch(r"\.\.\.(\d+) frames elided\.\.\.", block.elided[0]) if block.elided else None
    return int(m[1]) if m else None


def block_problem(block: PrintedGoroutine, ours: Sequence[Frame], *, outer: bool) -> str | None:
    """How our frames differ from one printed block (None: they agree). ``outer``: the printed
    frames need only be the outer part of ours (the crashing goroutine)."""
    frames = block.frames
    if not block.elided:
        if not outer and len(frames) != len(ours):
            return f"{len(ours)} frames, the runtime printed {len(frames)}"
        return _run_problem(frames, ours, len(ours) - len(frames))
    k = block.elided_at[0]
    head, tail = frames[:k], frames[k:]
    why = _run_problem(tail, ours, len(ours) - len(tail))
    if why is not None:
        return f"after the elision: {why}"
    n = _elided_count(block)
    if n is None:  # no count printed: the head is somewhere before the tail
        last = len(ours) - len(tail) - len(head)
        starts = range(last + 1) if outer else range(0, 1)
        if any(_run_problem(head, ours, at) is None for at in starts):
            return None
        return f"the {len(head)} frames before the elision are not in ours"
    at = len(ours) - len(tail) - n - len(head)
    if not outer and at != 0:
        return f"{len(ours)} frames, the runtime printed {len(head)} + {n} elided + {len(tail)}"
    why = _run_problem(head, ours, at)
    return None if why is None else f"before the elision: {why}"


def moved_on_problem(block: PrintedGoroutine, ours: Sequence[Frame]) -> str | None:
    """A goroutine printed runnable that ran on before the core was written: the function it was
    printed in is still its frame (further on in it), the printed callers are ours outermost, and
    what it called since (gopark...) is inside."""
    frames = block.frames
    if block.elided or not frames:
        return block_problem(block, ours, outer=True)
    at = len(ours) - len(frames)
    why = _run_problem(frames[1:], ours, at + 1)
    if why is not None:
        return why
    if at < 0 or printed_name(ours[at].function) != frames[0].function:
        return f"frame {at}: not in {frames[0].function}, where the runtime printed it"
    return None


def goroutine_problems(proc: GoProcess, trace: RuntimeTrace) -> list[str]:
    """Every difference between our goroutines and the runtime's print: ids, statuses, frames,
    creators."""
    problems: list[str] = []
    ours = {g.id: g for g in proc.goroutines}
    printed = trace.user_goroutines()
    if set(ours) != set(printed):
        problems.append(f"goroutine ids: ours only {sorted(set(ours) - set(printed))}, "
                        f"runtime's only {sorted(set(printed) - set(ours))}")
    crashed = proc.crashed_goroutine
    for gid, rg in printed.items():
        g = ours.get(gid)
        if g is None:
            continue
        # The wait reason (or status); the flags and extras the runtime adds (" (durable)",
        # ", synctest bubble N", minutes, "locked to thread") are not compared.
        # A goroutine the runtime printed waiting may have been readied (not run) before the core
        # was written: 1.21 dumps core only after every thread has printed its stack.
        woken = g.status == "runnable" and rg.wait_reason not in ("running", "runnable", "syscall")
        # And the other way: freezetheworld is best effort, so a goroutine printed runnable may have
        # been run by a thread not yet stopped, and parked again (1.24's finalizer goroutine, printed
        # at runfinq's entry, in the core in "finalizer wait"). Its printed frames must then be the
        # outer part of ours, as for the crashing goroutine.
        ran_on = rg.wait_reason == "runnable" and g.status == "waiting"
        if g.header_status != rg.wait_reason and not woken and not ran_on:
            problems.append(f"goroutine {gid}: status {g.header_status!r} != {rg.wait_reason!r} ({rg.status})")
        bt = proc.backtrace(g)
        is_crashed = crashed is not None and crashed.addr == g.addr
        if bt.error and not re.search(rf"runtime: g {gid}: (unexpected return pc|unknown pc)", trace.raw):
            problems.append(f"goroutine {gid}: backtrace error {bt.error}")
        for block in trace.goroutines:
            if block.id != gid or not block.frames:
                continue
            why = (moved_on_problem(block, bt.frames) if ran_on
                   else block_problem(block, bt.frames, outer=is_crashed))
            if why is not None:
                problems.append(f"goroutine {gid} ({'crashing, ' if is_crashed else ''}section {block.section}): "
                                f"{why}")
        problems += created_by_problems(proc, g, rg)
    return problems


def created_by_problems(proc: GoProcess, g: Any, rg: PrintedGoroutine) -> list[str]:
    cb = proc.created_by(g)
    if rg.created_by is None:
        return [] if cb is None else [f"goroutine {g.id}: creator {cb[0]}, the runtime printed none"]
    if cb is None:
        return [f"goroutine {g.id}: no creator, the runtime printed {rg.created_by.function}"]
    func, file, line, _pc = cb
    out = []
    if printed_name(func) != rg.created_by.function or (file, line) != (rg.created_by.file, rg.created_by.line):
        out.append(f"goroutine {g.id}: created by {func} {file}:{line}, the runtime printed "
                   f"{rg.created_by.function} {rg.created_by.file}:{rg.created_by.line}")
    if rg.created_by.goroutine is not None and g.parent_goid != rg.created_by.goroutine:
        out.append(f"goroutine {g.id}: parent {g.parent_goid} != {rg.created_by.goroutine}")
    return out


def runtime_stack_problems(proc: GoProcess, trace: RuntimeTrace) -> list[str]:
    """The ``runtime stack:`` frames are in our view of the crashed thread, and right before the
    crashing goroutine's own frames when there is one."""
    rs = trace.runtime_stack
    if not rs:
        return []
    ti = proc.crashed_thread
    if ti is None:
        return ["runtime stack printed, but no crashed thread"]
    crashed = proc.crashed_goroutine
    frames = proc.backtrace(crashed).frames if crashed is not None else proc.thread_backtrace(ti).frames
    block = trace.crashing
    if crashed is not None and block is not None and not block.elided:
        at = len(frames) - len(block.frames) - len(rs)
        why = _run_problem(rs, frames, at)
        return [] if why is None else [f"runtime stack before goroutine {crashed.id}: {why}"]
    if any(_run_problem(rs, frames, at) is None for at in range(len(frames) - len(rs) + 1)):
        return []
    return [f"runtime stack {[f.function for f in rs]} not in the crashed thread's "
            f"{[f.function for f in frames]}"]


def thread_section_problems(proc: GoProcess, trace: RuntimeTrace) -> list[str]:
    """What each other thread printed in its SIGQUIT section (the g it was on, from the signal's
    context) is what our view of that thread shows right after its last signal frame."""
    problems: list[str] = []
    off = proc.layout.offset("runtime.m", "id")
    by_mid = {}
    for ti in proc.thread_infos:
        if ti.m and off is not None:
            by_mid[proc.memory.read_uint(ti.m + off, 8)] = ti
    for section in trace.sections[1:]:
        if section.signal is None or section.signal.m is None or not section.goroutines:
            continue
        block = section.goroutines[0]
        if block.id != 0 and any(g.id == block.id and g.syscallsp for g in proc.goroutines):
            # A goroutine in a system call: the runtime printed it from where it entered the call
            # (traceback1), not from the signal's context; goroutine_problems compares that.
            continue
        ti = by_mid.get(section.signal.m)
        if ti is None:
            problems.append(f"section {block.section}: no thread runs m{section.signal.m}")
            continue
        frames = proc.thread_backtrace(ti).frames
        last_sig = max((i for i, f in enumerate(frames) if f.signal is not None), default=None)
        if last_sig is None:
            problems.append(f"thread {ti.tid} (m{section.signal.m}): no signal frame in "
                            f"{[f.function for f in frames]}")
            continue
        after = frames[last_sig + 1:]
        # The g the signal interrupted, then (when that was g0) the M's running goroutine from its
        # sched: together, what our view shows past the signal frame.
        printed = [f for b in section.goroutines for f in b.frames]
        if any(b.elided for b in section.goroutines):
            continue
        why = _run_problem(printed, after, 0)
        if why is None and section.goroutines[-1].id != 0 and len(after) != len(printed):
            why = f"{len(after)} frames after the signal frame, the runtime printed {len(printed)}"
        if why is not None:
            problems.append(f"thread {ti.tid} (m{section.signal.m}, goroutines "
                            f"{[b.id for b in section.goroutines]}): {why}")
    return problems


def crash_problems(proc: GoProcess, case: CoreCase) -> list[str]:
    """info's crashing goroutine, goroutine count and crash site against the runtime's print."""
    trace = case.trace
    info = info_dict(proc)
    problems = [f"info error: {e}" for e in info["errors"]]
    printed = trace.user_goroutines()
    if info["goroutines"] != len(printed):
        problems.append(f"info: {info['goroutines']} goroutines, the runtime printed {len(printed)}")
    crashing = trace.crashing
    if crashing is not None and crashing.id == 0:  # the signal hit an M's g0 (e.g. sysmon's): no goroutine
        crashing = None
    if info["crashed_goroutine"] != (crashing.id if crashing else None):
        problems.append(f"info: crashed goroutine {info['crashed_goroutine']}, the runtime printed "
                        f"{crashing.id if crashing else None} first")
    site = info["crash_site"]
    if crashing is not None:
        mine = next((f for f in crashing.frames if f.function.startswith("main.")), None)
        if mine is not None and (site is None or (site["function"], site["file"], site["line"]) !=
                                 (mine.function, mine.file, mine.line)):
            problems.append(f"info: crash site {site and (site['function'], site['line'])}, the program's "
                            f"innermost frame the runtime printed is {(mine.function, mine.line)}")
    elif trace.runtime_stack and (site is None or site["function"] not in {f.function for f in trace.runtime_stack}):
        problems.append(f"info: crash site {site and site['function']} is not in the runtime stack")
    return problems
