"""Spread per-goroutine work over the machine's cores with fork (Linux).

Reading a core is pure Python and CPU-bound; a 100,000-goroutine core takes seconds per core. The
model is opened (and everything shared, such as the goroutine list, computed) before forking, so
each child inherits it copy-on-write, and the core stays one shared mmap. Children send back bytes
(already-encoded output); a child that fails has its share redone in the parent, so the result never
depends on the workers.

Only for single-threaded callers (the CLI): forking a process that runs threads (the TUI's
workers) is unsafe, and :func:`map_bytes` then runs serially.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

MIN_ITEMS = 4000  # below this, forking costs more than it saves


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def map_bytes(fn: Callable[[Sequence[T]], bytes], items: Sequence[T], *, workers: int | None = None,
              min_items: int | None = None) -> list[bytes]:
    """``[fn(chunk) for chunk in chunks(items)]``, the chunks in order, computed in parallel."""
    if min_items is None:
        min_items = MIN_ITEMS
    n = workers if workers is not None else cpu_count()
    if os.environ.get("GOCORE_TUI_WORKERS"):
        n = int(os.environ["GOCORE_TUI_WORKERS"])
    n = min(n, max(1, len(items) // max(1, min_items // 2)))
    if n <= 1 or len(items) < min_items or not hasattr(os, "fork") or threading.active_count() > 1:
        return [fn(items)]
    size = -(-len(items) // n)
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    children: list[tuple[int, int, Sequence[T]]] = []
    for chunk in chunks[1:]:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: compute, send, and leave without running the parent's cleanup
            os.close(r)
            code = 0
            try:
                data = fn(chunk)
                _write_all(w, struct.pack("<Q", len(data)) + data)
            except BaseException:  # any failure: the parent redoes this chunk
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        children.append((pid, r, chunk))
    results = [fn(chunks[0])]
    for pid, r, chunk in children:
        data = _read_all(r)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        ok = os.waitstatus_to_exitcode(status) == 0 and len(data) >= 8
        if ok:
            (length,) = struct.unpack_from("<Q", data)
            ok = len(data) == 8 + length
        results.append(data[8:] if ok else fn(chunk))
    return results


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, 1 << 20):
        parts.append(chunk)
    return b"".join(parts)
