#!/usr/bin/env python3
"""The TUI's first screen on a core, in a real terminal (tmux, 160x48): seconds from the process's
start until the goroutine list and the crashed goroutine's backtrace are painted, the CPU seconds
and the peak RSS until then, as the app itself notes them ($GOCORE_TUI_FIRST_SCREEN: see
explorer.tui.navigation). The app quits right after. Prints
``FIRST-SCREEN <wall s> <cpu s> <peak RSS KiB>`` per run.

    python benchmarks/tui_first_screen.py CORE BINARY [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_tui_tmux import Tmux  # noqa: E402


def first_screen(core: str, binary: str, env: dict[str, str] | None = None,
                 timeout: float = 120.0) -> tuple[float, float, int]:
    """(wall s, cpu s, peak RSS KiB) at the first screen, from one run in tmux."""
    with tempfile.TemporaryDirectory() as d:
        note = Path(d) / "first-screen"
        extra = {**(env or {}), "GOCORE_TUI_FIRST_SCREEN": str(note), "GOCORE_TUI_FIRST_SCREEN_EXIT": "1"}
        t = Tmux([sys.executable, "-m", "explorer", core, binary], ROOT, env=extra)
        try:
            end = time.monotonic() + timeout
            while not (note.exists() and note.read_text().endswith("\n")):
                if time.monotonic() > end:
                    raise RuntimeError(f"no first screen within {timeout} s; screen:\n{t.screen()}")
                time.sleep(0.05)
            wall, cpu, hwm = note.read_text().split()[:3]
            return float(wall), float(cpu), int(hwm)
        finally:
            t.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("core")
    ap.add_argument("binary")
    ap.add_argument("--repeat", type=int, default=1)
    ns = ap.parse_args()
    env = {"PYTHONDONTWRITEBYTECODE": ""}  # as installed: with bytecode (see bench.child_env)
    for _ in range(ns.repeat):
        wall, cpu, hwm = first_screen(ns.core, ns.binary, env)
        print(f"FIRST-SCREEN {wall:.3f} {cpu:.3f} {hwm}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
