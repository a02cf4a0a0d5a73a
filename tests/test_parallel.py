"""The forked, chunked goroutine listing gives exactly the serial result."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from explorer.goruntime.parallel import map_bytes


def test_map_bytes_keeps_order_and_redoes_failed_chunks() -> None:
    items = list(range(1000))
    parts = map_bytes(lambda c: ",".join(map(str, c)).encode(), items, workers=2, min_items=10)
    assert len(parts) == 2
    assert b",".join(parts).decode() == ",".join(map(str, items))
    parent = os.getpid()

    def fails_in_child(chunk):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            raise RuntimeError("child failure")
        return bytes(len(chunk))

    assert b"".join(map_bytes(fails_in_child, items, workers=2, min_items=10)) == bytes(1000)


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
