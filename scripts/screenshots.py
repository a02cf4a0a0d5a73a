#!/usr/bin/env python3
"""Regenerate screenshots/ from the real app on the bundled demo core.

    python scripts/screenshots.py [--out screenshots] [--size 160x48] [--no-png]

Drives the TUI headless (Textual's run_test) the way a user would: the first screen, ``:frame N`` to
the HTTP handler, ``x`` on ``body``, shift+right three times, ``s``. Writes SVGs with Textual's
save_screenshot, and PNGs next to them when cairosvg is installed (the SVG's Fira Code becomes a
locally installed monospace font, so the PNG's columns line up).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from explorer.demo import prepare  # noqa: E402
from explorer.goruntime.process import GoProcess  # noqa: E402
from explorer.tui.app import GoCoreApp  # noqa: E402
from explorer.tui.hexview import HexScreen  # noqa: E402
from explorer.tui.panes import VariablesTree  # noqa: E402
from explorer.tui.session import Session  # noqa: E402
from explorer.tui.widgets import SaveDialog  # noqa: E402

HANDLER = "main.(*orderServer).ServeHTTP"
SHOTS = ("main", "hex", "save")


async def wait_for(pilot: Any, cond: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.05)


def settled(app: GoCoreApp) -> bool:
    return bool(app.loaded and app.frames and app.where_done
                and all(app.frame_ready.get(k) == app.token for k in ("vars", "source", "disasm")))


async def take(app: GoCoreApp, out: Path, size: tuple[int, int]) -> list[Path]:
    written: list[Path] = []

    def shot(name: str) -> None:
        written.append(Path(app.save_screenshot(filename=f"{name}.svg", path=str(out))))

    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: settled(app), "the first screen")
        n = next(f.index for f in app.frames if f.function == HANDLER)
        await pilot.press("colon", *"frame", "space", *str(n), "enter")
        await wait_for(pilot, lambda: app.frame_index == n and settled(app), "the handler's frame")
        await pilot.press("tab")
        tree = app.query_one(VariablesTree)
        labels = [str(node.label) for node in tree.root.children]
        i = next(i for i, lab in enumerate(labels) if " body = " in f" {lab}")
        for _ in range(i):
            await pilot.press("down")
        await pilot.pause(0.2)
        shot("main")
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, HexScreen), "the hex view")
        await pilot.press("shift+right", "shift+right", "shift+right")
        await pilot.pause(0.2)
        shot("hex")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SaveDialog), "the save dialog")
        await pilot.pause(0.2)
        shot("save")
        await pilot.press("escape")
    return written


def to_png(svg: Path) -> Path | None:
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        return None
    text = svg.read_text()
    if not _have_font("Fira Code"):
        text = text.replace("font-family: Fira Code, monospace;", "font-family: DejaVu Sans Mono, monospace;")
    png = svg.with_suffix(".png")
    cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=1600)
    return png


def _have_font(name: str) -> bool:
    if shutil.which("fc-list") is None:
        return False
    import subprocess

    out = subprocess.run(["fc-list", name], capture_output=True, text=True)
    return bool(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=REPO / "screenshots")
    ap.add_argument("--size", default="160x48", help="terminal size, COLSxROWS (default 160x48)")
    ap.add_argument("--no-png", action="store_true", help="SVG only")
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    demo = prepare()
    proc = GoProcess.open(demo.core, demo.binary)
    try:
        app = GoCoreApp(Session(proc, demo.substitute))
        written = asyncio.run(take(app, args.out, (cols, rows)))
    finally:
        proc.close()
    for svg in written:
        print(svg)
        if not args.no_png:
            png = to_png(svg)
            if png is not None:
                print(png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
