"""Reachability from the roots: a breadth-first search of the object graph, keeping for every
reached object the edge it was first reached by (so a shortest path to a root can be read back).

Breadth-first levels are vectorised (one numpy gather per level); a long chain (a linked list of a
million nodes makes a million levels of one node each) switches to a plain Python queue while the
frontier stays small, so neither shape costs more than a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from explorer.goruntime.heap.pointers import Graph
    from explorer.goruntime.heap.roots import RootSet

SMALL_FRONTIER = 256
PY_BATCH = 1 << 14


@dataclass
class Reach:
    """Per object: its BFS depth (-1: unreachable) and how it was first reached."""

    depth: npt.NDArray[np.int32]
    parent: npt.NDArray[np.int32]  # the object it was reached from; -1 for objects a root points to
    via: npt.NDArray[np.int64]  # graph edge index (parent >= 0) or root edge index (parent == -1)

    @property
    def reachable(self) -> npt.NDArray[np.bool_]:
        return self.depth >= 0


def reachability(graph: Graph, roots: RootSet, nobjects: int) -> Reach:
    depth = np.full(nobjects, -1, dtype=np.int32)
    parent = np.full(nobjects, -1, dtype=np.int32)
    via = np.full(nobjects, -1, dtype=np.int64)
    if not roots.edges:
        return Reach(depth, parent, via)
    uniq, first = np.unique(roots.dst, return_index=True)
    depth[uniq] = 0
    via[uniq] = first
    indptr, dst = graph.indptr, graph.dst
    frontier = uniq.astype(np.int32)
    level = 0
    while len(frontier):
        if len(frontier) < SMALL_FRONTIER:
            frontier, level = _python_levels(frontier, level, indptr, dst, depth, parent, via)
            continue
        starts = indptr[frontier]
        cnt = indptr[frontier + 1] - starts
        tot = int(cnt.sum())
        if not tot:
            break
        offs = np.repeat(starts - (np.cumsum(cnt) - cnt), cnt) + np.arange(tot, dtype=np.int64)
        nbr = dst[offs]
        new = depth[nbr] < 0
        if not new.any():
            break
        nbr, offs = nbr[new], offs[new]
        par = np.repeat(frontier, cnt)[new]
        u, fi = np.unique(nbr, return_index=True)
        level += 1
        depth[u] = level
        parent[u] = par[fi]
        via[u] = offs[fi]
        frontier = u.astype(np.int32)
    return Reach(depth, parent, via)


def _python_levels(frontier: npt.NDArray[np.int32], level: int, indptr: npt.NDArray[np.int64],
                   dst: npt.NDArray[np.int32], depth: npt.NDArray[np.int32], parent: npt.NDArray[np.int32],
                   via: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int32], int]:
    """Breadth-first levels in Python while the frontier is small; returns the next frontier.
    Memoryviews give plain ints without numpy scalar objects (a million-node chain is a million
    levels)."""
    ip, ds, dp, pa, vi = (x.data for x in (indptr, dst, depth, parent, via))
    cur = frontier.tolist()
    while cur and len(cur) < SMALL_FRONTIER:
        nxt: list[int] = []
        level += 1
        for node in cur:
            lo, hi = ip[node], ip[node + 1]
            for k in range(lo, hi):
                n = ds[k]
                if dp[n] < 0:
                    dp[n] = level
                    pa[n] = node
                    vi[n] = k
                    nxt.append(n)
        cur = nxt
    return np.array(cur, dtype=np.int32), level


def path_to(reach: Reach, i: int) -> tuple[int, list[tuple[int, int]]] | None:
    """(root edge index, [(object, graph edge it was reached by; -1 for the first)...]) from the
    root to object ``i``; None if ``i`` is unreachable."""
    if reach.depth[i] < 0:
        return None
    chain: list[tuple[int, int]] = []
    cur = i
    for _ in range(int(reach.depth[i]) + 1):  # bounded by the depth BFS recorded
        p = int(reach.parent[cur])
        if p < 0:
            break
        chain.append((cur, int(reach.via[cur])))
        cur = p
    chain.reverse()
    return int(reach.via[cur]), [(cur, -1), *chain]


__all__ = ["Reach", "path_to", "reachability"]
