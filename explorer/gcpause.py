"""Pausing Python's cyclic garbage collector while a bulk phase builds many objects.

Reading 100,000 goroutines, or their backtraces, makes hundreds of thousands of small objects (g
records, tuples), and a megabyte of protobuf hundreds of thousands of decoded fields; every
collection the allocations trigger walks the young ones and, now and then, everything alive: a
quarter to two thirds of the time such a phase takes, and pauses that stall every thread (the TUI's
screen). These objects hold no reference cycles, so nothing is lost by collecting later. The
collector is process-wide and threads share it (the TUI's workers, a goroutine load beside a
decode): one count of holders for every layer, so it is switched back on when the last one leaves,
and only if it was on. Like :mod:`explorer.errors`, this module sits below every layer (the payload
layer included).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the duration (nested and threaded uses allowed)."""
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
