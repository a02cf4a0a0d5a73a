"""From a goroutine to the one that created it: ``created by F in goroutine N`` as a link.

The runtime records, for each goroutine, the id of its creator (``g.parentGoid``, Go 1.21+) and the
pc of the ``go`` statement (``g.gopc``, a return address in the creator's function F: the runtime
prints F as ``created by``). Following the link selects goroutine N at its frame in F, the function
that ran the ``go`` statement (N may have moved on inside F; the go statement's own line is given
beside). When N has exited (goroutine ids are never reused: no live goroutine has that id) or has
left F, :class:`CreatorLink` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.goruntime.goroutines import Goroutine
from explorer.goruntime.process import GoProcess


@dataclass
class CreatorLink:
    """Where ``created by`` leads: the creator (None when it has exited or is unknown), its frame in
    the go statement's function (None when it is not on its stack), the go statement
    (function, file, line) and a sentence for the user when something is missing."""

    child: Goroutine
    parent_id: int | None
    parent: Goroutine | None
    frame: int | None
    go_statement: tuple[str, str, int] | None
    note: str | None = None


def creator_link(proc: GoProcess, g: Goroutine) -> CreatorLink:
    """Goroutine ``g``'s creator and its frame at the go statement (see the module docstring)."""
    cb = proc.created_by(g)
    where = (cb[0], cb[1], cb[2]) if cb else None
    pid = g.parent_goid or None
    if cb is None or pid is None:
        return CreatorLink(g, pid, None, None, where,
                           f"the runtime recorded no creator for goroutine {g.id}")
    parent = next((x for x in proc.goroutines if x.id == pid), None)
    if parent is None:
        return CreatorLink(g, pid, None, None, where,
                           f"goroutine {pid}, which created goroutine {g.id} in {cb[0]}, has exited")
    fn = proc.pclntab.find_func(g.gopc)
    frames = proc.backtrace(parent).frames
    index = None
    if fn is not None:
        # The outermost logical frame of F's physical frame: F itself, even where F inlined calls.
        for f in frames:
            if f.entry == fn.entry and not f.inlined:
                index = f.index
                break
    note = None
    if index is None:
        note = f"goroutine {pid} is no longer in {cb[0]}, where it created goroutine {g.id}"
    return CreatorLink(g, pid, parent, index, where, note)
