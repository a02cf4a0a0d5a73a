"""The value and byte path: from a variable, a frame or an instruction to the hex view; search and
go-to in it; saving a range; ``print``."""

from __future__ import annotations

import os
from typing import Any

from rich.text import Text
from textual import on, work
from textual.worker import get_current_worker

from explorer.errors import ExplorerError
from explorer.render.values import summary as value_summary
from explorer.tui.base import AppBase
from explorer.tui.guard import guarded
from explorer.tui.hexview import SEARCH_HINT, HexScreen, HexView, SearchDone, find_bytes, parse_pattern
from explorer.tui.lines import LineList
from explorer.tui.messages import PrintReady, Saved, TargetReady
from explorer.tui.panes import BacktraceView, DisasmView, VariablesTree
from explorer.tui.session import Target, default_save_name
from explorer.tui.widgets import ConfirmDialog, PromptDialog, SaveDialog


class Inspection(AppBase):
    """Values and bytes: hex view, search, save, print."""

    # -- hex view --------------------------------------------------------------------------------

    @on(BacktraceView.HexRequested)
    @guarded
    def _hex_for_frame(self, event: BacktraceView.HexRequested) -> None:
        f = event.frame
        self.open_hex(Target(f"frame {f.index} stack", f.sp, max(0, f.fp - f.sp), f"{f.function} sp..fp"))

    @on(LineList.Activated, "#disasm")
    @guarded
    def _hex_for_instruction(self, event: LineList.Activated) -> None:
        dv = self.q(DisasmView)
        if dv.listing is not None and event.index < len(dv.listing.lines):
            ln = dv.listing.lines[event.index]
            self.open_hex(Target(f"{ln.address:#x}", ln.address, 256, "code"))

    @on(VariablesTree.HexRequested)
    @guarded
    def _hex_for_node(self, event: VariablesTree.HexRequested) -> None:
        data = event.node.data
        if data is None or data.value is None:
            self.notify("no value here", severity="warning")
            return
        self.value_target_worker(data.path, data.value, "decode" if event.decode else "hex")

    # -- the heap screen -------------------------------------------------------------------------

    def action_heap(self, addr: int | None = None) -> None:
        from explorer.tui.heapscreen import HeapScreen

        self.push_screen(HeapScreen(self.session.proc, addr))

    @on(VariablesTree.HeapObjectRequested)
    @guarded
    def _heap_for_node(self, event: VariablesTree.HeapObjectRequested) -> None:
        data = event.node.data
        v = data.value if data is not None else None
        addr = getattr(v, "value", None) if getattr(v, "kind", None) == "ptr" else getattr(v, "data", None)
        if not isinstance(addr, int) or not addr:
            self.notify("not a pointer to the heap (a non-nil pointer, slice, string or map)", severity="warning")
            return
        self.action_heap(addr)

    @work(thread=True, group="target", exit_on_error=False)
    def value_target_worker(self, label: str, value: Any, then: str = "hex") -> None:
        self.post_message(TargetReady(self.session.value_target(label, value), then))

    @work(thread=True, group="target", exit_on_error=False)
    def target_worker(self, text: str, length: int | None, then: str, g: Any, frame: int) -> None:
        self.post_message(TargetReady(self.session.target(text, g, frame, length), then))

    @guarded
    def on_target_ready(self, msg: TargetReady) -> None:
        t = msg.target
        if t.size > 1 << 32:
            self.notify(f"{t.label}: {t.size} bytes is too big to show", severity="error")
            return
        if msg.then in ("hex", "decode"):
            self.open_hex(t, decode=msg.then == "decode")
        else:
            self.request_save(t.addr, t.size, msg.then)

    def open_hex(self, target: Target, *, decode: bool = False) -> None:
        """The hex view of ``target`` (with the decode pane open under it if ``decode``)."""
        if isinstance(self.screen, HexScreen):
            self.screen.retarget(target)
            if decode:
                self.screen.open_decode()
            return
        self.push_screen(HexScreen(self.session.proc.memory, target, decode=decode))

    @on(HexView.SaveRequested)
    @guarded
    def _hex_save(self, event: HexView.SaveRequested) -> None:
        v = event.view
        start = event.addr - v.base
        name = default_save_name(v.target.label, start, event.length, v.length, v.base)
        # The range as the status line shows it ([start:end), Go's slice bounds) and as the
        # proposed file name has it (label-start-end.bin).
        what = f"{v.target.label}: {event.length} bytes at {event.addr:#x}"
        if not event.whole:
            what = f"{v.target.label}[{start}:{start + event.length}]: {event.length} bytes at {event.addr:#x}"

        def done(answer: tuple[str, bool] | None) -> None:
            if answer is not None:
                self.save_worker(event.addr, event.length, answer[0], answer[1])

        self.push_screen(SaveDialog(what, name), done)

    def request_save(self, addr: int, size: int, path: str) -> None:
        """``:save``: confirm before overwriting, then write."""
        p = os.path.expanduser(path)
        if os.path.isdir(p):
            self.notify(f"{p} is a directory", severity="error")
            return
        if os.path.exists(p):
            def answered(yes: bool | None) -> None:
                if yes:
                    self.save_worker(addr, size, p, True)
                else:
                    self.notify(f"{p} exists: not overwritten", severity="warning")

            self.push_screen(ConfirmDialog(f"{p} exists. Overwrite it?"), answered)
            return
        self.save_worker(addr, size, p, False)

    @work(thread=True, group="save", exit_on_error=False)
    def save_worker(self, addr: int, size: int, path: str, force: bool) -> None:
        n = self.session.save(addr, size, path, force=force)
        self.post_message(Saved(path, n))

    @guarded
    def on_saved(self, msg: Saved) -> None:
        self.notify(f"saved {msg.size} bytes to {msg.path}", title="saved", timeout=6)

    @on(HexView.GotoRequested)
    @guarded
    def _hex_goto(self, event: HexView.GotoRequested) -> None:
        view = event.view

        def done(text: str | None) -> None:
            if not text or not text.strip():
                return
            self.goto_in_hex(view, text.strip())

        self.push_screen(PromptDialog("Go to", "ADDR, +OFFSET, EXPR, or any of them followed by a length",
                                      placeholder="0xc000012000  ·  +0x40  ·  body  ·  r.Header 64"), done)

    def goto_in_hex(self, view: HexView, text: str) -> None:
        from explorer.tui.session import parse_int

        head, _, last = text.rpartition(" ")
        length = parse_int(last) if head.strip() else None
        target_text = head.strip() if length is not None else text
        if target_text.startswith("+"):
            off = parse_int(target_text[1:])
            if off is None:
                self.notify(f"bad offset {target_text}", severity="error")
                return
            if off >= view.length:
                self.notify(f"+{off:#x} is past the end (+{view.length:#x})", severity="error")
                return
            view._move_to(off, False)
            return
        addr = parse_int(target_text)
        if addr is not None and length is None and view.base <= addr < view.base + view.length:
            view._move_to(addr - view.base, False)
            return
        self.target_worker(target_text, length, "hex", self.current_g, self.frame_index)

    @on(HexView.SearchRequested)
    @guarded
    def _hex_search(self, event: HexView.SearchRequested) -> None:
        view = event.view

        def done(text: str | None) -> None:
            if not text:
                return
            try:
                pattern = parse_pattern(text)
            except ExplorerError as e:
                self.report(e)
                return
            view.last_pattern = pattern
            self.search_worker(view, pattern, view.cursor)

        self.push_screen(PromptDialog("Search", SEARCH_HINT, placeholder="customer  ·  0xdeadbeef  ·  u32:0xdeadbeef"),
                         done)

    def hex_search_next(self, view: HexView) -> None:
        if view.last_pattern is not None:
            start = (view.selection[0] if view.selection else view.cursor) + 1
            self.search_worker(view, view.last_pattern, start)

    @work(thread=True, exclusive=True, group="hex-search", exit_on_error=False)
    def search_worker(self, view: HexView, pattern: bytes, start: int) -> None:
        """Search forward from ``start``, wrapping around to the beginning of the range."""
        worker = get_current_worker()
        base, end = view.base, view.base + view.length
        hit = find_bytes(view.memory.chunks, base + start, end, pattern, lambda: worker.is_cancelled)
        wrapped = False
        if hit is None and start > 0:
            hit = find_bytes(view.memory.chunks, base, min(end, base + start + len(pattern) - 1), pattern,
                             lambda: worker.is_cancelled)
            wrapped = hit is not None
        if not worker.is_cancelled:
            view.post_message(SearchDone(view, pattern, None if hit is None else hit - base, wrapped))


    @work(thread=True, group="print", exit_on_error=False)
    def print_worker(self, expr: str, g: Any, frame: int) -> None:
        value = self.session.evaluate(expr, g, frame)
        [(label, _path, _v, has)] = self._label_rows([(expr, expr, value, "")])
        with self.session.lock:
            summary = value_summary(value)
        self.post_message(PrintReady(expr, label, value, has, summary))

    @guarded
    def on_print_ready(self, msg: PrintReady) -> None:
        self.print_count += 1
        vt = self.q(VariablesTree)
        label = Text.assemble((f"${self.print_count} ", "bold magenta"), msg.label)
        node = vt.add_value(vt.root, label, msg.expr, msg.value, msg.has_children)
        self.call_after_refresh(vt.move_cursor, node)
        self.notify(f"{msg.expr} = {msg.summary}", title="print", timeout=8)

