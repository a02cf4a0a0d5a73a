"""The JSON value tree of ``print --json`` and ``vars --json`` (contract: CLI.md's value table).

Every node has ``type`` (the Go type name), ``kind`` and ``address``, then the kind's own keys.
Collections give at most ``max_elements`` children then ``"truncated": true``; nesting is followed
to ``max_depth`` and pointers through at most ``max_indirections`` hops (a pointer past them has
``"truncated": true`` and no target: a request handler's ``http.ResponseWriter`` otherwise drags in
the whole server, 100,000 nodes); a cycle ends in a node with ``"cycle": true``. One call produces at most
``MAX_JSON_NODES`` nodes and ``MAX_JSON_TEXT`` bytes of string text in full, so that a garbage
value never explodes. Memory problems below the root become ``unreadable`` nodes saying why.

Strings are given as text (invalid UTF-8 escaped); ``json.dumps`` (with its default
``ensure_ascii``) keeps the output safe for a terminal.
"""

from __future__ import annotations

import math
from typing import Any

from explorer.errors import ExplorerError, UnreadableMemory
from explorer.goruntime.values import MAX_ELEMENTS, MAX_STRING, Value, Variable, mem_reason

#: Nesting levels :func:`value_json` descends by default (pointers included).
DEFAULT_JSON_DEPTH = 48
#: Value nodes one :func:`value_json` call produces at most (nested collections multiply).
MAX_JSON_NODES = 500_000
#: String bytes one :func:`value_json` call gives in full; past it, strings are cut at 1 KiB.
MAX_JSON_TEXT = 64 << 20


def value_json(v: Value, max_depth: int = DEFAULT_JSON_DEPTH, max_elements: int = MAX_ELEMENTS) -> dict[str, Any]:
    """The value tree of CLI.md (``type``, ``kind``, ``address`` and the kind's keys)."""
    return _JsonWriter(max_depth, max_elements).tree(v, 0, frozenset())


def variable_json(var: Variable, max_depth: int = DEFAULT_JSON_DEPTH) -> dict[str, Any]:
    """One entry of ``vars --json``: ``{"name", "kind": "arg"|"local", "value", "decl_line"}``."""
    return {"name": var.name, "kind": var.kind, "value": value_json(var.value, max_depth),
            "decl_line": var.decl_line}


class _JsonWriter:
    def __init__(self, max_depth: int, max_elements: int, max_indirections: int = 4) -> None:
        self.max_depth = max_depth
        self.max_indirections = max_indirections
        self.max_elements = max_elements
        self.budget = MAX_JSON_NODES
        self.text_budget = MAX_JSON_TEXT

    def tree(self, v: Value, depth: int, path: frozenset[tuple[int, str]]) -> dict[str, Any]:
        self.budget -= 1
        d: dict[str, Any] = {"type": v.type_name, "kind": v.kind, "address": v.address}
        k = v.kind
        deeper = depth < self.max_depth and self.budget > 0
        try:
            return self._fill(v, d, k, depth, deeper, path)
        except UnreadableMemory as e:
            return {"type": v.type_name, "kind": "unreadable", "address": v.address, "error": mem_reason(e)}
        except ExplorerError as e:
            return {"type": v.type_name, "kind": "unreadable", "address": v.address, "error": str(e)}

    def _limit(self) -> int:
        return max(0, min(self.max_elements, self.budget))

    def _fill(self, v: Value, d: dict[str, Any], k: str, depth: int, deeper: bool,
              path: frozenset[tuple[int, str]]) -> dict[str, Any]:
        if k in ("bool", "int", "uint"):
            d["value"] = v.value
        elif k == "float":
            d["value"] = _json_float(v.value)
        elif k == "complex":
            d["real"], d["imag"] = _json_float(v.real), _json_float(v.imag)
        elif k == "string":
            text, cut = v.text(max(1024, min(MAX_STRING, self.text_budget)))
            self.text_budget -= len(text)
            d.update(len=v.length, data=v.data, value=text)
            if cut:
                d["truncated"] = True
        elif k in ("slice", "array"):
            d["len"] = v.length
            if k == "slice":
                d["cap"], d["data"] = v.cap, v.data
            d["elem_type"] = v.elem_type
            key = (int(v.data or 0), v.type_name)
            if k == "slice" and key in path and v.data:
                d["elements"], d["cycle"] = [], True
            elif deeper:
                sub = path | {key} if k == "slice" else path
                n = self._limit()
                d["elements"] = [self.tree(e, depth + 1, sub) for e in v.elements(n)]
                if len(d["elements"]) < int(v.length or 0):
                    d["truncated"] = True
            else:
                d["elements"] = []
                if v.length:
                    d["truncated"] = True
        elif k == "struct":
            if deeper:
                d["fields"] = [{"name": f.name, "value": self.tree(fv, depth + 1, path),
                                **({"embedded": True} if f.embedded else {})}
                               for f, fv in v.fields()]
            else:
                d["fields"] = []
                d["truncated"] = True
        elif k == "map":
            d["len"] = v.length
            d["value"] = v.value  # the header's address (0: a nil map)
            d["key_type"] = v._t.key.name if v._t is not None and v._t.key is not None else None
            d["value_type"] = v.elem_type
            key = (int(v.value or 0), v.type_name)
            if key in path and v.value:
                d["entries"], d["cycle"] = [], True
            elif deeper and v.value:
                sub = path | {key}
                n = self._limit()
                ents = v.entries(n)
                d["entries"] = [{"key": self.tree(a, depth + 1, sub), "value": self.tree(b, depth + 1, sub)}
                                for a, b in ents]
                if len(ents) < int(v.length or 0):
                    d["truncated"] = True
            else:
                d["entries"] = []
                if v.length:
                    d["truncated"] = True
            if v._map is not None:
                d["layout"] = v._map.layout
        elif k == "ptr":
            d["value"] = v.value
            d["target"] = None
            if v.type_name == "unsafe.Pointer" or (v._t is not None and v._t.kind == "unsafe.Pointer"):
                pass
            elif v.value:
                key = (int(v.value), v.type_name)
                if key in path:
                    d["cycle"] = True
                elif deeper and len(path) < self.max_indirections:
                    t = v.target()
                    d["target"] = self.tree(t, depth + 1, path | {key}) if t is not None else None
                else:
                    d["truncated"] = True  # past the depth or the indirections: ask for it by name
        elif k == "iface":
            d["dynamic_type"] = v.dynamic_type
            d["value"] = None
            if v._iface is not None:
                if deeper:
                    dv = v.dynamic_value()
                    d["value"] = self.tree(dv, depth + 1, path) if dv is not None else None
                else:
                    d["truncated"] = True
        elif k == "chan":
            d.update(len=v.length, cap=v.cap, elem_type=v.elem_type, value=v.value, closed=v.closed)
            if deeper and v.value:
                n = self._limit()
                d["elements"] = [self.tree(e, depth + 1, path) for e in v.queued(n)]
                if len(d["elements"]) < int(v.length or 0):
                    d["truncated"] = True
            else:
                d["elements"] = []
        elif k == "func":
            d["function"] = v.function
            d["value"] = v.value
            d["pc"] = v.data
        elif k == "unreadable":
            d["error"] = v.error
        return d


def _json_float(x: float | None) -> float | str | None:
    if x is None:
        return None
    if math.isnan(x) or math.isinf(x):
        return str(x).replace("inf", "Inf").replace("nan", "NaN")  # JSON has no NaN or Inf
    return x


