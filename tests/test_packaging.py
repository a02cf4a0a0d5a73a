"""What ``pip install .`` installs: the wheel holds every file the package opens.

The wheel is built here (setuptools, as pip builds it) from a copy of the sources, and checked
against the non-.py files under explorer/ and the data files the code names; then the package is
run from the unpacked wheel alone: the runtime layout table (stripped binaries), the demo and the
TUI's stylesheet load, and ``info`` works on a stripped core. (.ci/run also installs the wheel
into a fresh venv and smoke-tests it: scripts/smoke_installed.py.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from corpus import make_core
from gotools import test_versions as selected_versions  # not test_*: pytest would collect it

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "explorer"
#: File names the code may open, as string literals in its source.
_DATA_NAME_RE = re.compile(r"""["']([\w.-]+\.(?:json|tcss|css|zst|txt|typed|toml|bin))["']""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "explorer", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=600)
    (whl,) = (tmp / "dist").glob("gocore_tui-*.whl")
    return whl


def wheel_names(whl: Path) -> set[str]:
    with zipfile.ZipFile(whl) as zf:
        return set(zf.namelist())


def test_every_file_under_explorer_is_in_the_wheel(wheel: Path) -> None:
    """Every source and data file of the package (a data file missing from package-data fails)."""
    names = wheel_names(wheel)
    files = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    data = {f for f in files if not f.endswith(".py")}
    assert {"explorer/goruntime/layouts.json", "explorer/tui/app.tcss", "explorer/demo/demo.json",
            "explorer/py.typed"} <= data
    assert not files - names, f"missing from the wheel: {sorted(files - names)}"


def test_every_file_the_code_opens_is_in_the_wheel(wheel: Path) -> None:
    names = wheel_names(wheel)
    opened: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        opened.update(_DATA_NAME_RE.findall(path.read_text()))
    meta = json.loads((PACKAGE / "demo" / "demo.json").read_text())
    opened.update(str(meta[k]) for k in ("core", "binary", "sources"))
    assert {"layouts.json", "app.tcss", "demo.json", "core.zst"} <= opened
    basenames = {n.rsplit("/", 1)[-1] for n in names if n.startswith("explorer/")}
    assert not opened - basenames, f"opened by the code, missing from the wheel: {sorted(opened - basenames)}"


def test_the_unpacked_wheel_works_alone(wheel: Path, tmp_path: Path) -> None:
    """The package from the wheel only (ahead of any editable install on sys.path): its data files
    load, and a stripped core, which needs the packaged layout table, reads."""
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    case = make_core(selected_versions()[-1], "stripped", "panic")
    script = f"""
import json, pathlib, sys
import explorer
assert pathlib.Path(explorer.__file__).resolve().parent == pathlib.Path({str(site / "explorer")!r}), explorer.__file__
from explorer.goruntime.layout import _table
assert _table()["layouts"], "no layout table"
from explorer.demo import prepare
demo = prepare(pathlib.Path({str(tmp_path / "demo")!r}))
assert demo.core.exists() and demo.binary.exists()
from explorer.tui.app import GoCoreApp
assert pathlib.Path(GoCoreApp.CSS_PATH).is_file(), GoCoreApp.CSS_PATH
from explorer.cli import main
sys.exit(main(["info", "--json", {str(case.core)!r}, {str(case.binary)!r}]))
"""
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["has_dwarf"] is False and info["goroutines"] == len(case.trace.user_goroutines())
    assert not info["errors"], info["errors"]
