"""For benchmarks/tui_first_screen.py: when the first screen (the goroutine list and the crashed
goroutine's backtrace) is painted, the app notes how long that took from its process's start."""

from __future__ import annotations

import os
import time
from typing import Any

#: The file to append the note to (set by the benchmark); with ``_EXIT`` set too, the app quits.
FIRST_SCREEN_ENV = "GOCORE_TUI_FIRST_SCREEN"


def note_first_screen(app: Any) -> None:
    """Append ``seconds-since-process-start cpu-seconds peak-RSS-KiB`` to the file named by
    $GOCORE_TUI_FIRST_SCREEN, and quit if $GOCORE_TUI_FIRST_SCREEN_EXIT is set."""
    path = os.environ.get(FIRST_SCREEN_ENV)
    if not path:
        return
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/self/stat") as f:  # field 22: start time in clock ticks since boot
        started = int(f.read().rsplit(")", 1)[1].split()[19]) / ticks
    wall = time.clock_gettime(time.CLOCK_BOOTTIME) - started
    with open("/proc/self/status") as f:
        hwm = next((line.split()[1] for line in f if line.startswith("VmHWM:")), "0")
    with open(path, "a") as out:
        out.write(f"{wall:.3f} {time.process_time():.3f} {hwm}\n")
    if os.environ.get(FIRST_SCREEN_ENV + "_EXIT"):
        app.exit()
