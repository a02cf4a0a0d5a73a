"""Small widgets and dialogs: the ``:`` command line, prompts, the save dialog, confirmation, help."""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from explorer.tui.commands import help_rows
from explorer.tui.guard import guarded
from explorer.tui.safetext import plain, safe


def _key_actions(bindings: list[BindingType]) -> dict[str, str]:
    out: dict[str, str] = {}
    for b in Binding.make_bindings(bindings):
        for key in b.key.split(","):
            out.setdefault(key.strip(), b.action)
    return out


class LineInput(Input):
    """An Input whose editing keys (ctrl+u, backspace, arrows, enter...) act in the order typed.

    Textual runs a widget's bindings when the key event has bubbled back up to the app, after the
    keys queued behind it were typed into the input: ctrl+u then a pasted path (or keys from tmux
    send-keys) cleared the path typed after it. Here the input's own keys run as the input reads
    them, in order with the text."""

    EDIT_KEYS: ClassVar[dict[str, str]] = _key_actions(list(Input.BINDINGS))

    async def _on_key(self, event: events.Key) -> None:
        action = self.EDIT_KEYS.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)


class CommandLine(LineInput):
    """The command line at the bottom of the screen (always shown, so a reader sees it exists):
    ``:`` focuses it; enter runs, escape leaves; up/down: history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=False),
        Binding("up", "history(-1)", "Previous command", show=False),
        Binding("down", "history(1)", "Next command", show=False),
    ]
    history: ClassVar[list[str]] = []

    class Run(Message):
        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    def __init__(self) -> None:
        super().__init__(placeholder=": for commands — goroutine N · frame N · up · down · print EXPR · "
                                     "x EXPR|ADDR [LEN] · save EXPR|ADDR:LEN PATH · help · quit",
                         # A prefilled verb ("print ", from the palette or ctrl+g) is kept: the
                         # first key typed goes after it instead of replacing it.
                         select_on_focus=False, id="cmdline")
        self._pos = 0
        self._return_to: Widget | None = None
        self.can_focus = False  # out of the tab order until ":" opens it

    def open(self, text: str = "") -> None:
        self._return_to = self.screen.focused if self.screen.focused is not self else None
        self.can_focus = True
        self.value = text
        self.cursor_position = len(text)
        self._pos = len(self.history)
        # Focus now, not after the queued events (Widget.focus defers): keys typed right after ":"
        # must land here.
        self.screen.set_focus(self)

    @guarded
    def action_close(self) -> None:
        self.value = ""
        self.can_focus = False
        target = self._return_to
        if target is not None and target.is_attached:
            target.focus()
        else:
            self.screen.focus_next()

    @guarded
    def action_history(self, step: int) -> None:
        if not self.history:
            return
        self._pos = max(0, min(len(self.history), self._pos + step))
        self.value = self.history[self._pos] if self._pos < len(self.history) else ""
        self.cursor_position = len(self.value)

    @on(Input.Submitted)
    @guarded
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value.strip()
        self.action_close()
        if line:
            if not self.history or self.history[-1] != line:
                self.history.append(line)
            self.post_message(self.Run(line))


class KeyBar(Widget):
    """The keys that work here, on one line: like Textual's Footer, but repainted rather than
    recomposed when the focus moves (a recompose re-lays out the whole screen, ~0.1 s)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text-muted; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _changed(self, _screen: object) -> None:
        self.refresh()

    def render(self) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        seen: set[str] = set()
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.action == "command_palette":
                palette = binding
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            t.append(f" {self.app.get_key_display(binding)} ", style="bold reverse" if enabled else "dim reverse")
            t.append(f" {binding.description}  ", style="" if enabled else "dim")
        if palette is not None:
            t.append(" ^p ", style="bold reverse")
            t.append(" palette")
        return t


class PromptDialog(ModalScreen[str | None]):
    """One line of input: enter answers, escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, hint: str = "", value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.title_text), classes="dialog-title", markup=False)
            yield LineInput(value=self.value, placeholder=self.placeholder, id="prompt-input")
            if self.hint:
                yield Label(plain(self.hint), classes="dialog-hint", markup=False)

    @guarded
    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))  # now: keys typed at once land in the input

    @on(Input.Submitted)
    @guarded
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    @guarded
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question; no is the default (enter on the focused No button, escape, n)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
        Binding("left,right,tab", "app.focus_next", "Switch", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            # The question names a path the user typed: text, never markup ("[/b]" would end the app).
            yield Label(plain(self.question), classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Overwrite (y)", variant="error", id="yes")
                yield Button("Cancel (n)", variant="primary", id="no")

    @guarded
    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    @guarded
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    @guarded
    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class SaveDialog(ModalScreen[tuple[str, bool] | None]):
    """Where to save bytes: the path input has the focus and a proposed name (ctrl+u clears it).

    Answers (path, force): force is True only when the user confirmed overwriting an existing file.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, what: str, default_name: str) -> None:
        super().__init__()
        self.what = what
        self.default_name = default_name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="save-dialog"):
            yield Label(Text.assemble(("Save ", "bold"), safe(self.what)), classes="dialog-title", markup=False)
            yield LineInput(value=self.default_name, id="save-path")
            yield Label(plain(f"relative to {os.getcwd()}  ·  enter saves · esc cancels · ctrl+u clears"),
                        classes="dialog-hint", markup=False)

    @guarded
    def on_mount(self) -> None:
        inp = self.query_one(Input)
        # Focused now, not after the queued events (Widget.focus defers): keys typed as soon as the
        # dialog shows (ctrl+u, a path) must land in the input.
        self.set_focus(inp)
        inp.cursor_position = len(inp.value)

    @on(Input.Submitted)
    @guarded
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        raw = event.value.strip()
        if not raw:
            self.app.notify("type a file name", severity="warning")
            return
        path = Path(os.path.expanduser(raw))
        if path.is_dir():
            self.app.notify(f"{path} is a directory", severity="error")
            return
        if path.exists():
            def answered(yes: bool | None) -> None:
                if yes:
                    self.dismiss((str(path), True))
                else:
                    self.app.notify(f"{path} exists: not overwritten", severity="warning")
                    self.query_one(Input).focus()

            self.app.push_screen(ConfirmDialog(f"{path} exists. Overwrite it?"), answered)
            return
        self.dismiss((str(path), False))

    @guarded
    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every key binding, by pane, and every ``:`` command."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Label("gocore-tui: keys and commands  (esc closes)", classes="dialog-title", markup=False)
            for title, rows in self.sections:
                table = Table(title=title, title_justify="left", title_style="bold cyan", show_header=False,
                              box=None, pad_edge=False, expand=True)
                table.add_column(style="bold yellow", no_wrap=True, width=26)
                table.add_column(ratio=1)
                for k, v in rows:
                    table.add_row(Text(k), Text(v))
                yield Static(table)
            cmds = Table(title=": commands (delve's words)", title_justify="left", title_style="bold cyan",
                         show_header=False, box=None, pad_edge=False, expand=True)
            cmds.add_column(style="bold yellow", no_wrap=True, width=40)
            cmds.add_column(ratio=1)
            for k, v in help_rows():
                cmds.add_row(Text(k), Text(v))
            yield Static(cmds)

    @guarded
    def action_close(self) -> None:
        self.dismiss(None)
