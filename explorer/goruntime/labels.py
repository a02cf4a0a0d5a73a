"""pprof labels of a goroutine (``g.labels``).

Go 1.24+: ``g.labels`` points to a ``labelMap`` struct whose first field is a ``LabelSet``/``label.Set``
holding ``list []{key, value string}``. Go ≤ 1.23: it points to a ``labelMap``, a
``map[string]string`` in the classic bucket layout.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from explorer.errors import ExplorerError

if TYPE_CHECKING:
    from explorer.core.memory import Memory
    from explorer.goruntime.process import GoProcess

MAX_LABELS = 1024
MAX_LEN = 1 << 16
MAX_LABEL_MAP_B = 10
MAX_BUCKET_READS = 1 << 14


def _str(mem: Memory, ptr: int, n: int) -> str:
    if n > MAX_LEN:
        raise ExplorerError(f"label string of garbage length {n}")
    return mem.read(ptr, n).decode("utf-8", "replace") if n else ""


def read_labels(proc: GoProcess, ptr: int) -> dict[str, str] | None:
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
    # g.labels points at a labelMap variable, and a map variable holds the *hmap.
    hmap = mem.read_u64(ptr)
    return _classic_string_map(proc, hmap) if hmap else None


def _classic_string_map(proc: GoProcess, hmap: int) -> dict[str, str]:
    """A ``map[string]string`` in the classic bucket layout (Go <= 1.23): buckets of 8 slots,
    ``tophash [8]uint8`` then 8 keys, 8 values and the overflow pointer; a slot is live when its
    tophash is >= 5 (minTopHash). Growing maps keep unevacuated entries in ``oldbuckets``."""
    mem = proc.memory
    lay = proc.layout
    count = mem.read_u64(hmap + lay.need("runtime.hmap", "count"))
    b = mem.read_u8(hmap + lay.need("runtime.hmap", "B"))
    buckets = mem.read_u64(hmap + lay.need("runtime.hmap", "buckets"))
    old = mem.read_u64(hmap + lay.need("runtime.hmap", "oldbuckets"))
    # At most MAX_LABELS entries at a load factor of 6.5 need 2^8 buckets: a larger B is garbage.
    if b > MAX_LABEL_MAP_B or count > MAX_LABELS:
        raise ExplorerError(f"label map with garbage size (B={b}, count={count})")
    bucket_size = 8 + 8 * 16 + 8 * 16 + 8
    out: dict[str, str] = {}
    steps = 0
    for base, nb in ((buckets, 1 << b), (old, 1 << max(b - 1, 0))):
        if not base:
            continue
        for i in range(nb):
            addr = base + i * bucket_size
            chain: set[int] = set()
            while addr:
                if addr in chain:
                    raise ExplorerError(f"label map: the overflow chain of bucket {i} loops")
                chain.add(addr)
                steps += 1
                if steps > MAX_BUCKET_READS:
                    raise ExplorerError(f"label map: more than {MAX_BUCKET_READS} buckets (corrupt)")
                raw = mem.read(addr, bucket_size)
                for slot in range(8):
                    if raw[slot] < 5:
                        continue
                    kp, kn = struct.unpack_from("<QQ", raw, 8 + 16 * slot)
                    vp, vn = struct.unpack_from("<QQ", raw, 8 + 128 + 16 * slot)
                    out.setdefault(_str(mem, kp, kn), _str(mem, vp, vn))
                addr = struct.unpack_from("<Q", raw, bucket_size - 8)[0]
            if len(out) >= count:
                return out
    return out
