"""Goroutines' pprof labels in the list and the backtrace's title, and ``created by ... in
goroutine N`` as a link to the creator, at its frame in the function whose ``go`` statement made
the goroutine (explorer.goruntime.creator)."""

from __future__ import annotations

import os
from typing import Any

from textual import work

from explorer.tui.guard import guarded
from explorer.tui.messages import CreatorReady, LabelsReady
from explorer.tui.navigation import Navigation
from explorer.tui.panes import GoroutineList


class Links(Navigation):
    """Labels and the creator link."""

    @work(thread=True, exclusive=True, group="labels", exit_on_error=False)
    def labels_worker(self) -> None:
        """Every goroutine's labels (as shown). Only goroutines with a labels pointer are read, and
        children share their creator's (explorer.goruntime.labels caches by pointer)."""
        from explorer.goruntime.labels import format_labels
        from explorer.goruntime.model import labels_of

        s = self.session
        out: dict[int, str] = {}
        for g in self.goroutines:
            if not g.labels_ptr:
                continue
            with s.lock:
                text = format_labels(labels_of(s.proc, g))
            if text:
                out[g.addr] = text
        self.post_message(LabelsReady(out))

    @guarded
    def on_labels_ready(self, msg: LabelsReady) -> None:
        self.goroutine_labels.update(msg.labels)
        self.labels_done = True
        self.q(GoroutineList).set_labels(msg.labels)
        g = self.current_g
        if g is not None:
            self.set_backtrace_title(g, thread=bool(self.frames))

    def follow_creator(self) -> None:
        """Go to the goroutine that created the selected one (enter on "created by", or c)."""
        if self.current_g is not None:
            self.creator_worker(self.current_g)

    @work(thread=True, exclusive=True, group="creator", exit_on_error=False)
    def creator_worker(self, g: Any) -> None:
        from explorer.goruntime.creator import creator_link

        with self.session.lock:
            link = creator_link(self.session.proc, g)
        self.post_message(CreatorReady(link))

    @guarded
    def on_creator_ready(self, msg: CreatorReady) -> None:
        link = msg.link
        if link.parent is None:
            self.notify(link.note or f"goroutine {link.parent_id} is gone", severity="warning")
            return
        parent = link.parent
        if not self.q(GoroutineList).show_goroutine(parent):
            self.notify(f"goroutine {parent.id} is hidden by the filter", severity="warning")
        self.select_goroutine(parent, link.frame)
        if link.note:
            self.notify(link.note, severity="warning")
            return
        where = ""
        if link.go_statement is not None:
            fn, file, line = link.go_statement
            where = f"{fn} {os.path.basename(file)}:{line}"
        self.notify(f"goroutine {parent.id} created goroutine {link.child.id} at {where}")
