"""The gocore-tui application: from "the service crashed" to "the request's bytes are in a file".

The first screen appears at once; the model loads in thread workers that post messages back (every
``@work`` lives on the app, so one handler turns any worker's error into a notification). Results
carry the goroutine and frame they were computed for, and stale ones are dropped.

The app is assembled from layers, one concern each: :mod:`explorer.tui.base` (state, errors, the
main screen), :mod:`explorer.tui.navigation` (goroutines, frames), :mod:`explorer.tui.inspection`
(values, hex view, save), :mod:`explorer.tui.cmdline` (the ``:`` line, help, palette).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.screen import Screen

from explorer.tui.base import MainScreen
from explorer.tui.cmdline import CommandLineApp, binding_rows
from explorer.tui.panes import BacktraceView, CrashSummary, GoroutineList

__all__ = ["GoCoreApp", "MainScreen", "binding_rows"]


class GoCoreApp(CommandLineApp):
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
        Binding("H", "heap", "Heap", show=False, tooltip="The heap: what fills memory, and who holds an object"),
    ]

    # -- screens and widgets ---------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(id="main-screen")

    def main_ready(self) -> None:
        """The main screen is up: show it loading, and start the loader."""
        self.q(CrashSummary).show_loading(f"loading {self.session.proc.core.path.name}: goroutines…")
        self.q(GoroutineList).loading = True
        self.q(BacktraceView).focus()
        for w in self.session.proc.warnings:
            self.notify(w.message, severity="warning" if w.code != "build_id_mismatch" else "error", timeout=10)
        self.load()

