"""Expressions of ``print``, ``x``, ``save`` and the TUI's ``:`` line, as delve evaluates them on a core.

:mod:`.syntax` parses (Go's expression grammar less calls of user functions), :mod:`.types` resolves
the types conversions and assertions name, :mod:`.ops` holds Go's operators and conversions, and
:mod:`.evaluate` walks the tree on a frame's variables and the program's globals.
"""

from __future__ import annotations

from explorer.goruntime.expr.evaluate import evaluate, parse_address, parse_range, read_bytes_for, value_bytes
from explorer.goruntime.expr.syntax import (
    AddrOf,
    Binary,
    Call,
    Deref,
    Index,
    Literal,
    Name,
    Node,
    Select,
    SliceExpr,
    TypeAssert,
    TypeExpr,
    Unary,
    parse,
    tokenize,
)

__all__ = [
    "AddrOf", "Binary", "Call", "Deref", "Index", "Literal", "Name", "Node", "Select", "SliceExpr", "TypeAssert",
    "TypeExpr", "Unary", "evaluate", "parse", "parse_address", "parse_range", "read_bytes_for", "tokenize",
    "value_bytes",
]
