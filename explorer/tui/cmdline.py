"""The ``:`` command line (delve's words, parsed by :mod:`explorer.tui.commands`), the help screen
and the command palette."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from explorer.errors import ExplorerError
from explorer.tui import commands as cmds
from explorer.tui.base import MainScreen
from explorer.tui.decodepane import DecodePane, DecodeTree
from explorer.tui.guard import guarded
from explorer.tui.hexview import HexScreen, HexView
from explorer.tui.inspection import Inspection
from explorer.tui.lines import LineList
from explorer.tui.links import Links
from explorer.tui.machineview import MachineCommands
from explorer.tui.panes import BacktraceView, GoroutineList, GroupRequested, VariablesTree
from explorer.tui.widgets import CommandLine, HelpScreen


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


class CommandLineApp(MachineCommands, Inspection, Links):
    """The ``:`` line and the palette drive the other layers."""

    #: Rows of the help's "Everywhere" section besides the app's own bindings.
    MAIN_BINDINGS: ClassVar[list[tuple[str, str]]] = [
        ("tab shift+tab", "move between panes"),
        ("ctrl+p", "command palette (lists every command)"),
    ]

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
        # The first screen (the crashed goroutine, its frames) serves every command but goroutine N,
        # which needs the whole list (read behind it).
        if not self.loaded and not self.load_failed and (c.name == "goroutine" or not self.first_screen):
            raise ExplorerError("still loading the goroutines: try again in a moment")
        if c.name in ("goroutine", "frame", "up", "down", "goroutines", "stack", "locals", "args", "list",
                      "disassemble") and isinstance(self.screen, HexScreen):
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
        elif c.name == "stack":
            self.show_stack()
        elif c.name == "regs":
            self.show_regs("-a" in c.flags)
        elif c.name == "threads":
            self.show_threads()
        elif c.name == "thread":
            assert c.number is not None
            self.show_thread(c.number, "-a" in c.flags)
        elif c.name in ("locals", "args"):
            self.show_variables("local" if c.name == "locals" else "arg")
        elif c.name == "list":
            self.list_source(c.rest)
        elif c.name == "disassemble":
            self.disassemble(c.span, c.rest if "-l" in c.flags else "")
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


    # -- actions ---------------------------------------------------------------------------------

    @guarded
    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        return [
            ("Everywhere", binding_rows(type(self).BINDINGS) + list(self.MAIN_BINDINGS)),
            ("Main screen", binding_rows(MainScreen.BINDINGS)),
            ("Lists: goroutines, backtrace, source, disassembly", binding_rows(LineList.BINDINGS)),
            ("Goroutines", binding_rows(GoroutineList.BINDINGS)),
            ("Backtrace", [*binding_rows(BacktraceView.BINDINGS), ("enter", "go to the frame's variables"),
                           ("enter on created by", "go to the creator, at its go statement's frame")]),
            ("Disassembly", [("enter", "hex view at the instruction's address")]),
            ("Variables", [("enter space", "expand or collapse (children load when opened)"),
                           ("up down", "move"), *binding_rows(VariablesTree.BINDINGS)]),
            ("Hex view", binding_rows(HexView.BINDINGS)),
            ("Decode pane (d in the hex view or on a value)",
             [*binding_rows(DecodeTree.BINDINGS), *binding_rows(DecodePane.BINDINGS)]),
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
        yield SystemCommand("Registers", "The frame's registers as unwound (regs; regs -a for all)",
                            lambda: self._safe(self.run_command, "regs"))
        yield SystemCommand("Threads", "Every thread of the core; enter opens one (threads)",
                            lambda: self._safe(self.run_command, "threads"))
        yield SystemCommand("Filter goroutines", "Show goroutines matching a function, file, status, id or label",
                            self._filter_requested)
        yield SystemCommand("Group goroutines", "Toggle grouping goroutines by stack",
                            lambda: self.post_message(GroupRequested(not self.q(GoroutineList).data.grouped)))
        yield SystemCommand("Group goroutines by label…", "One group per value of a pprof label (-group label KEY)",
                            lambda: self.main.open_filter("-group label "))
        yield SystemCommand("Go to creator", "The goroutine that created this one, at its go statement's frame",
                            self.follow_creator)
        yield SystemCommand("Help", "Show every key and command", self.action_help)

