"""Spread per-goroutine work over the machine's cores with fork (Linux).

Reading a core is pure Python and CPU-bound; a 100,000-goroutine core takes seconds per core. The
model is opened (and everything shared, such as the goroutine list, computed) before forking, so
each child inherits it copy-on-write, and the core stays one shared mmap. Children spool their
already-encoded output to unnamed temporary files that the parent copies out in order; a child that
fails has its share redone in the parent, so the result never depends on the workers.

Only for single-threaded callers (the CLI): forking a process that runs threads (the TUI's
workers) is unsafe, and :func:`stream_chunks` then runs serially.
"""

from __future__ import annotations

import gc
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import IO, TypeVar

T = TypeVar("T")

MIN_ITEMS = 4000  # below this, forking costs more than it saves


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _plan(items: Sequence[T], workers: int | None, min_items: int | None) -> list[Sequence[T]]:
    """The chunks to spread ``items`` over (one chunk: do not fork)."""
    if min_items is None:
        min_items = MIN_ITEMS
    n = workers if workers is not None else cpu_count()
    if os.environ.get("GOCORE_TUI_WORKERS"):
        n = int(os.environ["GOCORE_TUI_WORKERS"])
    n = min(n, max(1, len(items) // max(1, min_items // 2)))
    if n <= 1 or len(items) < min_items or not hasattr(os, "fork") or threading.active_count() > 1:
        return [items]
    size = -(-len(items) // n)
    return [items[i : i + size] for i in range(0, len(items), size)]


def _copy_out(spool: IO[bytes], fileno: int) -> bool:
    """Copy the whole spool file to ``fileno`` inside the kernel (no trip through Python's
    buffers: a worker's share of ``goroutines --json --stacks`` is a hundred MB); False if the
    kernel cannot (then nothing was written)."""
    size = os.fstat(spool.fileno()).st_size
    done = 0
    try:
        while done < size:
            n = os.sendfile(fileno, spool.fileno(), done, size - done)
            if n == 0:
                break
            done += n
    except OSError:
        if done == 0:
            return False
        raise
    return True


def stream_chunks(fn: Callable[[Sequence[T]], Iterable[bytes]], items: Sequence[T], write: Callable[[bytes], object],
                  *, sep: bytes = b"", workers: int | None = None, min_items: int | None = None,
                  fileno: int | None = None, flush: Callable[[], object] | None = None) -> None:
    """``write`` every piece of ``fn(chunk)`` for the chunks of ``items`` in order, ``sep`` between
    pieces, computed in parallel and never held whole in memory.

    The parent streams its own chunk straight to ``write``; each forked child writes its pieces to an
    unnamed temporary file, which the parent copies out in order once its turn comes. A child that
    fails has its chunk redone in the parent (its file is discarded), so the output never depends on
    the workers. Memory stays that of one piece per process, whatever the total. With ``fileno``
    (where ``write`` ends up, once ``flush`` has pushed out what it buffers), spools are copied there
    by the kernel.
    """
    chunks = _plan(items, workers, min_items)
    started = False

    def emit(piece: bytes) -> None:
        nonlocal started
        if not piece:
            return
        if started and sep:
            write(sep)
        write(piece)
        started = True

    children: list[tuple[int, Sequence[T], IO[bytes]]] = []
    if len(chunks) > 1:
        # What exists now (100,000 goroutines...) out of the collector's walks: a child's
        # collections would otherwise touch every object's header and copy its pages.
        gc.freeze()
    for chunk in chunks[1:]:
        spool: IO[bytes] = tempfile.TemporaryFile()
        pid = os.fork()
        if pid == 0:  # child: compute into the spool file, and leave without the parent's cleanup
            code = 0
            try:
                first = True
                for piece in fn(chunk):
                    if piece:
                        spool.write(piece if first or not sep else sep + piece)
                        first = False
                spool.flush()
            except BaseException:  # any failure: the parent redoes this chunk
                code = 1
            finally:
                os._exit(code)
        children.append((pid, chunk, spool))
    for piece in fn(chunks[0]):
        emit(piece)
    for pid, chunk, spool in children:
        _, status = os.waitpid(pid, 0)
        with spool:
            if os.waitstatus_to_exitcode(status) == 0:
                if not os.fstat(spool.fileno()).st_size:
                    continue
                if started and sep:
                    write(sep)
                started = True
                if fileno is not None:
                    if flush is not None:
                        flush()
                    if _copy_out(spool, fileno):
                        continue
                spool.seek(0)
                while block := spool.read(1 << 20):
                    write(block)
            else:
                for piece in fn(chunk):
                    emit(piece)
