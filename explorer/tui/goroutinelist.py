"""The goroutine list: every goroutine (100,000 rows stay fast), flat or grouped (by stack, or by a
pprof label), filtered; each row with its status, where it is in the program's code, its thread and
its pprof labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from explorer.tui.guard import guarded
from explorer.tui.lines import LineList
from explorer.tui.safetext import safe

#: The goroutine list's status column is at most this wide.
MAX_STATUS_WIDTH = 32


@dataclass
class GroupRow:
    """A group of goroutines parked at the same stack (``status``: their status), or with the same
    value of a pprof label (``label``: ``status`` is then ``key=value`` or ``no label key``)."""

    index: int
    status: str
    goroutines: list[Any]
    label: bool = False


@dataclass
class GoroutineRows:
    """What the goroutine list shows: flat, or grouped (by stack, or by a label's value, which comes
    first); filtered by a set of g addresses."""

    goroutines: list[Any] = field(default_factory=list)
    groups: list[GroupRow] | None = None
    grouped: bool = False
    keep: set[int] | None = None  # g addresses that pass the filter (None: all)
    expanded: set[int] = field(default_factory=set)  # expanded group indexes
    group_label: str | None = None  # grouped by this pprof label (-group label KEY)
    label_groups: list[GroupRow] | None = None

    @property
    def shown_groups(self) -> list[GroupRow] | None:
        """The groups shown (None: a flat list)."""
        if self.group_label is not None:
            return self.label_groups
        return self.groups if self.grouped else None

    def rows(self) -> list[tuple[str, Any]]:
        """The rows shown: ``("group", GroupRow)`` (its members those the filter keeps) followed,
        when expanded, by its ``("g", g)`` rows; or a flat ``("g", g)`` per goroutine kept."""
        out: list[tuple[str, Any]] = []
        keep = self.keep
        groups = self.shown_groups
        if groups is not None:
            for grp in groups:
                members = [g for g in grp.goroutines if keep is None or g.addr in keep]
                if not members:
                    continue
                out.append(("group", GroupRow(grp.index, grp.status, members, grp.label)))
                if grp.index in self.expanded:
                    out.extend(("g", g) for g in members)
            return out
        if keep is None:
            return _FlatRows(self.goroutines)  # type: ignore[return-value]
        return [("g", g) for g in self.goroutines if g.addr in keep]


class _FlatRows:
    """Every goroutine as a row, ``("g", g)``, without making 100,000 tuples up front (the list
    is rebuilt on the event loop when the goroutines arrive)."""

    def __init__(self, gs: list[Any]) -> None:
        self.gs = gs

    def __len__(self) -> int:
        return len(self.gs)

    def __getitem__(self, i: int) -> tuple[str, Any]:
        return ("g", self.gs[i])

    def __iter__(self) -> Any:
        return (("g", g) for g in self.gs)

    def index_of(self, addr: int) -> int | None:
        return next((i for i, g in enumerate(self.gs) if g.addr == addr), None)


class GoroutineList(LineList):
    """Every goroutine (100,000 rows stay fast): id, status or wait reason, where it is in user code."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("G", "toggle_group", "Group", tooltip="Group goroutines parked at the same stack"),
        Binding("slash", "filter", "Filter",
                tooltip="Filter goroutines by function, file, status, id or label (key=value; -with label K=V)"),
        Binding("L", "group_label", "By label", show=False,
                tooltip="Group goroutines by a pprof label's value (-group label KEY in the filter)"),
        Binding("right,l", "expand", "Expand group", show=False),
        Binding("left,h", "collapse", "Collapse group", show=False),
    ]

    class Selected(Message):
        """The cursor is on goroutine ``g`` (None for an empty list)."""

        def __init__(self, g: Any) -> None:
            super().__init__()
            self.g = g

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = GoroutineRows()
        self.where: dict[int, tuple[str, str]] = {}  # g addr -> (function, file:line) of its user frame
        self.labels: dict[int, str] = {}  # g addr -> its pprof labels as shown ({key=value, ...})
        self.crashed_addr: int | None = None
        self.id_width = 6
        self.status_width = 22
        self._items: list[tuple[str, Any]] = []
        self._row_of: dict[int, int] = {}

    def set_goroutines(self, gs: list[Any], crashed_addr: int | None) -> None:
        """List ``gs`` (the crashing goroutine, ``crashed_addr``, first), keeping the cursor's goroutine."""
        self.crashed_addr = crashed_addr
        if crashed_addr is not None:  # the crashing goroutine first, as the runtime prints it
            i = next((i for i, g in enumerate(gs) if g.addr == crashed_addr), 0)
            gs = [gs[i], *gs[:i], *gs[i + 1 :]] if i else list(gs)
        self.data.goroutines = gs
        self.id_width = len(str(max((g.id for g in gs), default=0)))
        # As wide as the longest status (the runtime's wait reasons are up to 25 characters,
        # "GOMAXPROCS updater (idle)"); a longer one (garbage) ends in "…". The backtrace's title
        # has the full status (", locked to thread"...).
        statuses = {g.header_status for g in gs}
        self.status_width = min(MAX_STATUS_WIDTH, max((len(safe(st)) for st in statuses), default=8))
        self.set_row_count(0, 0)
        self.rebuild()

    def rebuild(self, keep_selection: bool = True) -> None:
        """Make the rows again from :attr:`data` (after a filter, grouping or expansion), the cursor
        on the same goroutine when ``keep_selection`` and it is still shown."""
        current = self.current_goroutine() if keep_selection else None
        self._items = self.data.rows()
        self._row_of = {}
        if not isinstance(self._items, _FlatRows):  # a flat list finds its rows by a scan
            for i, (kind, obj) in enumerate(self._items):
                if kind == "g":
                    self._row_of.setdefault(obj.addr, i)
        self.set_row_count(len(self._items), 160)
        self.set_subtitle(self._subtitle())
        if current is not None and not self.show_goroutine(current, notify=False) and self._items:
            # The selected goroutine is filtered out: select the first one shown.
            self.set_cursor(0, notify=True)

    def set_subtitle(self, text: str) -> None:
        """The subtitle of the pane around the list (the list itself has no border)."""
        parent = self.parent
        target = parent if isinstance(parent, Widget) and parent.id == "goroutines-pane" else self
        target.border_subtitle = text

    def _subtitle(self) -> str:
        total = len(self.data.goroutines)
        groups = self.data.shown_groups
        parts = []
        if self.data.keep is not None:
            n = len(self.data.keep)
            parts.append(f"{n} of {total} match")
        elif groups is None:
            parts.append(f"{total}")
        if groups is not None:
            by = f" by label {safe(self.data.group_label)}" if self.data.group_label is not None else ""
            parts.append(f"{len(self._items)} rows, grouped{by}")
        return " · ".join(parts)

    def set_labels(self, labels: dict[int, str]) -> None:
        """Pprof labels (as shown) of goroutines, by g address."""
        self.labels.update(labels)
        self.invalidate()

    def set_filter(self, keep: set[int] | None, key: str | None = None,
                   groups: list[GroupRow] | None = None) -> None:
        """Show the goroutines in ``keep`` (g addresses; None: all), grouped by the value of label
        ``key`` (None: as before, flat or by stack)."""
        if key != self.data.group_label:
            self.data.expanded.clear()  # group indexes of another grouping
        self.data.keep = keep
        self.data.group_label, self.data.label_groups = key, groups
        self.rebuild()

    def set_where(self, where: dict[int, tuple[str, str]]) -> None:
        self.where.update(where)
        self.invalidate()

    def set_groups(self, groups: list[GroupRow]) -> None:
        self.data.groups = groups
        self.rebuild()

    def current_goroutine(self) -> Any:
        if not self._items:
            return None
        kind, obj = self._items[min(self.cursor, len(self._items) - 1)]
        return obj.goroutines[0] if kind == "group" else obj

    def show_goroutine(self, g: Any, *, notify: bool = False) -> bool:
        """Put the cursor on ``g`` (expanding its group); False if it is filtered out."""
        i = self._items.index_of(g.addr) if isinstance(self._items, _FlatRows) else self._row_of.get(g.addr)
        groups = self.data.shown_groups
        if i is None and groups:
            for grp in groups:
                if any(x.addr == g.addr for x in grp.goroutines):
                    self.data.expanded.add(grp.index)
                    self.rebuild(keep_selection=False)
                    i = self._row_of.get(g.addr)
                    break
        if i is None:
            return False
        self.set_cursor(i, notify=notify, center=True)
        return True

    def row_text(self, index: int) -> Text:
        kind, obj = self._items[index]
        t = Text(no_wrap=True, end="")
        if kind == "group":
            grp: GroupRow = obj
            first = grp.goroutines[0]
            t.append("▾ " if grp.index in self.data.expanded else "▸ ", style="bold")
            t.append(f"{len(grp.goroutines):>5}× ", style="bold magenta")
            if grp.label:  # members share a label, not a place: no 'where'
                t.append(safe(grp.status), style="magenta")
                return t
            t.append(f"[{safe(grp.status)}] ", style="yellow")
            self._append_where(t, first)
            return t
        g = obj
        indent = "    " if self.data.shown_groups is not None else ""
        crashed = g.addr == self.crashed_addr
        t.append(indent)
        t.append("✖ " if crashed else "  ", style="bold red")
        t.append(f"{g.id:>{self.id_width}} ", style="bold red" if crashed else "bold")
        status = safe(g.header_status)
        if len(status) > self.status_width:
            status = status[: self.status_width - 1] + "…"
        t.append(f"{status:<{self.status_width}} ", style="green" if g.status == "running" else "yellow")
        self._append_where(t, g)
        if g.thread is not None:
            t.append(f"  thread {g.thread}", style="dim")
        labels = self.labels.get(g.addr)
        if labels:
            t.append(f"  {safe(labels)}", style="magenta")
        return t

    def _append_where(self, t: Text, g: Any) -> None:
        w = self.where.get(g.addr)
        if w is None:
            t.append("…", style="dim")
            return
        t.append(safe(w[0]))
        t.append(f"  {safe(w[1])}", style="dim")

    @guarded
    def action_group_label(self) -> None:
        opener = getattr(self.screen, "open_filter", None)
        if opener is not None:
            opener("-group label ")

    @guarded
    def action_toggle_group(self) -> None:
        self.post_message(GroupRequested(not self.data.grouped))

    def apply_grouping(self, grouped: bool) -> None:
        self.data.grouped = grouped
        self.rebuild()

    @guarded
    def action_filter(self) -> None:
        opener = getattr(self.screen, "open_filter", None)
        if opener is not None:
            opener()
        else:
            self.post_message(FilterRequested())

    @guarded
    def action_expand(self) -> None:
        if self._items and self._items[self.cursor][0] == "group":
            grp = self._items[self.cursor][1]
            if grp.index not in self.data.expanded:
                self.data.expanded.add(grp.index)
                self.rebuild()

    @guarded
    def action_collapse(self) -> None:
        if not self._items:
            return
        kind, obj = self._items[self.cursor]
        if kind == "group":
            self.data.expanded.discard(obj.index)
            self.rebuild()
            return
        groups = self.data.shown_groups
        if groups:  # from a member: collapse its group
            for grp in groups:
                if grp.index in self.data.expanded and any(x.addr == obj.addr for x in grp.goroutines):
                    self.data.expanded.discard(grp.index)
                    self.rebuild(keep_selection=False)
                    for i, (k, o) in enumerate(self._items):
                        if k == "group" and o.index == grp.index:
                            self.set_cursor(i, notify=False)
                    return

    @guarded
    def action_activate(self) -> None:
        if not self._items:
            return
        kind, obj = self._items[self.cursor]
        if kind == "group":
            if obj.index in self.data.expanded:
                self.action_collapse()
            else:
                self.action_expand()
            return
        super().action_activate()


def full_status(g: Any) -> str:
    """The goroutine's status as the runtime's traceback header has it between brackets: the wait
    reason (or status), `` (scan)``, ``, locked to thread``."""
    text = g.header_status
    if getattr(g, "scan", False):
        text += " (scan)"
    if getattr(g, "lockedm", 0):
        text += ", locked to thread"
    return str(text)


class GroupRequested(Message):
    def __init__(self, grouped: bool) -> None:
        super().__init__()
        self.grouped = grouped


class FilterRequested(Message):
    pass
