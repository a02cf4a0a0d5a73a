#!/usr/bin/env python3
"""Decoding payloads: a 1 MB protobuf message (an order with thousands of line items, maps, packed
negative int32s: tests/protos/orders.proto), schemaless and typed, as text and as the JSON tree;
the same message gzip-compressed through ``auto``; and a 10 MB one, as the TUI's decode pane gets it.

Prints the wall time and CPU time of each step (median of ``--repeat`` runs) and checks the output
against protoc once; then opens the TUI's decode pane on the 10 MB message (headless) and prints how
long the decode took and the longest the screen's event loop went without running (a 0.1 s timer's
largest gap). The issue's bars: decoding 1 MB in at most 0.5 s; the pane never freezes.

    python benchmarks/payload.py [--size 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from protoc import decode_raw_many, descriptor_set  # noqa: E402

from explorer.payload.annotate import annotate  # noqa: E402
from explorer.payload.detect import recognize  # noqa: E402
from explorer.payload.schema import Schema  # noqa: E402
from explorer.payload.typed import decode_typed  # noqa: E402
from explorer.payload.wire import decode_raw  # noqa: E402
from explorer.render.payload import fields_json, raw_text, typed_text  # noqa: E402


def order_message(schema: Schema, size: int) -> bytes:
    """An Order of about ``size`` bytes."""
    from google.protobuf import message_factory

    order = message_factory.GetMessageClass(schema.message("shop.v1.Order"))()
    order.id = 1234567890123
    order.customer = "alice@example.com"
    order.status = 2
    order.total = 1234.5
    i = 0
    while True:
        item = order.items.add(sku=f"SKU-{i:06d}", quantity=i % 7 + 1, tags=["red", "xl", f"batch-{i % 13}"],
                               blob=bytes(range(i % 32)))
        item.price.currency = "EUR"
        item.price.units = i * 3
        item.price.nanos = -500_000_000
        order.adjustments.append(-i)
        order.labels[f"k{i}"] = f"v{i}"
        i += 1
        if i % 256 == 0 and order.ByteSize() >= size:
            return bytes(order.SerializeToString(deterministic=True))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    walls, cpus = [], []
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=float, default=1.0, help="message size in MiB (default 1)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    schema = Schema.load(descriptor_set("orders.proto"))
    data = order_message(schema, int(args.size * (1 << 20)))
    desc = schema.message("shop.v1.Order")
    (want,) = decode_raw_many([data])
    got = raw_text(decode_raw(data))
    assert want.returncode == 0 and got == want.text, "decode differs from protoc --decode_raw"
    print(f"message: {len(data):,} bytes ({len(got.splitlines()):,} lines of protoc text)")
    rows: list[tuple[str, Callable[[], Any]]] = [
        ("decode (schemaless)", lambda: decode_raw(data)),
        ("decode + protoc text", lambda: raw_text(decode_raw(data))),
        ("decode + JSON tree", lambda: fields_json(data, decode_raw(data).message)),
        ("typed (protobuf) + protoc text", lambda: typed_text(decode_typed(data, schema, "shop.v1.Order").message)),
        ("schema-annotated tree", lambda: annotate(data, desc)),
    ]
    packed = gzip.compress(data)
    rows.append((f"auto on gzip ({len(packed):,} bytes)", lambda: recognize(packed)))
    big = order_message(schema, 10 << 20)
    rows.append((f"decode {len(big) / (1 << 20):.0f} MiB (the TUI's pane)", lambda: decode_raw(big)))
    print(f"{'step':<40} {'wall':>8} {'cpu':>8}")
    for name, fn in rows:
        wall, cpu, _ = timed(fn, args.repeat)
        print(f"{name:<40} {wall:>7.3f}s {cpu:>7.3f}s")
    took, gap = pane_figures(big)
    print(f"TUI decode pane on {len(big) / (1 << 20):.0f} MiB: decoded in {took:.2f}s; the event loop's "
          f"longest stall {gap:.2f}s")


def pane_figures(data: bytes) -> tuple[float, float]:
    """(seconds until the pane shows the decode, longest gap between ticks of a 0.1 s timer)."""
    import asyncio

    from textual.app import App, ComposeResult

    from explorer.core.memory import AddressSpace, Region
    from explorer.tui.decodepane import DecodePane

    mem = AddressSpace([Region(0x10000, 0x10000 + len(data), data, 0, 30)])
    ticks: list[float] = []

    class Harness(App[None]):
        def compose(self) -> ComposeResult:
            yield DecodePane(mem, 0x10000, len(data), "big")

        def on_mount(self) -> None:
            self.set_interval(0.1, lambda: ticks.append(time.perf_counter()))

    async def main() -> float:
        app = Harness()
        async with app.run_test():
            t0 = time.perf_counter()
            pane = app.query_one(DecodePane)
            while pane.rec is None:
                await asyncio.sleep(0.05)
            return time.perf_counter() - t0

    start = time.perf_counter()
    took = asyncio.run(main())
    shown = start + took + 0.5  # the app's start, and its teardown after, are not the pane's doing
    gaps = [b - a for a, b in itertools.pairwise(ticks) if b <= shown]
    return took, max(gaps, default=0.0)


if __name__ == "__main__":
    main()
