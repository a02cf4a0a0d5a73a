"""What the heap's parts see of the :class:`~explorer.goruntime.heap.Heap` facade.

The parts (pointers, roots, reachability, types) are built by the facade and read it back; typing
them against this protocol rather than the facade keeps the package free of import cycles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from explorer.goruntime.heap.memview import VecMemory
    from explorer.goruntime.heap.params import HeapParams
    from explorer.goruntime.heap.rtypes import TypeDescriptors
    from explorer.goruntime.heap.spans import Objects, Spans
    from explorer.goruntime.process import GoProcess


class HeapLike(Protocol):
    """The facade's attributes the parts use (the higher parts typed loosely: they import the
    lower ones)."""

    proc: GoProcess
    progress: Callable[[str, float], None]
    notes: list[str]

    @property
    def params(self) -> HeapParams: ...
    @property
    def vm(self) -> VecMemory: ...
    @property
    def mheap(self) -> int: ...
    @property
    def spans(self) -> Spans: ...
    @property
    def objects(self) -> Objects: ...
    @property
    def descriptors(self) -> TypeDescriptors: ...
    @property
    def pointers(self) -> Any: ...
    @property
    def graph(self) -> Any: ...
    @property
    def roots(self) -> Any: ...
    @property
    def reach(self) -> Any: ...
    @property
    def type_registry(self) -> Any: ...
    @property
    def types(self) -> Any: ...
    def type_name(self, i: int) -> str | None: ...
    def elements(self, i: int) -> int: ...
