"""The forked, chunked goroutine listing gives exactly the serial result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from explorer.goruntime.parallel import stream_chunks


def test_stream_chunks_keeps_order_separates_pieces_and_redoes_failed_chunks() -> None:
    items = list(range(3000))

    def pieces(chunk):  # type: ignore[no-untyped-def]
        for i in range(0, len(chunk), 7):  # several pieces per chunk, some empty
            yield ",".join(map(str, chunk[i:i + 7])).encode()
            yield b""

    for workers in (1, 2, 3):
        out: list[bytes] = []
        stream_chunks(pieces, items, out.append, sep=b",", workers=workers, min_items=10)
        assert b"".join(out).decode() == ",".join(map(str, items)), workers
    parent = os.getpid()

    def fails_in_child(chunk):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            yield b"partial"
            raise RuntimeError("child failure")
        yield ";".join(map(str, chunk)).encode()

    out = []
    stream_chunks(fails_in_child, items, out.append, sep=b";", workers=3, min_items=10)
    assert b"".join(out).decode() == ";".join(map(str, items))
    # A child's output bigger than one copy block arrives whole, and nothing else is held.
    big: list[bytes] = []
    stream_chunks(lambda c: (bytes([65]) * 700_000 for _ in c), list(range(40)), big.append, sep=b"|",
                  workers=2, min_items=4)
    text = b"".join(big)
    assert text.count(b"|") == 39 and len(text) == 40 * 700_000 + 39


def test_parallel_goroutines_json_equals_serial(corpus) -> None:  # type: ignore[no-untyped-def]
    case = corpus("1.24.11", "opt", "waits")
    outs = []
    for workers in ("1", "2"):
        env = dict(os.environ, GOCORE_TUI_WORKERS=workers)
        code = ("import explorer.goruntime.parallel as p; p.MIN_ITEMS = 4; "
                "from explorer.cli import main; raise SystemExit(main())")
        r = subprocess.run([sys.executable, "-c", code, "goroutines", "--json", "--stacks", str(case.core),
                            str(case.binary)], capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        outs.append(json.loads(r.stdout))
    assert outs[0] == outs[1]
    assert len(outs[0]) == len(case.trace.user_goroutines())
