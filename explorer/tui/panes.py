"""The main screen's panes: goroutines, backtrace, variables, source, disassembly, crash summary."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from explorer.render.disasm import Listing, render_line
from explorer.tui.goroutinelist import (  # the goroutine list lives there; imported from here too
    MAX_STATUS_WIDTH,
    FilterRequested,
    GoroutineList,
    GoroutineRows,
    GroupRequested,
    GroupRow,
    full_status,
)
from explorer.tui.guard import guarded
from explorer.tui.lines import LineList
from explorer.tui.safetext import plain, safe, safe_text

__all__ = [
    "MAX_STATUS_WIDTH", "BacktraceView", "CrashSummary", "DisasmView", "FilterRequested", "GoroutineList",
    "GoroutineRows", "GroupRequested", "GroupRow", "SourceView", "VarData", "VariablesTree", "full_status",
    "value_label",
]

# ---------------------------------------------------------------------------------------------------
# Backtrace


class BacktraceView(LineList):
    """The selected goroutine's frames, innermost first; the cursor is the selected frame. The last
    row, ``created by F in goroutine N``, is a link: enter on it (or ``c`` anywhere) goes to N."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "up", "Up frame", show=False),
        Binding("d", "down", "Down frame", show=False),
        Binding("x", "hex", "Hex view", tooltip="Open the hex view at the frame's stack bytes (sp to fp)"),
        Binding("c", "creator", "Creator", show=False,
                tooltip="Go to the goroutine that created this one, at its go statement's frame"),
    ]

    class HexRequested(Message):
        def __init__(self, frame: Any) -> None:
            super().__init__()
            self.frame = frame

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frames: list[Any] = []
        self.std: list[bool] = []
        self.g: Any = None
        self.error: str | None = None
        self.link_row: int | None = None

    def set_frames(self, g: Any, frames: list[Any], std: list[bool], error: str | None, created_by: str | None) \
            -> None:
        self.g, self.frames, self.std, self.error = g, frames, std, error
        self.created_by = created_by
        # The "created by" row is a link when the runtime recorded the creator's id.
        self.link_row = len(frames) if created_by and not error and getattr(g, "parent_goid", None) else None
        extra = 1 if (error or created_by) else 0
        width = max((len(f.function) + len(os.path.basename(f.file)) + 16 for f in frames), default=0)
        self.set_row_count(len(frames) + extra, width)

    def row_text(self, index: int) -> Text:
        t = Text(no_wrap=True, end="")
        if index >= len(self.frames):
            if self.error and not self.frames:
                t.append(f"  {safe(self.error)}", style="red")
            elif self.error:
                t.append(f"  …backtrace stopped: {safe(self.error)}", style="red")
            elif self.created_by:
                t.append(f"  created by {safe(self.created_by)}",
                         style="italic underline" if self.link_row is not None else "dim italic")
            return t
        f = self.frames[index]
        std = self.std[index] if index < len(self.std) else False
        t.append(f"{f.index:>3} ", style="dim")
        name_style = "dim" if std else "bold"
        t.append(safe(f.function), style=name_style)
        if f.inlined:
            t.append(" (inlined)", style="dim italic")
        if f.stack != "g":
            t.append(f" [{safe(str(f.stack))}]", style="dim magenta")
        t.append(f"  {safe(os.path.basename(f.file))}:{f.line}", style="dim" if std else "cyan")
        if getattr(f, "signal", None):
            t.append(f"  ← signal {safe(str(f.signal))}", style="bold red")
        return t

    def set_cursor(self, index: int, *, notify: bool = True, center: bool = False) -> None:
        if self.frames:  # on a frame, or on the "created by" link after the last one
            index = min(index, len(self.frames) if self.link_row is not None else len(self.frames) - 1)
        super().set_cursor(index, notify=notify, center=center)

    @guarded
    def action_creator(self) -> None:
        if self.link_row is not None:
            self.post_message(self.Activated(self, self.link_row))

    @guarded
    def action_hex(self) -> None:
        if self.frames and self.cursor < len(self.frames):
            self.post_message(self.HexRequested(self.frames[self.cursor]))

    def action_up(self) -> None:  # delve's "up": towards the caller (the outermost frame at most)
        self.set_cursor(min(self.cursor + 1, max(0, len(self.frames) - 1)))

    @guarded
    def action_down(self) -> None:
        self.set_cursor(self.cursor - 1)


# ---------------------------------------------------------------------------------------------------
# Source and disassembly


class SourceView(LineList):
    """Source lines around the frame's line (the current one marked)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Text] = []
        self.current: int | None = None  # 1-based line number
        self.message: str | None = None

    def set_source(self, lines: list[Text], current: int | None, title: str, place: str = "") -> None:
        """``place``: the file's directory as the footer shows it (Session.source_place)."""
        self.lines, self.current, self.message = lines, current, None
        self.border_title = plain(title)
        self.border_subtitle = plain(place)
        width = max((t.cell_len for t in lines), default=0) + 9
        self.set_row_count(len(lines), width)
        if current:
            self.set_cursor(current - 1, notify=False, center=True)

    def set_message(self, message: str, title: str = "Source") -> None:
        self.lines, self.current, self.message = [], None, message
        self.border_title = plain(title)
        self.border_subtitle = ""
        self.set_row_count(1)

    def row_text(self, index: int) -> Text:
        if self.message is not None:
            return plain(self.message, style="dim italic")
        t = Text(no_wrap=True, end="")
        cur = self.current == index + 1
        t.append(f"{index + 1:>5} ", style="bold yellow" if cur else "dim")
        t.append("▶ " if cur else "  ", style="bold red")
        if index < len(self.lines):
            t.append_text(safe_text(self.lines[index]))  # a source file may hold controls too
        return t


class DisasmView(LineList):
    """The frame's function, disassembled; the instruction at the frame's pc marked."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.listing: Listing | None = None
        self.current: int | None = None
        self.message: str | None = None
        self.offset_digits = 4

    def set_listing(self, listing: Listing, current: int | None) -> None:
        self.listing, self.current, self.message = listing, current, None
        self.border_title = plain(f"Disassembly: {listing.function}")
        self.offset_digits = max(2, len(f"{listing.end - listing.entry:x}"))
        width = max((len(ln.operands) + len(ln.target_name or "") for ln in listing.lines), default=0)
        self.set_row_count(len(listing.lines) + (1 if listing.error else 0), width + 40)
        if current is not None:
            self.set_cursor(current, notify=False, center=True)

    def set_message(self, message: str) -> None:
        self.listing, self.current, self.message = None, None, message
        self.border_title = "Disassembly"
        self.set_row_count(1)

    def row_text(self, index: int) -> Text:
        if self.message is not None or self.listing is None:
            return plain(self.message or "", style="dim italic")
        if index >= len(self.listing.lines):
            return plain(f"  … {self.listing.error}", style="red")
        ln = self.listing.lines[index]
        t = render_line(ln, self.listing.entry, current=index == self.current, offset_digits=self.offset_digits)
        prev = self.listing.lines[index - 1] if index else None
        if prev is None or prev.line != ln.line:
            t.append(f"  :{ln.line}", style="dim cyan")
        return safe_text(t)  # symbol names come from the executable


# ---------------------------------------------------------------------------------------------------
# Variables


@dataclass
class VarData:
    """What a variables-tree node holds: the value, its expression path, whether children loaded."""

    path: str
    value: Any
    loaded: bool = False
    placeholder: bool = False


class VariablesTree(Tree[VarData]):
    """Arguments and locals; a node's children are read from the core when it is first opened."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "hex", "Hex view", tooltip="Open the hex view at this value's bytes"),
        Binding("d", "hex(True)", "Decode", tooltip="Decode this value's bytes: protobuf, JSON, text, compressed"),
        Binding("o", "heap_object", "Heap object", show=False, tooltip="Open the heap object this pointer points to"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("right,l", "expand_node", "Expand", show=False),
        Binding("left,h", "collapse_node", "Collapse", show=False),
    ]

    class HexRequested(Message):
        def __init__(self, node: TreeNode[VarData], decode: bool = False) -> None:
            super().__init__()
            self.node = node
            self.decode = decode

    class LoadChildren(Message):
        def __init__(self, node: TreeNode[VarData]) -> None:
            super().__init__()
            self.node = node

    class HeapObjectRequested(Message):
        """``o`` on a value: the heap object its pointer (or data pointer) points into."""

        def __init__(self, node: TreeNode[VarData]) -> None:
            super().__init__()
            self.node = node

    def action_heap_object(self) -> None:
        node = self.cursor_node
        if node is not None:
            self.post_message(self.HeapObjectRequested(node))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("variables", id=id)
        self.show_root = False
        self.guide_depth = 3
        self.auto_expand = True

    def clear_message(self, message: str) -> None:
        self.clear()
        self.root.add_leaf(plain(message, style="dim italic"))

    def process_label(self, label: str | Text) -> Text:
        """Labels are never markup (a ``str`` is shown as it is) and never hold a raw control."""
        return super().process_label(safe_text(label) if isinstance(label, Text) else plain(label))

    def add_value(self, parent: TreeNode[VarData], label: Text, path: str, value: Any, has_children: bool,
                  expand: bool = False) -> TreeNode[VarData]:
        data = VarData(path, value)
        if has_children:
            node = parent.add(label, data, expand=False)
            node.add_leaf(Text("loading…", style="dim italic"), VarData(path, None, placeholder=True))
            if expand:
                node.expand()
            return node
        return parent.add_leaf(label, data)

    def fill_children(self, node: TreeNode[VarData], children: list[tuple[Text, str, Any, bool]],
                      more: int) -> None:
        node.remove_children()
        for label, path, value, has_children in children:
            self.add_value(node, label, path, value, has_children)
        if more:
            node.add_leaf(Text(f"… {more} more", style="dim italic"))
        if not children and not more:
            node.add_leaf(Text("(empty)", style="dim italic"))

    @guarded
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[VarData]) -> None:
        data = event.node.data
        if data is not None and not data.loaded and data.value is not None:
            data.loaded = True
            self.post_message(self.LoadChildren(event.node))

    @guarded
    def action_hex(self, decode: bool = False) -> None:
        node = self.cursor_node
        if node is not None:
            self.post_message(self.HexRequested(node, decode))

    @guarded
    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand and not node.is_expanded:
            node.expand()
        elif node is not None and node.children and node.is_expanded:
            self.action_cursor_down()

    @guarded
    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)


def value_label(name: str, value: Any, summary: str) -> Text:
    """``body = []uint8 len=64 cap=512 [79,82,68,57,...]`` (the summary names the type)."""
    t = Text(no_wrap=True, end="")
    t.append(safe(name), style="bold")
    kind = getattr(value, "kind", "")
    t.append(" = ", style="dim")
    t.append(safe(summary), style="red" if kind == "unreadable" else "")
    return t


# ---------------------------------------------------------------------------------------------------
# Crash summary


class CrashSummary(Static):
    """Signal, fault address, panic message, Go version, build-ID warning."""

    def show_loading(self, what: str) -> None:
        self.update(Text.assemble(("gocore-tui ", "bold"), (safe(what), "italic")))

    def show_info(self, d: dict[str, Any], warnings: list[tuple[str, str]]) -> None:
        """``warnings``: (code, message) pairs; a build-ID mismatch gets a line of its own in red."""
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(safe(os.path.basename(d.get("executable") or "?")), style="bold")
        t.append(safe(f"  {d.get('go_version') or 'Go ?'} {d.get('arch', '')}  "), style="cyan")
        sig = d.get("signal_name")
        t.append("  │  ", style="dim")
        t.append(safe(f"{sig} ({d.get('signal')})") if sig else "no signal", style="bold red" if sig else "dim")
        go_sig = d.get("go_signal")
        if go_sig and go_sig.get("signal") != d.get("signal"):
            t.append(safe(f" after {go_sig['signal_name']} at pc {go_sig['pc']:#x}"), style="red")
        fault = d.get("fault_address")
        t.append("  fault address ", style="dim")
        t.append(f"{fault:#x}" if fault is not None else "-", style="bold" if fault is not None else "dim")
        t.append("  │  ", style="dim")
        crashed = d.get("crashed_goroutine")
        if crashed is not None:
            t.append(f"goroutine {crashed} crashed", style="bold")
        elif d.get("goroutines") == "?":
            t.append("goroutines unreadable", style="bold red")
        else:
            t.append("no goroutine on the crashing thread", style="dim")
        t.append(f"  {d.get('goroutines')} goroutines, {d.get('threads')} threads", style="dim")
        if d.get("build_id_match") is True:
            t.append("  build ID ✔", style="green")
        elif d.get("build_id_match") is None:
            t.append("  build ID ?", style="dim")
        lines = [t]
        panic = d.get("panic")
        p = Text(no_wrap=True, overflow="ellipsis")
        if panic:
            p.append("panic: ", style="bold red")
            # The first line (a panic message may hold newlines), escaped: it is the crashed
            # program's text, possibly built from a request.
            p.append(safe(str(panic).split("\n", 1)[0]))
        else:
            p.append("no panic recorded", style="dim")
        lines.append(p)
        for code, message in warnings:
            if code == "build_id_mismatch":
                message = ("build ID mismatch: this executable is not the one that dumped the core; "
                           "values and backtraces may be wrong")
            style = "bold white on red" if code == "build_id_mismatch" else "yellow"
            lines.append(Text("⚠ " + safe(message), style=style, no_wrap=True, overflow="ellipsis"))
        out = Text("\n").join(lines)
        out.no_wrap = True
        out.overflow = "ellipsis"
        self.update(out)
