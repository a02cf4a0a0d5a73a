"""Grouping and filtering goroutines (a core with 10,000 goroutines parked in four places reads as
four groups)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from explorer.goruntime.goroutines import Goroutine
from explorer.goruntime.process import GoProcess


@dataclass
class GoroutineGroup:
    """Goroutines with the same state and the same stack (functions and lines)."""

    key: tuple[object, ...]
    status: str
    goroutines: list[Goroutine] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.goroutines)


def stack_key(proc: GoProcess, g: Goroutine) -> tuple[object, ...]:
    hit = proc.stack_shape(g)  # parked alike: one key per shared stack shape, not per goroutine
    if hit is not None:
        where = hit[0].memo("stack_key", lambda s: tuple((f[0], f[1], f[2]) for f in s.frames))
    else:
        where = tuple((f.function, f.file, f.line) for f in proc.backtrace(g).frames)
    return (g.header_status, where)


def group_goroutines(proc: GoProcess, gs: Iterable[Goroutine]) -> list[GoroutineGroup]:
    """Groups in order of first appearance; the biggest groups are what a reader wants first."""
    groups: dict[tuple[object, ...], GoroutineGroup] = {}
    gs = list(gs)
    proc.prime_backtraces(gs)
    for g in gs:
        key = stack_key(proc, g)
        grp = groups.get(key)
        if grp is None:
            grp = groups[key] = GoroutineGroup(key, g.header_status)
        grp.goroutines.append(g)
    return sorted(groups.values(), key=lambda gr: -gr.count)


def matches(proc: GoProcess, g: Goroutine, text: str) -> bool:
    """Case-insensitive match of ``text`` against status, wait reason, pprof labels (``key=value``,
    see :func:`explorer.goruntime.labels.labels_match`), functions and files."""
    from explorer.goruntime.labels import labels_match
    from explorer.goruntime.model import labels_of

    t = text.lower()
    if t in g.status.lower() or (g.wait_reason and t in g.wait_reason.lower()) or t == str(g.id):
        return True
    if g.labels_ptr and labels_match(labels_of(proc, g), t):
        return True
    for f in proc.backtrace(g).frames:
        if t in f.function.lower() or t in f.file.lower() or t in f"{f.file}:{f.line}".lower():
            return True
    cb = proc.created_by(g)
    return bool(cb and t in cb[0].lower())
