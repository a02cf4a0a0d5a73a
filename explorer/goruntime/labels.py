"""pprof labels of a goroutine (``g.labels``), and how they are shown.

``runtime.g.labels`` is the ``unsafe.Pointer`` runtime/pprof's ``SetGoroutineLabels`` (and
``pprof.Do``) stored: a ``*labelMap`` (runtime/pprof/label.go). A new goroutine starts with its
creator's pointer (``newproc1`` copies it), so children share their parent's labels.

- Go 1.21-1.23: ``type labelMap map[string]string``: the pointer is to a map variable, which holds
  the ``*hmap`` of a classic bucketed map;
- Go 1.24-1.26: ``type labelMap struct{ LabelSet }`` with ``LabelSet{ list []label }`` and
  ``label{ key, value string }``, the list sorted by key;
- Go 1.27: ``type labelMap struct{ label.Set }`` (internal/runtime/pprof/label) with
  ``Set{ List []Label }`` and ``Label{ Key, Value string }``: the same words as 1.24.

None of this needs DWARF (stripped binaries have labels too): only the runtime's ``hmap`` offsets,
which come from the layout table where DWARF is missing.
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
    """The labels at ``g.labels``; None when there are none. An ExplorerError when they are garbage."""
    if not ptr:
        return None
    # Kept on the process, by ``g.labels`` pointer (children share their parent's): the list,
    # filter and grouping ask for them again and again.
    cache: dict[int, dict[str, str] | ExplorerError | None] = proc.__dict__.setdefault("_labels_cache", {})
    got = cache.get(ptr)
    if got is None and ptr not in cache:
        try:
            got = _read_labels(proc, ptr)
        except ExplorerError as e:
            got = e
        if len(cache) < 1 << 16:
            cache[ptr] = got
    if isinstance(got, ExplorerError):
        raise got
    return dict(got) if got is not None else None


def _read_labels(proc: GoProcess, ptr: int) -> dict[str, str] | None:
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


# --------------------------------------------------------------------------------------------------
# Showing labels

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@+#%*")


def quote_label(text: str) -> str:
    """A key or value as the list shows it: bare when it is one plain word, else Go-quoted."""
    if text and all(c in _PLAIN for c in text):
        return text
    out = ['"']
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c.isprintable() and c not in "\u2028\u2029":
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}" if ord(c) > 0xff else f"\\x{ord(c):02x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


def format_labels(labels: dict[str, str] | None) -> str:
    """``{route=/orders, tenant=acme}`` (sorted by key, as pprof keeps them); "" for none."""
    if not labels:
        return ""
    return "{" + ", ".join(f"{quote_label(k)}={quote_label(v)}" for k, v in sorted(labels.items())) + "}"


def labels_match(labels: dict[str, str] | None, text: str) -> bool:
    """Whether filter ``text`` (lower case) is in a label as shown (``key=value``, quoted or not),
    or, without ``=``, in a key or value."""
    if not labels or not text:
        return False
    for k, v in labels.items():
        if "=" in text:
            if text in f"{k}={v}".lower() or text in f"{quote_label(k)}={quote_label(v)}".lower():
                return True
        elif text in k.lower() or text in v.lower():
            return True
    return False


def _runtime_quote(text: str) -> str:
    """As Go 1.27's traceback prints a label key or value: bare when it holds only ASCII letters,
    digits, ``.``, ``/`` and ``_``, else quoted as runtime.printquoted quotes."""
    if all(c.isascii() and (c.isalnum() or c in "./_") for c in text):
        return text
    out = ['"']
    for c in text:
        esc = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\", '"': '\\"'}.get(c)
        if esc is not None:
            out.append(esc)
        elif " " <= c <= "~":
            out.append(c)
        elif ord(c) < 127:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


def traceback_labels(labels: dict[str, str] | None) -> str:
    """Labels as Go 1.27's traceback prints them after a goroutine's status: ``{key: value, ...}``
    (sorted by key, as pprof keeps them); "" for none."""
    if not labels:
        return ""
    return "{" + ", ".join(f"{_runtime_quote(k)}: {_runtime_quote(v)}" for k, v in sorted(labels.items())) + "}"
