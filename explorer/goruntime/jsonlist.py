"""The goroutine list as compact JSON, fast: ``goroutines --json [--stacks]`` on 100,000 goroutines.

The text is exactly ``json.dumps(goroutine_dict(proc, g, stacks=...), separators=(",", ":"))``
(tests/test_scale.py checks it), made cheaper for parked goroutines that share a stack shape
(:mod:`explorer.goruntime.shapes`): the frames' JSON is encoded once per shape as ``%``-formats
whose only holes are the frames' ``sp``; the status, the creator and the start function once per
distinct value; so a goroutine costs one f-string and two formats. The fast path writes
goroutine_fields' keys itself: if that function ever has other keys, every goroutine takes the
slow path (json.dumps of goroutine_dict), so the text stays right.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from explorer.goruntime.model import goroutine_dict, goroutine_fields, is_runtime_function, labels_of

if TYPE_CHECKING:
    from explorer.goruntime.goroutines import Goroutine
    from explorer.goruntime.process import GoProcess
    from explorer.goruntime.shapes import Shape

_encode = json.JSONEncoder(separators=(",", ":")).encode


def _frame_format(fn: str, file: str, line: int, pc: int, inlined: bool, entry: int, index: int) -> str:
    """frame_dict's JSON with ``%d`` for its sp (the literal text's own % doubled)."""
    head = _encode({"index": index, "function": fn, "file": file, "line": line, "pc": pc})
    tail = _encode({"inlined": inlined, "offset": pc - entry, "stack": "g"})
    return (head[:-1] + ',"sp":').replace("%", "%%") + "%d," + tail[1:].replace("%", "%%")


class _ShapeJSON:
    """One shape's fragments: ``"current":...,"user":...,`` and the frames array, as %-formats of
    the frames' sp, with the sp offsets to fill them with."""

    __slots__ = ("cu_offs", "current_user", "frame_offs", "frames")

    def __init__(self, shape: Shape) -> None:
        fmts = [_frame_format(fn, file, line, pc, inl, entry, i)
                for i, (fn, file, line, pc, _so, _fo, inl, entry, _sym, _ph) in enumerate(shape.frames)]
        offs = [f[4] for f in shape.frames]
        u = next((i for i, f in enumerate(shape.frames) if not is_runtime_function(f[0])), None)
        self.current_user = f'"current":{fmts[0]},"user":{fmts[u] if u is not None else "null"},'
        self.cu_offs = (offs[0],) if u is None else (offs[0], offs[u])
        self.frames = "[" + ",".join(fmts) + "]"
        self.frame_offs = tuple(offs)


#: goroutine_fields' keys, in order, as the fast path writes them; any other set takes the slow path.
FIELDS = ("id", "status", "wait_reason", "thread", "current", "user", "go_statement", "start", "labels",
          "address", "parent_id", "wait_since", "crashed", "backtrace_error")


class GoroutineJSON:
    """Encodes goroutines as goroutine_dict's compact JSON (see the module's docstring)."""

    def __init__(self, proc: GoProcess, stacks: bool) -> None:
        self.proc = proc
        self.stacks = stacks
        self._status: dict[tuple[str, str | None], str] = {}
        self._origin: dict[tuple[int, int], str] = {}
        crashed = proc.crashed_goroutine
        self._crashed = crashed.addr if crashed is not None else None
        self.fast: bool | None = None  # decided on the first goroutine

    def _check_fields(self, g: Goroutine) -> bool:
        """Whether goroutine_fields still has the keys the fast path writes (a new key: slow path)."""
        return tuple(goroutine_fields(self.proc, g, None, None, None)) == FIELDS

    def _origin_of(self, g: Goroutine) -> str:
        """``"go_statement":...,"start":...,`` as goroutine_fields has them."""
        key = (g.gopc if g.gopc and g.id != 1 else 0, g.startpc)
        text = self._origin.get(key)
        if text is None:
            d = goroutine_fields(self.proc, g, None, None, None)
            text = self._origin[key] = f'"go_statement":{_encode(d["go_statement"])},"start":{_encode(d["start"])},'
        return text

    def encode(self, g: Goroutine) -> str:
        """``g`` as goroutine_dict's compact JSON (one object, no trailing separator)."""
        proc = self.proc
        hit = proc.stack_shape(g)
        if self.fast is None:
            self.fast = self._check_fields(g)
        if hit is None or not self.fast:
            return _encode(goroutine_dict(proc, g, stacks=self.stacks))
        shape, sp = hit
        sj: _ShapeJSON | None = shape.cache.get("json")
        if sj is None:
            sj = shape.memo("json", _ShapeJSON)
        sw = self._status.get((g.status, g.wait_reason))
        if sw is None:
            sw = self._status[(g.status, g.wait_reason)] = \
                f'"status":{_encode(g.status)},"wait_reason":{_encode(g.wait_reason)},'
        origin = self._origin_of(g)
        labels = _encode(labels_of(proc, g)) if g.labels_ptr else "null"
        cu = sj.current_user % tuple([sp + o for o in sj.cu_offs])
        text = (f'{{"id":{g.id},{sw}"thread":{"null" if g.thread is None else g.thread},{cu}{origin}'
                f'"labels":{labels},"address":{g.addr},'
                f'"parent_id":{"null" if g.parent_goid is None else g.parent_goid},'
                f'"wait_since":{g.waitsince or "null"},"crashed":{"true" if g.addr == self._crashed else "false"},'
                f'"backtrace_error":null')
        if self.stacks:
            return f'{text},"frames":{sj.frames % tuple([sp + o for o in sj.frame_offs])},"truncated":false}}'
        return text + "}"

    def encode_many(self, gs: Any) -> str:
        """The goroutines' JSON objects, comma-separated (no brackets)."""
        return ",".join([self.encode(g) for g in gs])
