"""pprof labels of a goroutine (``g.labels``).

Go 1.24+: ``g.labels`` points to a ``labelMap`` struct whose first field is a ``LabelSet``/``label.Set``
holding ``list []{key, value string}``. Go ≤ 1.23: it points to a ``labelMap``, a
``map[string]string``, read with the map decoder of :mod:`explorer.goruntime.maps`.
"""

from __future__ import annotations

import struct
from typing import Any

from explorer.errors import ExplorerError

MAX_LABELS = 1024
MAX_LEN = 1 << 16


def _str(mem: Any, ptr: int, n: int) -> str:
    if n > MAX_LEN:
        raise ExplorerError(f"label string of garbage length {n}")
    return mem.read(ptr, n).decode("utf-8", "replace") if n else ""


def read_labels(proc: Any, ptr: int) -> dict[str, str] | None:
    """The labels at ``g.labels``; None when there are none."""
    if not ptr:
        return None
    mem = proc.memory
    minor = proc.go_minor or 0
    if minor >= 24:
        arr, n, cap = struct.unpack("<QQQ", mem.read(ptr, 24))
        if n > cap or n > MAX_LABELS:
            raise ExplorerError(f"label list of garbage length {n}")
        out: dict[str, str] = {}
        raw = mem.read(arr, 32 * n) if n else b""
        for i in range(n):
            kp, kn, vp, vn = struct.unpack_from("<QQQQ", raw, 32 * i)
            out[_str(mem, kp, kn)] = _str(mem, vp, vn)
        return out
    try:
        from explorer.goruntime.maps import read_string_map
    except ImportError:
        return None
    return read_string_map(proc, ptr)
