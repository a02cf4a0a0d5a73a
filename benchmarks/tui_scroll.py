#!/usr/bin/env python3
"""Scrolling the TUI's goroutine list on a big core (Textual's pilot, headless, 160x48): the down key
held at 30 presses a second for two seconds, first right after the first screen (while every
goroutine is read and unwound behind it), then once that is done. Prints how far the cursor lags
behind the last press, and the event loop's longest stall (the longest gap between ticks of a
20 ms timer): what a person holding the key would see as jerks; then the process's RSS and peak
RSS with every goroutine listed and unwound.

    python benchmarks/tui_scroll.py CORE BINARY
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _hold(app: object, gl: object, ticks: list[float], n: int = 60, hz: float = 30.0) -> tuple[float, float]:
    """(cursor lag after the last press, longest stall) of ``n`` presses of down at ``hz``."""
    from textual import events

    start = gl.cursor  # type: ignore[attr-defined]
    ticks.clear()
    for _ in range(n):
        app.post_message(events.Key("down", None))  # type: ignore[attr-defined]
        await asyncio.sleep(1 / hz)
    sent = time.perf_counter()
    while gl.cursor < start + n and time.perf_counter() - sent < 30:  # type: ignore[attr-defined]
        await asyncio.sleep(0.005)
    lag = time.perf_counter() - sent
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    return lag, max(gaps, default=0.0)


def scroll_figures(core: str, binary: str) -> dict[str, float]:
    from explorer.goruntime.process import GoProcess
    from explorer.tui.app import GoCoreApp
    from explorer.tui.panes import GoroutineList
    from explorer.tui.session import Session

    app = GoCoreApp(Session(GoProcess.open(core, binary)))
    ticks: list[float] = []
    out: dict[str, float] = {}

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            while not app.first_screen:
                await pilot.pause(0.005)
            await pilot.pause(0.05)  # the app's own initial focus lands first
            gl = app.q(GoroutineList)
            app.set_focus(gl)
            await pilot.pause()
            app.set_interval(0.02, lambda: ticks.append(time.perf_counter()))
            out["loading_lag"], out["loading_stall"] = await _hold(app, gl, ticks)
            while not app.where_done:
                await pilot.pause(0.05)
            out["loaded_lag"], out["loaded_stall"] = await _hold(app, gl, ticks)
            with open("/proc/self/status") as f:
                status = dict(line.split(":", 1) for line in f)
            out["rss_mb"] = int(status["VmRSS"].split()[0]) / 1024
            out["hwm_mb"] = int(status["VmHWM"].split()[0]) / 1024

    try:
        asyncio.run(main())
    finally:
        app.session.proc.close()
    return out


def main() -> int:
    core, binary = sys.argv[1], sys.argv[2]
    f = scroll_figures(core, binary)
    print(f"SCROLL loading: lag {f['loading_lag']:.3f} s, longest stall {f['loading_stall']:.3f} s; "
          f"loaded: lag {f['loaded_lag']:.3f} s, longest stall {f['loaded_stall']:.3f} s; "
          f"RSS {f['rss_mb']:.0f} MB (peak {f['hwm_mb']:.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
