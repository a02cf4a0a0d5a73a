"""Which goroutines a listing shows, and how it groups them by label: delve's ``goroutines`` options.

- ``-with label KEY=VALUE``: goroutines whose pprof label KEY is VALUE (exactly, as delve);
  ``-with label KEY``: goroutines that have label KEY; ``-without label ...``: the others;
- ``-group label KEY``: one group per value of KEY, biggest first, then the goroutines without it;
- anything else is the list's filter text (:func:`explorer.goruntime.grouping.matches`), which
  also matches labels as they are shown (``tenant=acme``).

The CLI gives these as options (``goroutines CORE -with label tenant=acme``); the TUI's filter line
and ``:goroutines`` take the same words (``-with label tenant=acme -group label route``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field

from explorer.errors import ExplorerError
from explorer.goruntime.goroutines import Goroutine
from explorer.goruntime.grouping import GoroutineGroup, matches
from explorer.goruntime.model import labels_of
from explorer.goruntime.process import GoProcess

#: What ``-with``/``-without``/``-group`` may select on (delve also has locations, user, running).
KINDS = ("label",)
_OPTION_RE = re.compile(r"(?:^|\s)-(?:with|without|group)(?:\s|$)")
_GROUP_RE = re.compile(r"""(?:^|\s+)-group(?:\s+(?:"(?:[^"\\]|\\.)*"|'[^']*'|\S+)){0,2}""")


@dataclass(frozen=True)
class LabelCondition:
    """``-with label KEY=VALUE`` (``value`` None: ``-with label KEY``); ``negate`` for ``-without``."""

    key: str
    value: str | None = None
    negate: bool = False

    def test(self, labels: dict[str, str] | None) -> bool:
        have = labels is not None and self.key in labels
        if have and self.value is not None:
            have = labels is not None and labels[self.key] == self.value
        return have != self.negate

    def __str__(self) -> str:
        arg = self.key if self.value is None else f"{self.key}={self.value}"
        return f"-{'without' if self.negate else 'with'} label {arg}"


@dataclass
class GoroutineQuery:
    """A filter text, label conditions (all must hold) and an optional label to group by."""

    text: str = ""
    conditions: list[LabelCondition] = field(default_factory=list)
    group_label: str | None = None

    @property
    def filters(self) -> bool:
        """Whether it leaves goroutines out at all."""
        return bool(self.text or self.conditions)

    def keep(self, proc: GoProcess, g: Goroutine) -> bool:
        """Whether ``g`` passes the conditions and the text."""
        if self.conditions:
            labels = labels_of(proc, g)
            if not all(c.test(labels) for c in self.conditions):
                return False
        return not self.text or matches(proc, g, self.text)


def label_condition(kind: str, arg: str, negate: bool = False) -> LabelCondition:
    """The condition of ``-with KIND ARG`` (``-without`` when ``negate``)."""
    word = "-without" if negate else "-with"
    if kind != "label":
        raise ExplorerError(f"{word} {kind}: only '{word} label KEY[=VALUE]' is supported")
    key, eq, value = arg.partition("=")
    if not key:
        raise ExplorerError(f"{word} label {arg}: a label key is needed (KEY or KEY=VALUE)")
    return LabelCondition(key, value if eq else None, negate)


def group_label_key(kind: str, key: str) -> str:
    """The key of ``-group KIND KEY``."""
    if kind != "label":
        raise ExplorerError(f"-group {kind}: only '-group label KEY' is supported")
    if not key:
        raise ExplorerError("-group label: a label key is needed")
    return key


def parse_query(text: str) -> GoroutineQuery:
    """The filter line's words: ``-with label K=V``, ``-without label K``, ``-group label K`` and
    the rest, which is filter text. Text without those options is filter text as typed."""
    if not _OPTION_RE.search(text):
        return GoroutineQuery(text.strip())
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise ExplorerError(f"{text!r}: {e}") from None
    q = GoroutineQuery()
    rest: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-with", "-without", "-group"):
            if i + 2 >= len(words):
                raise ExplorerError(f"{w}: usage: {w} label {'KEY' if w == '-group' else 'KEY[=VALUE]'}")
            kind, arg = words[i + 1], words[i + 2]
            if w == "-group":
                q.group_label = group_label_key(kind, arg)
            else:
                q.conditions.append(label_condition(kind, arg, negate=w == "-without"))
            i += 3
            continue
        rest.append(w)
        i += 1
    q.text = " ".join(rest)
    return q


def select_goroutines(proc: GoProcess, gs: Iterable[Goroutine], query: GoroutineQuery) -> list[Goroutine]:
    """The goroutines of ``gs`` that ``query`` keeps, in order."""
    if not query.filters:
        return list(gs)
    return [g for g in gs if query.keep(proc, g)]


def group_by_label(proc: GoProcess, gs: Iterable[Goroutine], key: str) -> list[GoroutineGroup]:
    """One group per value of label ``key`` (biggest first, then by value), then the goroutines
    without it. A group's ``key`` is (``key``, value or None) and its ``status`` the text shown:
    ``key=value`` or ``no label key``."""
    from explorer.goruntime.labels import quote_label

    groups: dict[str | None, GoroutineGroup] = {}
    for g in gs:
        labels = labels_of(proc, g)
        value = labels.get(key) if labels else None
        grp = groups.get(value)
        if grp is None:
            title = f"no label {quote_label(key)}" if value is None else f"{quote_label(key)}={quote_label(value)}"
            grp = groups[value] = GoroutineGroup((key, value), title)
        grp.goroutines.append(g)
    labelled = sorted((grp for v, grp in groups.items() if v is not None),
                      key=lambda grp: (-grp.count, str(grp.key[1])))
    return labelled + ([groups[None]] if None in groups else [])


def without_group(text: str) -> str:
    """Filter words less their ``-group KIND KEY``."""
    return _GROUP_RE.sub("", text).strip()
