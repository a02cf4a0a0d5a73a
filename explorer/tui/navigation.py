"""Navigation: loading the goroutines, selecting a goroutine and a frame, the frame's details
(variables, source, disassembly), filtering and grouping the goroutine list."""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.widgets import Input
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState, get_current_worker

from explorer.errors import ExplorerError
from explorer.render.values import named_children
from explorer.tui.base import AppBase
from explorer.tui.firstscreen import FIRST_SCREEN_ENV, note_first_screen
from explorer.tui.guard import guarded
from explorer.tui.lines import LineList
from explorer.tui.messages import (
    BacktraceReady,
    ChildrenReady,
    DisasmReady,
    FilterReady,
    GroupsReady,
    Loaded,
    SourceReady,
    SummaryReady,
    VarsReady,
    WhereProgress,
)
from explorer.tui.panes import (
    BacktraceView,
    CrashSummary,
    DisasmView,
    FilterRequested,
    GoroutineList,
    GroupRequested,
    GroupRow,
    SourceView,
    VarData,
    VariablesTree,
    full_status,
)
from explorer.tui.safetext import plain

#: Children of one value shown at most (the rest is counted).
MAX_CHILDREN = 1000
#: How often the goroutine unwinder reports progress.
PROGRESS_EVERY = 0.15
#: Seconds the goroutine list's cursor must rest, when it moves in quick succession, before the
#: goroutine's frame details are worked out.
DETAILS_DELAY = 0.15
#: Goroutines unwound together by unwind_all (prime_backtraces).
UNWIND_BATCH = 4096
#: Entries of allgs read for the first screen (the others are read once it is painted).
FIRST_PAGE = 200


def _settle_objects() -> None:
    """Move what exists now (100,000 goroutines, their backtraces' cache) out of the garbage
    collector's walks: they live as long as the app, and a full collection walking them all holds
    the screen for a quarter of a second while scrolling. (The decode pane's unfreeze puts them
    back; the next full collection then walks them once.)"""
    gc.freeze()


class Navigation(AppBase):
    """Goroutines, frames and the frame's details."""

    _details_timer: Any = None  # the pending frame details of a goroutine scrolled past (a Timer)
    _last_list_move = 0.0  # when the goroutine list's cursor last moved to another goroutine
    _defer_details_of: int | None = None  # the g (address) whose details wait for the cursor to rest

    @guarded
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The loader failed: say so in the backtrace pane, and show what the summary can say
        without the goroutines (AppBase's handler shows the notification)."""
        if event.state is not WorkerState.ERROR or event.worker.group != "load":
            return
        self.load_failed = True
        self.q(GoroutineList).loading = False
        msg = self.worker_error_text(event.worker)
        self.q(BacktraceView).set_frames(None, [], [], f"could not read the goroutines: {msg}", None)
        self.summary()  # what can be said without them: signal, version, build ID

    # -- loading ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        """The first screen: the crashed goroutine's backtrace and the first page of the list
        (reading 100,000 goroutines takes a second: :meth:`load_rest` reads them once it is
        painted). With ``-g`` the whole list is read first (the goroutine may be anywhere)."""
        s = self.session
        complete = self.start_goroutine is not None
        with s.lock:
            crashed = s.proc.crashed_goroutine
            gs = list(s.proc.goroutines) if complete else s.proc.goroutine_prefix(FIRST_PAGE)
        g, error = crashed, None
        if self.start_goroutine is not None:
            try:
                with s.lock:
                    g = s.proc.goroutine(self.start_goroutine)
            except ExplorerError as e:
                error = f"-g {self.start_goroutine}: {e}"
        if g is None:
            g = next((x for x in gs if x.id == 1), gs[0] if gs else None)
        if not complete and crashed is not None and all(x.addr != crashed.addr for x in gs):
            gs.insert(0, crashed)
        # The goroutines and the selected one's backtrace arrive together: one repaint, the first
        # screen complete.
        bt = self._backtrace_message(g, self.start_frame) if g is not None else None
        self.post_message(Loaded(gs, crashed, g, error, bt, complete))

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load_rest(self) -> None:
        """Every goroutine, after the first screen."""
        s = self.session
        with s.lock:
            gs = list(s.proc.goroutines)
            crashed = s.proc.crashed_goroutine
        _settle_objects()
        self.post_message(Loaded(gs, crashed, None, None, None, True))

    def _post_backtrace(self, g: Any, frame: int | None) -> None:
        self.post_message(self._backtrace_message(g, frame))

    def _backtrace_message(self, g: Any, frame: int | None) -> BacktraceReady:
        s = self.session
        bt = s.proc.backtrace(g)
        std = [s.is_std(f) for f in bt.frames]
        cb = s.proc.created_by(g)
        created = None
        if cb:
            parent = f" in goroutine {g.parent_goid}" if getattr(g, "parent_goid", None) else ""
            created = f"{cb[0]}{parent}  {os.path.basename(cb[1])}:{cb[2]}"
        return BacktraceReady(g, list(bt.frames), std, bt.error, created, frame)

    @guarded
    def on_loaded(self, msg: Loaded) -> None:
        first = not self.first_screen
        self.goroutines = msg.goroutines
        gl = self.q(GoroutineList)
        gl.loading = False
        gl.set_goroutines(msg.goroutines, msg.crashed.addr if msg.crashed is not None else None)
        if msg.complete:
            self.loaded = True
            self.goroutines_complete.set()
        else:
            gl.set_subtitle(f"{len(msg.goroutines)} shown, reading the others…")
        if msg.error:
            self.notify(msg.error, severity="error")
        if msg.g is not None:
            self.current_g = msg.g
        if self.current_g is not None:
            gl.show_goroutine(self.current_g)
        if msg.backtrace is not None:
            self.on_backtrace_ready(msg.backtrace)
        if first:
            self.first_screen = True
            if os.environ.get(FIRST_SCREEN_ENV):
                self.call_after_refresh(note_first_screen, self)
            # The rest (summary, every goroutine, their 'where') after the first screen is painted.
            self.call_after_refresh(self.summary)
        if not msg.complete:
            self.call_after_refresh(self.load_rest)
            return
        self.call_after_refresh(self.unwind_all)
        labels = getattr(self, "labels_worker", None)
        if labels is not None:
            self.call_after_refresh(labels)

    @work(thread=True, exclusive=True, group="summary", exit_on_error=False)
    def summary(self) -> None:
        from explorer.goruntime.model import info_dict

        with self.session.lock:
            try:
                info = info_dict(self.session.proc)
            except ExplorerError as e:
                info = self._basic_info(str(e))
        self.post_message(SummaryReady(info))

    def _basic_info(self, error: str) -> dict[str, Any]:
        """The summary from the core's notes and the executable alone (when the runtime's state
        cannot be read)."""
        from explorer.core.elfcore import SIGNAL_NAMES

        proc = self.session.proc
        si = proc.core.notes.siginfo
        signo = si.signo if si else None
        return {
            "executable": str(proc.exe.path), "go_version": proc.go_version, "arch": proc.core.arch,
            "signal": signo, "signal_name": SIGNAL_NAMES.get(signo, f"signal {signo}") if signo else None,
            "fault_address": si.addr if si else None, "go_signal": None, "crashed_goroutine": None,
            "goroutines": "?", "threads": len(proc.core.threads), "build_id_match": proc.build_id_match,
            "panic": None, "errors": [error],
        }

    @guarded
    def on_summary_ready(self, msg: SummaryReady) -> None:
        warnings = [(w.code, w.message) for w in self.session.proc.warnings]
        warnings += [("error", e) for e in msg.info.get("errors", [])]
        self.q(CrashSummary).show_info(msg.info, warnings)

    @work(thread=True, exclusive=True, group="unwind-all", exit_on_error=False)
    def unwind_all(self) -> None:
        """Every goroutine's backtrace (for the 'where' column, filtering and grouping): in
        batches unwound together (:meth:`GoProcess.prime_backtraces`), the 'where' of goroutines
        parked alike worked out once (per shared stack shape)."""
        worker = get_current_worker()
        s = self.session
        proc = s.proc
        gs = self.goroutines
        chunk: dict[int, tuple[str, str]] = {}
        last = time.monotonic()

        def where_of(frames: list[Any]) -> tuple[str, str]:
            if not frames:
                return ("?", "")
            f = frames[s.default_frame(frames)]
            return (f.function, f"{os.path.basename(f.file)}:{f.line}")

        for start in range(0, len(gs), UNWIND_BATCH):
            batch = gs[start : start + UNWIND_BATCH]
            proc.prime_backtraces(batch)
            for i, g in enumerate(batch, start):
                if worker.is_cancelled:
                    return
                hit = proc.stack_shape(g)
                if hit is not None:
                    chunk[g.addr] = hit[0].memo("tui-where", lambda shape: where_of(shape.backtrace(0).frames))
                else:
                    chunk[g.addr] = where_of(proc.backtrace(g).frames)
                if time.monotonic() - last > PROGRESS_EVERY:
                    self.post_message(WhereProgress(chunk, i + 1, len(gs)))
                    chunk, last = {}, time.monotonic()
        _settle_objects()
        self.post_message(WhereProgress(chunk, len(gs), len(gs)))

    @guarded
    def on_where_progress(self, msg: WhereProgress) -> None:
        gl = self.q(GoroutineList)
        gl.set_where(msg.where)
        if msg.done < msg.total:
            gl.set_subtitle(f"unwinding {msg.done}/{msg.total}")
        else:
            self.where_done = True
            gl.set_subtitle(gl._subtitle())

    # -- goroutine and frame selection -----------------------------------------------------------

    @on(LineList.CursorMoved, "#goroutines")
    @guarded
    def _goroutine_moved(self, event: LineList.CursorMoved) -> None:
        g = self.q(GoroutineList).current_goroutine()
        if g is not None and (self.current_g is None or g.addr != self.current_g.addr):
            # Scrolling through the goroutines (moves in quick succession) shows each one's
            # backtrace at once, but its frame's details (variables, highlighted source,
            # disassembly: the expensive part, in threads that would hold up the screen) only for
            # the one the cursor rests on.
            now = time.monotonic()
            scrolling = now - self._last_list_move < DETAILS_DELAY
            self._last_list_move = now
            self.select_goroutine(g)
            self._defer_details_of = g.addr if scrolling else None

    @on(LineList.Activated, "#goroutines")
    @guarded
    def _goroutine_activated(self, event: LineList.Activated) -> None:
        self.q(BacktraceView).focus()

    def select_goroutine(self, g: Any, frame: int | None = None) -> None:
        self.current_g = g
        self._defer_details_of = None
        self.set_backtrace_title(g, thread=False)
        self.backtrace_worker(g, frame)

    def set_backtrace_title(self, g: Any, *, thread: bool = True) -> None:
        """``Backtrace: goroutine N [status] thread T {labels}``; the labels also in the bottom
        border, where a narrow pane does not cut them after the status."""
        bt = self.q(BacktraceView)
        where = f" thread {g.thread}" if thread and g.thread is not None else ""
        labels = self.goroutine_labels.get(g.addr)
        suffix = f" {labels}" if labels else ""
        bt.border_title = plain(f"Backtrace: goroutine {g.id} [{full_status(g)}]{where}{suffix}")
        bt.border_subtitle = plain(f"labels {labels}") if labels else ""

    @work(thread=True, exclusive=True, group="backtrace", exit_on_error=False)
    def backtrace_worker(self, g: Any, frame: int | None) -> None:
        self._post_backtrace(g, frame)

    @guarded
    def on_backtrace_ready(self, msg: BacktraceReady) -> None:
        if self.current_g is None or msg.g.addr != self.current_g.addr:
            return
        g = msg.g
        self.frames = msg.frames
        bt = self.q(BacktraceView)
        self.set_backtrace_title(g)
        bt.set_frames(g, msg.frames, msg.std, msg.error, msg.created_by)
        if not msg.frames:
            self._clear_frame(msg.error or "no frames")
            return
        index = self.session.default_frame(msg.frames)
        if msg.frame is not None:
            if 0 <= msg.frame < len(msg.frames):
                index = msg.frame
            else:
                self.notify(f"goroutine {g.id} has no frame {msg.frame} (0..{len(msg.frames) - 1})",
                            severity="error")
        bt.set_cursor(index, notify=False, center=True)
        # Frame details after this repaint: the backtrace shows first.
        self.frame_index = index

        def details() -> None:
            self._details_timer = None
            if self.current_g is g and self.frames is msg.frames and self.frame_index == index:
                self.select_frame(index)

        if self._details_timer is not None:
            self._details_timer.stop()
            self._details_timer = None
        if self._defer_details_of == g.addr:  # scrolled to: see _goroutine_moved
            self._details_timer = self.set_timer(DETAILS_DELAY, details)
        else:
            self.call_after_refresh(details)

    @on(LineList.CursorMoved, "#backtrace")
    @guarded
    def _frame_moved(self, event: LineList.CursorMoved) -> None:
        if event.index < len(self.frames) and event.index != self.frame_index:
            self.select_frame(event.index)

    @on(LineList.Activated, "#backtrace")
    @guarded
    def _frame_activated(self, event: LineList.Activated) -> None:
        if event.index >= len(self.frames):  # "created by ... in goroutine N": a link
            follow = getattr(self, "follow_creator", None)
            if follow is not None:
                follow()
            return
        self.q(VariablesTree).focus()

    def _clear_frame(self, why: str) -> None:
        self.q(VariablesTree).clear_message(why)
        self.q(SourceView).set_message(why)
        self.q(DisasmView).set_message(why)

    def select_frame(self, index: int) -> None:
        """Show frame ``index`` of the current goroutine: variables, source, disassembly."""
        if not self.frames:
            return
        index = max(0, min(index, len(self.frames) - 1))
        self.frame_index = index
        self.token += 1
        self.frame_ready = {}
        f = self.frames[index]
        vt = self.q(VariablesTree)
        vt.border_title = plain(f"Variables: frame {index} {f.function}")
        vt.clear_message("loading…")
        # Source and disassembly keep showing the previous frame until the new one is ready.
        self.q(SourceView).border_title = plain(f"Source: {os.path.basename(f.file)}:{f.line} (loading…)")
        self.q(DisasmView).border_title = "Disassembly (loading…)"
        self.vars_worker(self.token, self.current_g, index)
        self.source_worker(self.token, f)
        self.disasm_worker(self.token, f)

    # -- frame details ---------------------------------------------------------------------------


    @work(thread=True, exclusive=True, group="vars", exit_on_error=False)
    def vars_worker(self, token: int, g: Any, index: int) -> None:
        try:
            variables = self.session.variables(g, index)
        except ExplorerError as e:
            self.post_message(VarsReady(token, [], str(e)))
            return
        items = [(v.name, v.name, v.value, "arg" if v.kind == "arg" else "loc") for v in variables]
        rows = self._label_rows(items)
        self.post_message(VarsReady(token, rows, None if rows else "no arguments or locals"))

    @guarded
    def on_vars_ready(self, msg: VarsReady) -> None:
        if msg.token != self.token:
            return
        vt = self.q(VariablesTree)
        vt.clear()
        for label, path, value, has in msg.rows:
            vt.add_value(vt.root, label, path, value, has)
        if msg.message:
            vt.root.add_leaf(Text(msg.message, style="dim italic"))
        vt.root.expand()
        if msg.rows:
            vt.move_cursor(vt.root.children[0])
        self.frame_ready["vars"] = msg.token

    @on(VariablesTree.LoadChildren)
    @guarded
    def _load_children(self, event: VariablesTree.LoadChildren) -> None:
        self.children_worker(event.node)

    @work(thread=True, group="children", exit_on_error=False)
    def children_worker(self, node: TreeNode[VarData]) -> None:
        data = node.data
        assert data is not None
        try:
            with self.session.lock:
                children = list(named_children(data.value))
        except ExplorerError:
            self.post_message(ChildrenReady(node, [], 0))
            raise
        more = max(0, len(children) - MAX_CHILDREN)
        items = []
        for name, value in children[:MAX_CHILDREN]:
            path = f"{data.path}{name}" if name.startswith("[") else f"{data.path}.{name}"
            items.append((name, path, value, ""))
        self.post_message(ChildrenReady(node, self._label_rows(items), more))

    @guarded
    def on_children_ready(self, msg: ChildrenReady) -> None:
        if msg.node.tree is not None:
            self.q(VariablesTree).fill_children(msg.node, msg.rows, msg.more)

    @work(thread=True, exclusive=True, group="source", exit_on_error=False)
    def source_worker(self, token: int, f: Any) -> None:
        title = f"Source: {os.path.basename(f.file)}:{f.line}"
        try:
            _src, lines = self.session.source_lines(f.file)
        except ExplorerError as e:
            self.post_message(SourceReady(token, None, f.line, f"Source: {os.path.basename(f.file)}:{f.line}",
                                          str(e)))
            return
        self.post_message(SourceReady(token, lines, f.line, title, None, self.session.source_place(f.file)))

    @guarded
    def on_source_ready(self, msg: SourceReady) -> None:
        if msg.token != self.token:
            return
        sv = self.q(SourceView)
        if msg.lines is None:
            sv.set_message(msg.message or "no source", msg.title)
        else:
            sv.set_source(msg.lines, msg.line, msg.title, msg.place)
        self.frame_ready["source"] = msg.token

    @work(thread=True, exclusive=True, group="disasm", exit_on_error=False)
    def disasm_worker(self, token: int, f: Any) -> None:
        try:
            listing = self.session.listing(f.pc)
        except ExplorerError as e:
            self.post_message(DisasmReady(token, None, None, str(e)))
            return
        current = listing.index_of(f.sym_pc or f.pc)
        self.post_message(DisasmReady(token, listing, current, None))

    @guarded
    def on_disasm_ready(self, msg: DisasmReady) -> None:
        if msg.token != self.token:
            return
        dv = self.q(DisasmView)
        if msg.listing is None:
            dv.set_message(msg.message or "no code")
        else:
            dv.set_listing(msg.listing, msg.current)
        self.frame_ready["disasm"] = msg.token

    # -- goroutine filter and grouping -----------------------------------------------------------

    @on(FilterRequested)
    @guarded
    def _filter_requested(self) -> None:
        self.main.open_filter()

    @on(Input.Changed, "#filter")
    @guarded
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_worker(event.value)

    @on(Input.Submitted, "#filter")
    @guarded
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.main.query_one("#filter", Input).display = False
        self.q(GoroutineList).focus()

    @guarded
    def on_key(self, event: Any) -> None:
        # Escape in the filter clears it and returns to the list.
        if event.key == "escape" and isinstance(self.focused, Input) and self.focused.id == "filter":
            event.stop()
            self.focused.value = ""
            self.focused.display = False
            self.q(GoroutineList).focus()

    def _wait_complete(self, worker: Any) -> bool:
        """In a worker: wait until every goroutine is listed; False if the worker was cancelled (or
        the list never came)."""
        while not self.goroutines_complete.wait(0.1):
            if worker.is_cancelled or self.load_failed:
                return False
        return True

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def filter_worker(self, text: str) -> None:
        """The filter's words (explorer.goruntime.filters): text, -with/-without label, -group label."""
        from explorer.goruntime.filters import group_by_label, parse_query

        text = text.strip()
        try:
            query = parse_query(text)
        except ExplorerError as e:
            self.post_message(FilterReady(text, None, None, str(e)))
            return
        worker = get_current_worker()
        if not self._wait_complete(worker):
            return
        keep: set[int] | None = None
        if query.filters:
            keep = set()
            for g in self.goroutines:
                if worker.is_cancelled:
                    return
                if query.keep(self.session.proc, g):
                    keep.add(g.addr)
        label_groups = None
        if query.group_label is not None:
            groups = group_by_label(self.session.proc, self.goroutines, query.group_label)
            label_groups = (query.group_label, [GroupRow(i, grp.status, list(grp.goroutines), label=True)
                                                for i, grp in enumerate(groups)])
        self.post_message(FilterReady(text, keep, label_groups))

    @guarded
    def on_filter_ready(self, msg: FilterReady) -> None:
        inp = self.main.query_one("#filter", Input)
        if msg.text != inp.value.strip():
            return
        gl = self.q(GoroutineList)
        if msg.error is not None:  # half-typed words (-with label): say why, and keep the list as it is
            gl.set_subtitle(f"filter: {msg.error}")
            return
        key, groups = msg.label_groups if msg.label_groups is not None else (None, None)
        gl.set_filter(msg.keep, key, groups)  # its rebuild sets the subtitle

    @on(GroupRequested)
    @guarded
    def _group_requested(self, msg: GroupRequested) -> None:
        gl = self.q(GoroutineList)
        if gl.data.group_label is not None:  # grouped by label: G ungroups (drops -group from the filter)
            from explorer.goruntime.filters import without_group

            inp = self.main.query_one("#filter", Input)
            inp.value = without_group(inp.value)
            inp.display = bool(inp.value)
            self.filter_worker(inp.value)
            return
        if not msg.grouped:
            gl.apply_grouping(False)
            return
        if self.groups is not None:
            gl.apply_grouping(True)
            return
        gl.set_subtitle("grouping…")
        self.groups_worker()

    @work(thread=True, exclusive=True, group="groups", exit_on_error=False)
    def groups_worker(self) -> None:
        from explorer.goruntime.grouping import group_goroutines

        if not self._wait_complete(get_current_worker()):
            return
        groups = group_goroutines(self.session.proc, self.goroutines)
        self.post_message(GroupsReady([GroupRow(i, grp.status, list(grp.goroutines)) for i, grp in
                                       enumerate(groups)]))

    @guarded
    def on_groups_ready(self, msg: GroupsReady) -> None:
        self.groups = msg.groups
        gl = self.q(GoroutineList)
        gl.data.groups = msg.groups
        gl.apply_grouping(True)

