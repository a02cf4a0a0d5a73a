#!/usr/bin/env python3
"""Seconds from starting `gocore-tui CORE BINARY` in a real terminal (tmux, 160x48) until the first
screen shows the crashing goroutine's backtrace. Prints `FIRST-SCREEN <seconds>`.

    python benchmarks/tui_first_screen.py CORE BINARY
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_tui_tmux import Tmux  # noqa: E402


def main() -> int:
    core, binary = sys.argv[1], sys.argv[2]
    t = Tmux([sys.executable, "-m", "explorer", core, binary], ROOT)
    try:
        t.wait(lambda s: "Backtrace: goroutine" in s and "│  0 " in s, "the first backtrace", timeout=120)
        print(f"FIRST-SCREEN {time.monotonic() - t.started:.3f}")
    finally:
        t.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
