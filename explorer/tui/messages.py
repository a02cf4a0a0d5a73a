"""What the app's thread workers post back: each result carries what it was computed for (the
goroutine, the frame's token), so a stale one is dropped."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets.tree import TreeNode

from explorer.tui.panes import GroupRow, VarData
from explorer.tui.session import Target


class BacktraceReady(Message):
    """A goroutine's frames (``frame``: the one to select, None for the default)."""

    def __init__(self, g: Any, frames: list[Any], std: list[bool], error: str | None, created_by: str | None,
                 frame: int | None) -> None:
        super().__init__()
        self.g, self.frames, self.std, self.error, self.created_by = g, frames, std, error, created_by
        self.frame = frame


class Loaded(Message):
    """Goroutines to list: the first page (``complete`` False) with the goroutine to show and its
    backtrace, then all of them."""

    def __init__(self, goroutines: list[Any], crashed: Any, g: Any, error: str | None,
                 backtrace: BacktraceReady | None, complete: bool = True) -> None:
        super().__init__()
        self.goroutines, self.crashed, self.g, self.error = goroutines, crashed, g, error
        self.backtrace = backtrace
        self.complete = complete


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
    """The goroutines the filter keeps (None: all); ``label_groups``: (key, groups) for
    ``-group label KEY``; ``error``: why the filter's words are wrong."""

    def __init__(self, text: str, keep: set[int] | None,
                 label_groups: tuple[str, list[GroupRow]] | None = None, error: str | None = None) -> None:
        super().__init__()
        self.text, self.keep = text, keep
        self.label_groups, self.error = label_groups, error


class LabelsReady(Message):
    """Pprof labels (as shown) by g address."""

    def __init__(self, labels: dict[int, str]) -> None:
        super().__init__()
        self.labels = labels


class CreatorReady(Message):
    """Where a goroutine's ``created by`` leads (an explorer.goruntime.creator.CreatorLink)."""

    def __init__(self, link: Any) -> None:
        super().__init__()
        self.link = link


class VarsReady(Message):
    def __init__(self, token: int, rows: list[tuple[Text, str, Any, bool]], message: str | None) -> None:
        super().__init__()
        self.token, self.rows, self.message = token, rows, message


class ChildrenReady(Message):
    def __init__(self, node: TreeNode[VarData], rows: list[tuple[Text, str, Any, bool]], more: int) -> None:
        super().__init__()
        self.node, self.rows, self.more = node, rows, more


class SourceReady(Message):
    """A frame's source lines; ``place``: where the file lives, for the pane's footer."""

    def __init__(self, token: int, lines: list[Text] | None, line: int, title: str, message: str | None,
                 place: str = "") -> None:
        super().__init__()
        self.token, self.lines, self.line, self.title, self.message = token, lines, line, title, message
        self.place = place


class DisasmReady(Message):
    def __init__(self, token: int, listing: Any, current: int | None, message: str | None) -> None:
        super().__init__()
        self.token, self.listing, self.current, self.message = token, listing, current, message


class PrintReady(Message):
    def __init__(self, expr: str, label: Text, value: Any, has_children: bool, summary: str) -> None:
        super().__init__()
        self.expr, self.label, self.value, self.has_children, self.summary = expr, label, value, has_children, summary


class TargetReady(Message):
    """A byte range to show (``then`` = "hex", or "decode" for the hex view with the decode pane) or to
    save (``then`` = a path)."""

    def __init__(self, target: Target, then: str) -> None:
        super().__init__()
        self.target, self.then = target, then


class Saved(Message):
    def __init__(self, path: str, size: int) -> None:
        super().__init__()
        self.path, self.size = path, size

