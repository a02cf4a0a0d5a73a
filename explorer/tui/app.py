"""The gocore-tui application: from "the service crashed" to "the request's bytes are in a file".

The first screen appears at once; the model loads in thread workers that post messages back (every
``@work`` lives on the app, so one handler turns any worker's error into a notification). Results
carry the goroutine and frame they were computed for, and stale ones are dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input
from textual.widgets.tree import TreeNode
from textual.worker import Worker, WorkerState, get_current_worker

from explorer.errors import ExplorerError
from explorer.render.values import named_children
from explorer.render.values import summary as value_summary
from explorer.tui import commands as cmds
from explorer.tui.guard import guarded
from explorer.tui.hexview import HexScreen, HexView, SearchDone, find_bytes, parse_pattern
from explorer.tui.lines import LineList
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
    value_label,
)
from explorer.tui.session import Session, Target, default_save_name
from explorer.tui.widgets import CommandLine, ConfirmDialog, HelpScreen, KeyBar, PromptDialog, SaveDialog

#: Children of one value shown at most (the rest is counted).
MAX_CHILDREN = 1000
#: How often the goroutine unwinder reports progress.
PROGRESS_EVERY = 0.15


# ---------------------------------------------------------------------------------------------------
# Messages from workers


class BacktraceReady(Message):
    def __init__(self, g: Any, frames: list[Any], std: list[bool], error: str | None, created_by: str | None,
                 frame: int | None) -> None:
        super().__init__()
        self.g, self.frames, self.std, self.error, self.created_by = g, frames, std, error, created_by
        self.frame = frame


class Loaded(Message):
    def __init__(self, goroutines: list[Any], crashed: Any, g: Any, error: str | None,
                 backtrace: BacktraceReady | None) -> None:
        super().__init__()
        self.goroutines, self.crashed, self.g, self.error = goroutines, crashed, g, error
        self.backtrace = backtrace


class SummaryReady(Message):
    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__()
        self.info = info


class WhereProgress(Message):
    def __init__(self, where: dict[int, tuple[str, str]], done: int, total: int) -> None:
        super().__init__()
        self.where, self.done, self.total = where, done, total


class GroupsReady(Message):
    def __init__(self, groups: list[GroupRow]) -> None:
        super().__init__()
        self.groups = groups


class FilterReady(Message):
    def __init__(self, text: str, keep: set[int] | None) -> None:
        super().__init__()
        self.text, self.keep = text, keep


class VarsReady(Message):
    def __init__(self, token: int, rows: list[tuple[Text, str, Any, bool]], message: str | None) -> None:
        super().__init__()
        self.token, self.rows, self.message = token, rows, message


class ChildrenReady(Message):
    def __init__(self, node: TreeNode[VarData], rows: list[tuple[Text, str, Any, bool]], more: int) -> None:
        super().__init__()
        self.node, self.rows, self.more = node, rows, more


class SourceReady(Message):
    def __init__(self, token: int, lines: list[Text] | None, line: int, title: str, message: str | None,
                 path: str = "") -> None:
        super().__init__()
        self.token, self.lines, self.line, self.title, self.message = token, lines, line, title, message
        self.path = path


class DisasmReady(Message):
    def __init__(self, token: int, listing: Any, current: int | None, message: str | None) -> None:
        super().__init__()
        self.token, self.listing, self.current, self.message = token, listing, current, message


class PrintReady(Message):
    def __init__(self, expr: str, label: Text, value: Any, has_children: bool, summary: str) -> None:
        super().__init__()
        self.expr, self.label, self.value, self.has_children, self.summary = expr, label, value, has_children, summary


class TargetReady(Message):
    """A byte range to show (``then`` = "hex") or to save (``then`` = a path)."""

    def __init__(self, target: Target, then: str) -> None:
        super().__init__()
        self.target, self.then = target, then


class Saved(Message):
    def __init__(self, path: str, size: int) -> None:
        super().__init__()
        self.path, self.size = path, size


# ---------------------------------------------------------------------------------------------------


def _key_label(keys: str) -> str:
    names = {"slash": "/", "question_mark": "?", "colon": ":", "escape": "esc", "pageup": "pgup",
             "pagedown": "pgdn"}
    return " ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


def binding_rows(bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
    """(keys, what) per action: ``up,k`` → ("up k", "Up")."""
    rows: dict[tuple[str, str], list[str]] = {}
    for b in Binding.make_bindings(bindings):
        what = b.tooltip or b.description or b.action
        rows.setdefault((b.action, what), []).append(_key_label(b.key))
    return [(" ".join(keys), what) for (_action, what), keys in rows.items()]


class MainScreen(Screen[None]):
    """Goroutines and backtrace on the left; variables, source and disassembly on the right."""

    def open_filter(self) -> None:
        """Show the goroutine filter and focus it at once (keys typed right after / land there)."""
        inp = self.query_one("#filter", Input)
        inp.display = True
        self.set_focus(inp)

    def compose(self) -> ComposeResult:
        yield CrashSummary(id="summary")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Vertical(id="goroutines-pane"):
                    yield Input(placeholder="filter: function, file, status, wait reason or id  (esc clears)",
                                id="filter")
                    yield GoroutineList(id="goroutines")
                yield BacktraceView(id="backtrace")
            with Vertical(id="right"):
                yield VariablesTree(id="variables")
                with Horizontal(id="code"):
                    yield SourceView(id="source")
                    yield DisasmView(id="disasm")
        yield CommandLine()
        yield KeyBar()

    @guarded
    def on_mount(self) -> None:
        self.query_one("#goroutines-pane").border_title = "Goroutines"
        self.query_one(BacktraceView).border_title = "Backtrace"
        self.query_one(VariablesTree).border_title = "Variables"
        self.query_one(SourceView).border_title = "Source"
        self.query_one(DisasmView).border_title = "Disassembly"
        self.query_one("#filter").display = False
        starter = getattr(self.app, "main_ready", None)
        if starter is not None:
            starter()


class GoCoreApp(App[None]):
    """The TUI on one core. ``goroutine``/``frame`` select where it starts (``-g``/``-f``)."""

    CSS_PATH = str(Path(__file__).with_name("app.tcss"))  # absolute: subclasses live elsewhere
    TITLE = "gocore-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", tooltip="Show every key and command"),
        # A priority binding: handled as the key arrives, so keys typed right after ":" land in the
        # command line (a normal binding runs only after the key went round the focused widget).
        Binding("colon", "command_line", ":cmd", priority=True,
                tooltip="Open the command line (goroutine, frame, print, x, save...)"),
        Binding("ctrl+g", "goto_goroutine", "Goroutine…", show=False, tooltip="Go to a goroutine by id"),
        Binding("ctrl+x", "examine", "Examine…", show=False, tooltip="Open the hex view at an address or expression"),
    ]
    MAIN_BINDINGS: ClassVar[list[tuple[str, str]]] = [
        ("tab shift+tab", "move between panes"),
        ("ctrl+p", "command palette (lists every command)"),
    ]

    def __init__(self, session: Session, *, goroutine: int | None = None, frame: int | None = None,
                 title: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.start_goroutine = goroutine
        self.start_frame = frame
        self.current_g: Any = None
        self.frames: list[Any] = []
        self.frame_index = 0
        self.token = 0
        self.loaded = False
        self.load_failed = False
        self.where_done = False
        self.frame_ready: dict[str, int] = {}
        self.goroutines: list[Any] = []
        self.groups: list[GroupRow] | None = None
        self.print_count = 0
        self.started = time.monotonic()
        self.internal_errors: list[BaseException] = []
        self.notices: list[tuple[str, str]] = []
        if title:
            self.sub_title = title

    # -- screens and widgets ---------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(id="main-screen")

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0] if self.screen_stack else None
        if not isinstance(screen, MainScreen):
            raise ExplorerError("main screen is not up")
        return screen

    def q(self, cls: type[Any]) -> Any:
        return self.main.query_one(cls)

    def main_ready(self) -> None:
        """The main screen is up: show it loading, and start the loader."""
        self.q(CrashSummary).show_loading(f"loading {self.session.proc.core.path.name}: goroutines…")
        self.q(GoroutineList).loading = True
        self.q(BacktraceView).focus()
        for w in self.session.proc.warnings:
            self.notify(w.message, severity="warning" if w.code != "build_id_mismatch" else "error", timeout=10)
        self.load()

    # -- worker errors ---------------------------------------------------------------------------

    @guarded
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        err = event.worker.error
        if isinstance(err, ExplorerError):
            msg = str(err)
        else:
            msg = f"internal error ({event.worker.name}): {type(err).__name__}: {err}"
            if err is not None:
                self.internal_errors.append(err)
        self.notify(msg, severity="error", timeout=8)
        if event.worker.group == "load":
            self.load_failed = True
            self.q(GoroutineList).loading = False
            self.q(BacktraceView).set_frames(None, [], [], f"could not read the goroutines: {msg}", None)
            self.summary()  # what can be said without them: signal, version, build ID

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is also kept in :attr:`notices` (the tests read them; so could a user)."""
        self.notices.append((str(severity), str(message)))
        del self.notices[:-200]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def report(self, err: BaseException) -> None:
        """Show an error as a notification: the user's (ExplorerError) as it is, a bug as one."""
        if isinstance(err, ExplorerError):
            self.notify(str(err), severity="error", timeout=6)
            return
        self.internal_errors.append(err)
        self.log.error("internal error", err)
        self.notify(f"internal error: {type(err).__name__}: {err}", severity="error", timeout=10)

    # -- loading ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        s = self.session
        with s.lock:
            gs = list(s.proc.goroutines)
            crashed = s.proc.crashed_goroutine
        g, error = crashed, None
        if self.start_goroutine is not None:
            try:
                with s.lock:
                    g = s.proc.goroutine(self.start_goroutine)
            except ExplorerError as e:
                error = f"-g {self.start_goroutine}: {e}"
        if g is None:
            g = next((x for x in gs if x.id == 1), gs[0] if gs else None)
        # The goroutines and the selected one's backtrace arrive together: one repaint, the first
        # screen complete.
        bt = self._backtrace_message(g, self.start_frame) if g is not None else None
        self.post_message(Loaded(gs, crashed, g, error, bt))

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
        self.loaded = True
        self.goroutines = msg.goroutines
        gl = self.q(GoroutineList)
        gl.loading = False
        gl.set_goroutines(msg.goroutines, msg.crashed.addr if msg.crashed is not None else None)
        if msg.error:
            self.notify(msg.error, severity="error")
        if msg.g is not None:
            self.current_g = msg.g
            gl.show_goroutine(msg.g)
        if msg.backtrace is not None:
            self.on_backtrace_ready(msg.backtrace)
        # The rest (summary, every goroutine's 'where') after the first screen is painted.
        self.call_after_refresh(self.summary)
        self.call_after_refresh(self.unwind_all)

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
        """Every goroutine's backtrace (for the 'where' column, filtering and grouping)."""
        worker = get_current_worker()
        s = self.session
        gs = self.goroutines
        chunk: dict[int, tuple[str, str]] = {}
        last = time.monotonic()
        for i, g in enumerate(gs):
            if worker.is_cancelled:
                return
            frames = s.proc.backtrace(g).frames
            if frames:
                f = frames[s.default_frame(frames)]
                chunk[g.addr] = (f.function, f"{os.path.basename(f.file)}:{f.line}")
            else:
                chunk[g.addr] = ("?", "")
            if time.monotonic() - last > PROGRESS_EVERY:
                self.post_message(WhereProgress(chunk, i + 1, len(gs)))
                chunk, last = {}, time.monotonic()
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
            self.select_goroutine(g)

    @on(LineList.Activated, "#goroutines")
    @guarded
    def _goroutine_activated(self, event: LineList.Activated) -> None:
        self.q(BacktraceView).focus()

    def select_goroutine(self, g: Any, frame: int | None = None) -> None:
        self.current_g = g
        self.q(BacktraceView).border_title = escape(f"Backtrace: goroutine {g.id} [{g.header_status}]")
        self.backtrace_worker(g, frame)

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
        thread = f" thread {g.thread}" if g.thread is not None else ""
        bt.border_title = escape(f"Backtrace: goroutine {g.id} [{g.header_status}]{thread}")
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
            if self.current_g is g and self.frames is msg.frames:
                self.select_frame(index)

        self.call_after_refresh(details)

    @on(LineList.CursorMoved, "#backtrace")
    @guarded
    def _frame_moved(self, event: LineList.CursorMoved) -> None:
        if event.index < len(self.frames) and event.index != self.frame_index:
            self.select_frame(event.index)

    @on(LineList.Activated, "#backtrace")
    @guarded
    def _frame_activated(self, event: LineList.Activated) -> None:
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
        vt.border_title = escape(f"Variables: frame {index} {f.function}")
        vt.clear_message("loading…")
        # Source and disassembly keep showing the previous frame until the new one is ready.
        self.q(SourceView).border_title = escape(f"Source: {os.path.basename(f.file)}:{f.line} (loading…)")
        self.q(DisasmView).border_title = "Disassembly (loading…)"
        self.vars_worker(self.token, self.current_g, index)
        self.source_worker(self.token, f)
        self.disasm_worker(self.token, f)

    # -- frame details ---------------------------------------------------------------------------

    def _label_rows(self, items: list[tuple[str, str, Any, str]]) -> list[tuple[Text, str, Any, bool]]:
        """(name, path, value, tag) → (label, path, value, has_children), under the lock."""
        rows = []
        with self.session.lock:
            for name, path, value, tag in items:
                try:
                    summary = value_summary(value)
                except ExplorerError as e:
                    summary = f"<{e}>"
                label = value_label(name, value, summary)
                if tag:
                    label = Text.assemble((f"{tag} ", "dim"), label)
                try:
                    has = bool(value.has_children)
                except ExplorerError:
                    has = False
                rows.append((label, path, value, has))
        return rows

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
        self.post_message(SourceReady(token, lines, f.line, title, None, f.file))

    @guarded
    def on_source_ready(self, msg: SourceReady) -> None:
        if msg.token != self.token:
            return
        sv = self.q(SourceView)
        if msg.lines is None:
            sv.set_message(msg.message or "no source", msg.title)
        else:
            sv.set_source(msg.lines, msg.line, msg.title, msg.path)
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

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def filter_worker(self, text: str) -> None:
        from explorer.goruntime.grouping import matches

        text = text.strip()
        if not text:
            self.post_message(FilterReady(text, None))
            return
        worker = get_current_worker()
        keep = set()
        for g in self.goroutines:
            if worker.is_cancelled:
                return
            if matches(self.session.proc, g, text):
                keep.add(g.addr)
        self.post_message(FilterReady(text, keep))

    @guarded
    def on_filter_ready(self, msg: FilterReady) -> None:
        inp = self.main.query_one("#filter", Input)
        if msg.text != inp.value.strip():
            return
        gl = self.q(GoroutineList)
        gl.set_filter(msg.keep)
        gl.set_subtitle(gl._subtitle())

    @on(GroupRequested)
    @guarded
    def _group_requested(self, msg: GroupRequested) -> None:
        gl = self.q(GoroutineList)
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

        groups = group_goroutines(self.session.proc, self.goroutines)
        self.post_message(GroupsReady([GroupRow(i, grp.status, list(grp.goroutines)) for i, grp in
                                       enumerate(groups)]))

    @guarded
    def on_groups_ready(self, msg: GroupsReady) -> None:
        self.groups = msg.groups
        gl = self.q(GoroutineList)
        gl.data.groups = msg.groups
        gl.apply_grouping(True)

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
        self.value_target_worker(data.path, data.value)

    @work(thread=True, group="target", exit_on_error=False)
    def value_target_worker(self, label: str, value: Any) -> None:
        self.post_message(TargetReady(self.session.value_target(label, value), "hex"))

    @work(thread=True, group="target", exit_on_error=False)
    def target_worker(self, text: str, length: int | None, then: str, g: Any, frame: int) -> None:
        self.post_message(TargetReady(self.session.target(text, g, frame, length), then))

    @guarded
    def on_target_ready(self, msg: TargetReady) -> None:
        t = msg.target
        if t.size > 1 << 32:
            self.notify(f"{t.label}: {t.size} bytes is too big to show", severity="error")
            return
        if msg.then == "hex":
            self.open_hex(t)
        else:
            self.request_save(t.addr, t.size, msg.then)

    def open_hex(self, target: Target) -> None:
        if isinstance(self.screen, HexScreen):
            self.screen.retarget(target)
            return
        self.push_screen(HexScreen(self.session.proc.memory, target))

    @on(HexView.SaveRequested)
    @guarded
    def _hex_save(self, event: HexView.SaveRequested) -> None:
        v = event.view
        name = default_save_name(v.target.label, event.addr - v.base, event.length, v.length, v.base)
        if event.whole:
            what = f"{v.target.label}: {event.length} bytes at {event.addr:#x}"
        else:
            what = f"{event.length} bytes at {event.addr:#x} (+{event.addr - v.base:#x} of {v.target.label})"

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

        self.push_screen(PromptDialog("Search", 'text, "quoted text", hex bytes (4f 52 44) or 0x4f5244'), done)

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

    # -- command line ----------------------------------------------------------------------------

    @guarded
    def action_command_line(self, text: str = "") -> None:
        if isinstance(self.focused, Input):  # typing a ':' into a field (x 0xc000:64, a path...)
            self.focused.insert_text_at_cursor(":")
            return
        lines = self.screen.query(CommandLine)
        if lines:  # dialogs have none: ":" means nothing there
            lines.first().open(text)

    @on(CommandLine.Run)
    @guarded
    def _run_command(self, event: CommandLine.Run) -> None:
        try:
            self.run_command(event.line)
        except ExplorerError as e:
            self.report(e)

    def run_command(self, line: str) -> None:
        c = cmds.parse(line)
        if c.name == "quit":
            self.exit()
            return
        if c.name == "help":
            self.action_help()
            return
        if not self.loaded and not self.load_failed:
            raise ExplorerError("still loading the goroutines: try again in a moment")
        if c.name in ("goroutine", "frame", "up", "down", "goroutines") and isinstance(self.screen, HexScreen):
            self.pop_screen()
        if c.name == "goroutine":
            assert c.number is not None
            with self.session.lock:
                g = self.session.proc.goroutine(c.number)
            if not self.q(GoroutineList).show_goroutine(g):
                self.notify(f"goroutine {g.id} is hidden by the filter", severity="warning")
            self.select_goroutine(g)
        elif c.name == "frame":
            assert c.number is not None
            self._goto_frame(c.number)
        elif c.name in ("up", "down"):
            assert c.number is not None
            self._goto_frame(self.frame_index + (c.number if c.name == "up" else -c.number))
        elif c.name == "print":
            self.print_worker(c.rest, self.current_g, self.frame_index)
        elif c.name == "x":
            self.target_worker(c.rest, c.length, "hex", self.current_g, self.frame_index)
        elif c.name == "save":
            assert c.path is not None
            self.target_worker(c.rest, None, c.path, self.current_g, self.frame_index)
        elif c.name == "goroutines":
            inp = self.main.query_one("#filter", Input)
            inp.value = c.rest
            inp.display = bool(c.rest)
            self.filter_worker(c.rest)
        elif c.name == "substitute-path":
            self.session.sources.add_rule(c.args[0], c.args[1])
            self.select_frame(self.frame_index)

    def _goto_frame(self, n: int) -> None:
        if not self.frames:
            raise ExplorerError("no frames")
        if not 0 <= n < len(self.frames):
            raise ExplorerError(f"no frame {n}: goroutine {self.current_g.id} has frames 0..{len(self.frames) - 1}")
        self.q(BacktraceView).set_cursor(n, notify=False)
        self.select_frame(n)

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

    # -- actions ---------------------------------------------------------------------------------

    @guarded
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return [
            ("Everywhere", binding_rows(GoCoreApp.BINDINGS) + list(self.MAIN_BINDINGS)),
            ("Lists: goroutines, backtrace, source, disassembly", binding_rows(LineList.BINDINGS)),
            ("Goroutines", binding_rows(GoroutineList.BINDINGS)),
            ("Backtrace", [*binding_rows(BacktraceView.BINDINGS), ("enter", "go to the frame's variables")]),
            ("Disassembly", [("enter", "hex view at the instruction's address")]),
            ("Variables", [("enter space", "expand or collapse (children load when opened)"),
                           ("up down", "move"), *binding_rows(VariablesTree.BINDINGS)]),
            ("Hex view", binding_rows(HexView.BINDINGS)),
            ("Dialogs", [("enter", "accept"), ("esc", "cancel"), ("ctrl+u", "clear the input")]),
            ("Command line", [(":", "open"), ("enter", "run"), ("up down", "history"), ("esc", "close")]),
        ]

    @guarded
    def action_goto_goroutine(self) -> None:
        self.action_command_line("goroutine ")

    @guarded
    def action_examine(self) -> None:
        self.action_command_line("x ")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Command line", "Open the : command line", self.action_command_line)
        yield SystemCommand("Goroutine…", "Select a goroutine by id (goroutine N)", self.action_goto_goroutine)
        yield SystemCommand("Frame up", "Select the caller's frame (up)", lambda: self._safe(self.run_command, "up"))
        yield SystemCommand("Frame down", "Select the callee's frame (down)",
                            lambda: self._safe(self.run_command, "down"))
        yield SystemCommand("Print…", "Evaluate an expression in the frame (print EXPR)",
                            lambda: self.action_command_line("print "))
        yield SystemCommand("Examine memory…", "Hex view at an expression or address (x EXPR|ADDR [LEN])",
                            self.action_examine)
        yield SystemCommand("Save bytes…", "Write a value's bytes or ADDR:LEN to a file (save EXPR PATH)",
                            lambda: self.action_command_line("save "))
        yield SystemCommand("Filter goroutines", "Show goroutines matching a function, file, status or id",
                            self._filter_requested)
        yield SystemCommand("Group goroutines", "Toggle grouping goroutines by stack",
                            lambda: self.post_message(GroupRequested(not self.q(GoroutineList).data.grouped)))
        yield SystemCommand("Help", "Show every key and command", self.action_help)

    def _safe(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except ExplorerError as e:
            self.report(e)
