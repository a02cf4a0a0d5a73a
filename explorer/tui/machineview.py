"""The machine-level ``:`` commands in the TUI (delve's words): ``stack``/``bt``, ``regs [-a]``,
``threads``, ``thread N``, ``locals``, ``args``, ``list [LOCATION]`` and ``disassemble [-a START
END | -l LOCATION]``.

What fits a pane goes there: ``stack`` maximizes the backtrace, ``locals``/``args`` put the
variables pane's cursor on the first of them, ``list`` and ``disassemble`` fill the source and
disassembly panes. What has no pane (registers, threads, a thread's own stack) opens a popup of
text lines, the same lines the command line prints (explorer.render.inspect). The model work runs
in thread workers; their results come back as messages.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label

from explorer.errors import ExplorerError
from explorer.tui.base import AppBase
from explorer.tui.guard import guarded
from explorer.tui.lines import LineList
from explorer.tui.panes import BacktraceView, DisasmView, SourceView, VariablesTree
from explorer.tui.safetext import plain


class TextLines(LineList):
    """Lines of text with a cursor (a popup's body)."""

    def __init__(self, lines: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = lines

    def on_mount(self) -> None:
        self.set_row_count(len(self.lines), max((len(x.expandtabs(8)) for x in self.lines), default=0) + 2)

    def row_text(self, index: int) -> Text:
        return plain(self.lines[index].expandtabs(8)) if index < len(self.lines) else Text("")


class TextPopup(ModalScreen[None]):
    """A titled popup of text lines; esc or q closes it, enter on a row runs ``on_enter(row)`` (a
    thread's row of ``threads`` opens ``thread N``)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, lines: list[str], on_enter: Callable[[int], None] | None = None,
                 hint: str = "esc closes") -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.on_enter = on_enter
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="text-popup"):
            yield Label(plain(self.title_text), classes="dialog-title")
            yield TextLines(self.lines, id="popup-lines")
            yield Label(plain(self.hint), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(TextLines).focus()

    @on(LineList.Activated, "#popup-lines")
    @guarded
    def _activated(self, event: LineList.Activated) -> None:
        if self.on_enter is not None:
            self.on_enter(event.index)

    @guarded
    def action_close(self) -> None:
        self.dismiss(None)


class PopupReady(Message):
    """A worker's text for a popup (``lwps``: the thread of each row, for ``threads``)."""

    def __init__(self, title: str, lines: list[str], lwps: list[int | None] | None = None) -> None:
        super().__init__()
        self.title = title
        self.lines = lines
        self.lwps = lwps


class PaneReady(Message):
    """A worker's listing for the source pane (``lines``) or the disassembly pane (``listing``)."""

    def __init__(self, pane: str, title: str, *, lines: list[Text] | None = None, line: int | None = None,
                 place: str = "", listing: Any = None, current: int | None = None) -> None:
        super().__init__()
        self.pane = pane
        self.title = title
        self.lines = lines
        self.line = line
        self.place = place
        self.listing = listing
        self.current = current


class MachineCommands(AppBase):
    """The ``:`` commands of the machine's view (see the module docstring)."""

    def _where(self) -> tuple[Any, list[Any], int]:
        if self.current_g is None or not self.frames:
            raise ExplorerError("no goroutine frame is selected")
        return self.current_g, list(self.frames), self.frame_index

    # -- panes -----------------------------------------------------------------------------------

    def show_stack(self) -> None:
        """``stack``/``bt``: the backtrace pane, focused and maximized (z restores the layout)."""
        bt = self.q(BacktraceView)
        bt.focus()
        if self.main.maximized is None:
            self.main.maximize(bt)

    def show_variables(self, kind: str) -> None:
        """``locals``/``args``: the variables pane, its cursor on the first local or argument."""
        vt = self.q(VariablesTree)
        prefix = "loc " if kind == "local" else "arg "
        for node in vt.root.children:
            if str(node.label.plain if isinstance(node.label, Text) else node.label).startswith(prefix):
                vt.focus()
                vt.move_cursor(node)
                return
        raise ExplorerError(f"frame {self.frame_index} has no {'locals' if kind == 'local' else 'arguments'}"
                            " (DWARF describes none at this pc)")

    def list_source(self, spec: str) -> None:
        """``list [LOCATION]``: the source pane around the frame's line or LOCATION's."""
        frame = self.frames[self.frame_index] if self.frames else None
        if not spec:
            self.q(SourceView).focus()
            return
        self.list_worker(spec, frame)

    @work(thread=True, exclusive=True, group="list", exit_on_error=False)
    def list_worker(self, spec: str, frame: Any) -> None:
        from explorer.goruntime.locations import resolve

        s = self.session
        loc = resolve(s.proc.pclntab, spec, frame)
        _src, lines = s.source_lines(loc.file)
        if not 1 <= loc.line <= len(lines):
            raise ExplorerError(f"{loc.file} has {len(lines)} lines, not {loc.line}")
        self.post_message(PaneReady("source", f"Source: {os.path.basename(loc.file)}:{loc.line} (list {spec})",
                                    lines=lines, line=loc.line, place=s.source_place(loc.file)))

    def disassemble(self, rng: tuple[int, int] | None, spec: str) -> None:
        """``disassemble``: the frame's function (focused), ``-l LOCATION``'s or ``-a START END``."""
        if rng is None and not spec:
            self.q(DisasmView).focus()
            return
        frame = self.frames[self.frame_index] if self.frames else None
        self.disasm_cmd_worker(rng, spec, frame)

    @work(thread=True, exclusive=True, group="disasm-cmd", exit_on_error=False)
    def disasm_cmd_worker(self, rng: tuple[int, int] | None, spec: str, frame: Any) -> None:
        from explorer.goruntime.locations import code_at, resolve
        from explorer.render.disasm import Listing, disassemble_range

        s = self.session
        pcln = s.proc.pclntab
        here = frame.pc if frame is not None else None
        if rng is not None:
            parts = disassemble_range(s.proc.memory.read, pcln, rng[0], rng[1], s.proc.arch, s.symbols,
                                      listing_of=lambda f: s.listing(f.entry))
            lines = [ln for _f, part in parts for ln in part.lines]
            errors = [p.error for _f, p in parts if p.error]
            listing = Listing(f"{rng[0]:#x}..{rng[1]:#x}", rng[0], rng[1], lines, errors[0] if errors else None)
            title = f"Disassembly: {rng[0]:#x}..{rng[1]:#x}"
        else:
            loc = resolve(pcln, spec, frame)
            pc = code_at(pcln, loc)
            listing = s.listing(pc)
            here = here if here is not None and listing.entry <= here < listing.end else pc
            title = f"Disassembly: {listing.function}"
        current = listing.index_of(here) if here is not None else None
        self.post_message(PaneReady("disasm", title, listing=listing, current=current))

    @guarded
    def on_pane_ready(self, msg: PaneReady) -> None:
        if msg.pane == "source":
            sv = self.q(SourceView)
            assert msg.lines is not None
            sv.set_source(msg.lines, msg.line, msg.title, msg.place)
            sv.focus()
        else:
            dv = self.q(DisasmView)
            dv.set_listing(msg.listing, msg.current)
            dv.border_title = plain(msg.title)
            dv.focus()

    # -- popups ----------------------------------------------------------------------------------

    def show_regs(self, extra: bool) -> None:
        """``regs [-a]``: a popup of the selected frame's registers (``extra``: every one the core holds)."""
        g, frames, index = self._where()
        self.regs_worker(g, frames, index, extra)

    @work(thread=True, exclusive=True, group="popup", exit_on_error=False)
    def regs_worker(self, g: Any, frames: list[Any], index: int, extra: bool) -> None:
        from explorer.goruntime.machine import frame_registers
        from explorer.render.inspect import code_registers, register_lines

        proc = self.session.proc
        regs = frame_registers(proc, frames, index, extra=extra)
        f = frames[index]
        how = "" if f.regs else " (as unwound)"
        self.post_message(PopupReady(f"Registers: goroutine {g.id} frame {index} {f.function}{how}",
                                     register_lines(regs, self._describe, code_registers(proc.core.arch_desc))))

    def _describe(self, pc: int) -> str | None:
        from explorer.render.inspect import describe_pc

        return describe_pc(self.session.proc.pclntab, pc)

    def show_threads(self) -> None:
        """``threads``: a popup of every thread; enter on one opens :meth:`show_thread`."""
        self.threads_worker()

    @work(thread=True, exclusive=True, group="popup", exit_on_error=False)
    def threads_worker(self) -> None:
        from explorer.goruntime.machine import thread_views
        from explorer.render.inspect import thread_lines

        with self.session.lock:
            views = thread_views(self.session.proc)
        lines = thread_lines(views, self._describe)
        self.post_message(PopupReady(f"Threads: {len(views)} (enter: the thread's registers and stack)", lines,
                                     [None, *(tv.lwp for tv in views)]))

    def show_thread(self, lwp: int, extra: bool = False) -> None:
        """``thread N``: a popup of thread ``lwp``'s registers and its own stack."""
        self.thread_worker(lwp, extra)

    @work(thread=True, exclusive=True, group="popup", exit_on_error=False)
    def thread_worker(self, lwp: int, extra: bool) -> None:
        from explorer.goruntime.machine import frame_registers, thread_view
        from explorer.render.inspect import code_registers, frame_lines, register_lines, signal_name

        proc = self.session.proc
        with self.session.lock:
            tv = thread_view(proc, lwp)
        frames = tv.backtrace.frames
        regs = frame_registers(proc, frames, 0, extra=extra) if frames else dict(tv.info.regs)
        g = f"goroutine {tv.goroutine}" if tv.goroutine is not None else "no goroutine"
        sig = f", in a {signal_name(tv.signal)} handler" if tv.signal is not None else ""
        lines = [*register_lines(regs, self._describe, code_registers(proc.core.arch_desc)), "", *frame_lines(frames)]
        if tv.backtrace.error:
            lines.append(f"...backtrace stopped: {tv.backtrace.error}")
        self.post_message(PopupReady(f"Thread {tv.lwp}{' (crashed)' if tv.crashed else ''}: {g}, on its "
                                     f"{tv.on} stack{sig}", lines))

    @guarded
    def on_popup_ready(self, msg: PopupReady) -> None:
        on_enter = None
        lwps = msg.lwps
        if lwps is not None:
            def on_enter(row: int) -> None:
                if 0 <= row < len(lwps) and lwps[row] is not None:
                    self.show_thread(lwps[row])  # type: ignore[arg-type]

        hint = "enter opens the thread · esc closes" if on_enter is not None else "esc closes"
        self.push_screen(TextPopup(msg.title, msg.lines, on_enter, hint))
