"""The app's shared ground: its state, the main screen, and how errors become notifications.

The app is built in layers, one concern each (every layer a Textual ``App`` subclass, so its ``@on``
handlers and ``@work`` workers are registered as usual):

- :class:`AppBase` (here): state, widget lookup, error reporting;
- :class:`explorer.tui.navigation.Navigation`: loading, goroutines, frames and their details;
- :class:`explorer.tui.inspection.Inspection`: values, the hex view, search, save, print;
- :class:`explorer.tui.cmdline.CommandLineApp`: the ``:`` line, help and the command palette;
- :class:`explorer.tui.app.GoCoreApp`: bindings, CSS, start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from explorer.errors import ExplorerError
from explorer.render.values import summary as value_summary
from explorer.tui.crashlog import crash_line, write_crash_log
from explorer.tui.guard import guarded
from explorer.tui.panes import (
    BacktraceView,
    CrashSummary,
    DisasmView,
    GoroutineList,
    GroupRow,
    SourceView,
    VariablesTree,
    value_label,
)
from explorer.tui.safetext import safe
from explorer.tui.session import Session
from explorer.tui.widgets import CommandLine, KeyBar, LineInput


class GoroutinesPane(Vertical):
    """The goroutine list and its filter: maximized (z) as one pane."""

    ALLOW_MAXIMIZE = True


class MainScreen(Screen[None]):
    """Goroutines and backtrace on the left; variables, source and disassembly on the right.

    Below 120 columns (class ``-narrow``) source and disassembly stack instead of sharing a row,
    so each gets the right column's width; ``z`` maximizes the focused pane at any size."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("z", "toggle_maximize", "Zoom", tooltip="Maximize the focused pane, or restore the layout"),
        Binding("tab", "cycle(1)", "Next pane", show=False, tooltip="Next pane (stays maximized under z)"),
        Binding("shift+tab", "cycle(-1)", "Previous pane", show=False),
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 (Textual declares it)
    # A maximized pane keeps the command line and the key bar below it.
    ALLOW_IN_MAXIMIZED_VIEW = "CommandLine, KeyBar"

    @guarded
    def action_toggle_maximize(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

    @guarded
    def action_cycle(self, step: int) -> None:
        """tab / shift+tab; under z the next pane is maximized in place of this one."""
        big = self.maximized
        if big is not None:
            self.minimize()
        if step > 0:
            self.focus_next()
        else:
            self.focus_previous()
        if big is not None and self.focused is not None:
            self.maximize(self.focused)

    def open_filter(self, text: str | None = None) -> None:
        """Show the goroutine filter and focus it at once (keys typed right after / land there);
        ``text`` replaces what it holds, the cursor after it."""
        inp = self.query_one("#filter", Input)
        inp.display = True
        if text is not None:
            inp.value = text
            inp.cursor_position = len(text)
        self.set_focus(inp)

    def compose(self) -> ComposeResult:
        yield CrashSummary(id="summary")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with GoroutinesPane(id="goroutines-pane"):
                    yield LineInput(placeholder="filter: function, file, status, wait reason, id or key=value "
                                                "label; -with label K=V, -group label K  (esc clears)",
                                    id="filter", select_on_focus=False)
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


#: After SIGTERM or SIGHUP, the process ends at the latest this many seconds later.
SIGNAL_GRACE = 5.0


class AppBase(App[None]):
    """State and helpers every layer of the app uses."""

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
        self.loaded = False  # every goroutine is listed
        self.first_screen = False  # the first page of goroutines and a backtrace are shown
        #: Set with :attr:`loaded`, for workers that need every goroutine (filter, grouping).
        self.goroutines_complete = threading.Event()
        self.load_failed = False
        self.where_done = False
        self.frame_ready: dict[str, int] = {}
        self.goroutines: list[Any] = []
        self.groups: list[GroupRow] | None = None
        self.goroutine_labels: dict[int, str] = {}  # g address -> its pprof labels as shown
        self.labels_done = False
        self.print_count = 0
        self.started = time.monotonic()
        self.internal_errors: list[BaseException] = []
        self.notices: list[tuple[str, str]] = []
        #: After an unhandled error: the log file with its traceback, and the line that names it.
        self.crash_log: Path | None = None
        self.crash_message: str | None = None
        if title:
            self.sub_title = title

    # -- signals ---------------------------------------------------------------------------------

    def on_mount(self) -> None:
        # SIGTERM (kill, a shutdown) and SIGHUP (the terminal closed) end the app as q does, with the
        # terminal restored and no half-written file left: a save in progress stops and removes its
        # temporary file (Session.interrupt_saves; explorer.cli_tui waits for it).
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.on_signal, signum)

    def on_signal(self, signum: int) -> None:
        """End the app on a terminating signal; the exit status is the shell's 128 + signal."""
        self.session.interrupt_saves()
        # Leaving for good: a SIGCONT (a closed terminal sends one along with SIGHUP) must not make
        # Textual re-enter application mode half-way through its shutdown.
        for other in (signal.SIGCONT, signal.SIGTSTP):
            signal.signal(other, signal.SIG_DFL)
        # A terminal that is gone can also leave Textual's shutdown waiting on its output thread
        # for ever: after a grace period, end the process anyway (saves cleaned up first).
        threading.Thread(target=self._exit_anyway, args=(128 + signum,), name="gocore-tui-exit",
                         daemon=True).start()
        self.exit(return_code=128 + signum)

    def _exit_anyway(self, status: int) -> None:
        time.sleep(SIGNAL_GRACE)
        self.session.wait_saves(timeout=30)
        os._exit(status)

    # -- screens and widgets ---------------------------------------------------------------------

    @property
    def main(self) -> MainScreen:
        screen = self.screen_stack[0] if self.screen_stack else None
        if not isinstance(screen, MainScreen):
            raise ExplorerError("main screen is not up")
        return screen

    def q(self, cls: type[Any]) -> Any:
        return self.main.query_one(cls)

    # -- errors ------------------------------------------------------------------------------------------

    @staticmethod
    def worker_error_text(worker: Worker[Any]) -> str:
        """What a failed worker's error says: the user's (ExplorerError) as it is, a bug as one."""
        err = worker.error
        if isinstance(err, ExplorerError):
            return str(err)
        return f"internal error ({worker.name}): {type(err).__name__}: {err}"

    @guarded
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        err = event.worker.error
        if err is not None and not isinstance(err, ExplorerError):
            self.internal_errors.append(err)
        self.notify(self.worker_error_text(event.worker), severity="error", timeout=8)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Show a toast. Messages quote values, paths and errors (from the core or typed by the user):
        never markup, always escaped. Every notification is also kept in :attr:`notices` (the tests
        read them; so could a user)."""
        message, title = safe(str(message), keep_newlines=True), safe(str(title))
        self.notices.append((str(severity), message))
        del self.notices[:-200]
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def report(self, err: BaseException) -> None:
        """Show an error as a notification: the user's (ExplorerError) as it is, a bug as one."""
        if isinstance(err, ExplorerError):
            self.notify(str(err), severity="error", timeout=6)
            return
        self.internal_errors.append(err)
        self.log.error("internal error", err)
        self.notify(f"internal error: {type(err).__name__}: {err}", severity="error", timeout=10)

    def _handle_exception(self, error: Exception) -> None:
        """An error no handler caught (a rendering error, say): Textual ends the app and restores the
        terminal; instead of its traceback with locals (a core's data) on the terminal, the traceback
        goes to a log file and one line names it (:attr:`crash_message`); the return code is 1."""
        if self.crash_message is None:
            try:
                log = write_crash_log(error, f"core: {self.session.proc.core.path}")
            except Exception:  # the log is a courtesy: the app must still end cleanly
                log = None
            self.crash_log = log
            self.crash_message = crash_line(error, log)
        super()._handle_exception(error)
        # Textual's own report (a traceback rendered with locals) is dropped: the one line is
        # printed by the caller of run() (explorer.cli_tui), unwrapped, once the terminal is back.
        self._exit_renderables.clear()

    def _fatal_error(self) -> None:
        # Textual renders a full traceback here (that _handle_exception then drops): only end the app.
        self._close_messages_no_wait()

    def _safe(self, fn: Any, *args: Any) -> None:
        """``fn(*args)``, an ExplorerError shown as a notification."""
        try:
            fn(*args)
        except ExplorerError as e:
            self.report(e)

    # -- values ----------------------------------------------------------------------------------

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

