"""The machine-level ``:`` commands in the TUI (Textual's pilot), against the same oracles as
tests/test_inspect.py: the frame the TUI opens on is the Go runtime's innermost frame of the
program's own code; ``:regs`` shows the runtime's printed pc and sp of the frame; ``:threads`` lists
gdb's LWPs and enter opens a thread whose stack past its signal frame is the runtime's section for
it; ``:list`` shows the source file's line; ``:disassemble`` the instructions of ``go tool
objdump``; ``:locals``/``:args`` and ``:stack`` move to their panes.
"""

from __future__ import annotations

import re
from typing import Any

from oracle import printed_name
from test_inspect import PRIMARY, _thread_by_m, abort_case, gdb_threads, objdump
from test_tui import command, make_app, run, wait_for

from explorer.goruntime.process import GoProcess
from explorer.tui.machineview import TextPopup
from explorer.tui.panes import BacktraceView, DisasmView, SourceView, VariablesTree


def test_machine_commands_in_the_tui() -> None:
    case = abort_case(PRIMARY)
    crashing = case.trace.crashing
    assert crashing is not None
    mine = next(f for f in crashing.frames if f.function.startswith("main."))
    functions, _gdb = gdb_threads(case)
    with GoProcess.open(case.core, case.binary) as proc:
        by_m = _thread_by_m(proc)
    section = next(s for s in case.trace.sections[1:] if s.signal is not None and s.signal.m in by_m)
    assert section.signal is not None and section.signal.m is not None
    other = by_m[section.signal.m]
    want_dis = objdump(case.version, case.binary, "main.processOrder")
    app = make_app(case.core, case.binary)

    async def popup(pilot: Any, line: str, title: str) -> TextPopup:
        await command(pilot, line)
        await wait_for(pilot, lambda: isinstance(app.screen, TextPopup) and app.screen.title_text.startswith(title),
                       line)
        assert isinstance(app.screen, TextPopup)
        return app.screen

    async def close(pilot: Any) -> None:
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TextPopup), "popup closed")

    async def body(pilot: Any) -> None:
        f = app.frames[app.frame_index]
        assert (f.function, f.file, f.line) == (mine.function, mine.file, mine.line)
        # :regs at the selected frame: the runtime's pc and sp of it
        p = await popup(pilot, "regs", f"Registers: goroutine {app.current_g.id} frame {app.frame_index}")
        regs = {m[1]: int(m[2], 16) for m in map(re.compile(r"^\s*(\w+) = (0x[0-9a-f]+)").match, p.lines) if m}
        assert (regs["rip"], regs["rsp"]) == (mine.pc, mine.sp)
        await close(pilot)
        # :threads: gdb's LWPs; enter on the other thread's row opens it: its stack past the signal
        # frame is what the runtime printed for it
        p = await popup(pilot, "threads", "Threads:")
        rows = [int(ln.split()[1] if ln.startswith("*") else ln.split()[0]) for ln in p.lines[1:]]
        assert set(rows) == set(functions)
        for _ in range(rows.index(other) + 1):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPopup) and
                       app.screen.title_text.startswith(f"Thread {other}"), "thread popup")
        text = "\n".join(app.screen.lines)
        after = text.split("[signal SIGQUIT]")[-1]
        names = re.findall(r"^\s+\d+  (\S+)\(", after, re.M)
        printed = [fr.function for b in section.goroutines for fr in b.frames]
        assert [printed_name(n) for n in names][: len(printed)] == printed
        await pilot.press("escape")  # back to the threads
        await wait_for(pilot, lambda: isinstance(app.screen, TextPopup) and
                       app.screen.title_text.startswith("Threads:"), "threads popup again")
        await close(pilot)
        # :thread N -a: x87/SSE registers from the core
        p = await popup(pilot, f"thread {other} -a", f"Thread {other}")
        assert any(ln.strip().startswith("xmm15 = ") for ln in p.lines)
        await close(pilot)
        # :list FUNC: the source pane at its func line
        decl = next(i for i, t in enumerate(open(mine.file).read().splitlines(), 1)
                    if t.startswith("func processOrder("))
        await command(pilot, "list processOrder")
        sv = app.query_one(SourceView)
        await wait_for(pilot, lambda: "list processOrder" in str(sv.border_title), ":list")
        assert sv.current == decl and app.focused is sv
        assert sv.lines[decl - 1].plain.strip().startswith("func processOrder(")
        # :disassemble -l and -a: go tool objdump's instructions
        dv = app.query_one(DisasmView)
        await command(pilot, "disassemble -l main.processOrder")
        await wait_for(pilot, lambda: str(dv.border_title) == "Disassembly: main.processOrder", ":disassemble -l")
        assert [ln.address for ln in dv.listing.lines] == [w[2] for w in want_dis]
        await command(pilot, f"disassemble -a {want_dis[3][2]:#x} {want_dis[8][2]:#x}")
        await wait_for(pilot, lambda: "Disassembly: 0x" in str(dv.border_title), ":disassemble -a")
        assert [ln.address for ln in dv.listing.lines] == [w[2] for w in want_dis[3:8]]
        # :locals, :args, :stack: their panes
        vt = app.query_one(VariablesTree)
        await command(pilot, "locals")
        assert app.focused is vt and vt.cursor_node is not None and vt.cursor_node.label.plain.startswith("loc ")
        await command(pilot, "args")
        assert vt.cursor_node is not None and vt.cursor_node.label.plain.startswith("arg ")
        await command(pilot, "stack")
        assert app.focused is app.query_one(BacktraceView) and app.screen.maximized is app.focused

    run(app, body)
