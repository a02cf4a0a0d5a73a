"""What the command line does with the files users point it at: good ones in any order and
compressed, and bad ones (each gets exit status 1 and one clear line, never a traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard
from corpus import CoreCase

CASE = ("1.24.11", "opt", "panic")


def run_cli(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "explorer", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def assert_one_line_error(r: subprocess.CompletedProcess[str], *words: str) -> None:
    assert r.returncode == 1, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("gocore-tui: ")
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def case(corpus) -> CoreCase:  # type: ignore[no-untyped-def]
    return corpus(*CASE)


@pytest.fixture(scope="module")
def reference_info(case: CoreCase) -> dict:  # type: ignore[type-arg]
    r = run_cli("info", "--json", case.core, case.binary)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_core_and_binary_in_either_order(case: CoreCase, reference_info: dict) -> None:  # type: ignore[type-arg]
    r = run_cli("info", "--json", case.binary, case.core)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["goroutines"] == reference_info["goroutines"]


def test_binary_found_from_the_core(case: CoreCase, reference_info: dict) -> None:  # type: ignore[type-arg]
    r = run_cli("info", "--json", case.core)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["executable"] == str(case.binary)
    assert info["goroutines"] == reference_info["goroutines"]


def test_zstd_core_opens_directly(case: CoreCase, reference_info: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    zst = tmp_path / "core.prog.1000.zst"
    with open(case.core, "rb") as src, open(zst, "wb") as dst:
        zstandard.ZstdCompressor(level=1).copy_stream(src, dst)
    r = run_cli("info", "--json", zst, case.binary)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["core_compressed"] is True
    for key in ("goroutines", "threads", "crashed_goroutine", "signal", "panic", "go_version", "build_id_match"):
        assert info[key] == reference_info[key], key


def test_xz_core_opens_directly(case: CoreCase, reference_info: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    import lzma

    xz = tmp_path / "core.xz"
    xz.write_bytes(lzma.compress(case.core.read_bytes(), preset=0))
    r = run_cli("info", "--json", xz, case.binary)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["goroutines"] == reference_info["goroutines"]


@pytest.mark.parametrize("cut", [0, 10, 63, 64 + 56 * 2])
def test_core_cut_in_its_headers_is_a_clear_error(case: CoreCase, tmp_path: Path, cut: int) -> None:
    bad = tmp_path / f"core.cut{cut}"
    bad.write_bytes(case.core.read_bytes()[:cut])
    assert_one_line_error(run_cli("info", bad, case.binary), str(bad))


def test_core_cut_in_its_notes_opens_with_a_warning(case: CoreCase, tmp_path: Path) -> None:
    from explorer.core import CoreFile

    with CoreFile.open(case.core) as c:
        note_off, _ = c._note_ranges[0]
    bad = tmp_path / "core.cutnotes"
    bad.write_bytes(case.core.read_bytes()[: note_off + 500])
    r = run_cli("info", "--json", bad, case.binary)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["core_truncated"] is True
    assert "truncated" in r.stderr


@pytest.mark.parametrize("fraction", [0.25, 0.5, 0.9, 0.999])
def test_core_truncated_in_its_data_opens_with_a_warning(case: CoreCase, tmp_path: Path, fraction: float) -> None:
    data = case.core.read_bytes()
    n = int(len(data) * fraction)
    bad = tmp_path / "core.trunc"
    bad.write_bytes(data[:n])
    r = run_cli("info", "--json", bad, case.binary)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["core_truncated"] is True
    assert info["core_missing_bytes"] == len(data) - n
    assert "warning: the core file is truncated" in r.stderr


def test_random_bytes_as_core(case: CoreCase, tmp_path: Path) -> None:
    bad = tmp_path / "random"
    bad.write_bytes(os.urandom(1 << 16))
    assert_one_line_error(run_cli("info", bad, case.binary), "not an ELF")


def test_empty_file_as_core(case: CoreCase, tmp_path: Path) -> None:
    bad = tmp_path / "empty"
    bad.write_bytes(b"")
    assert_one_line_error(run_cli("info", bad, case.binary), "empty")


def test_directory_and_missing_file(case: CoreCase, tmp_path: Path) -> None:
    assert_one_line_error(run_cli("info", tmp_path, case.binary), "directory")
    assert_one_line_error(run_cli("info", tmp_path / "nope", case.binary), "no such file")


def test_executable_as_core(case: CoreCase) -> None:
    assert_one_line_error(run_cli("info", case.binary, case.binary), "not a core")


def test_non_go_executable_as_binary(case: CoreCase) -> None:
    assert_one_line_error(run_cli("info", case.core, "/bin/ls"), "not a Go program")


def test_bad_usage_is_exit_2(case: CoreCase) -> None:
    r = run_cli("bt", case.core, case.binary, "-g", "notanumber")
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["gocore-tui bt: argument -g: invalid int value: 'notanumber'"], r.stderr
    r = run_cli("info")
    assert r.returncode == 2


def test_big_core_is_mapped_not_read() -> None:
    """A 300+ MB core: `info` touches only the pages it needs (peak RSS far below the core size)."""
    from corpus import make_core

    case = make_core("1.24.11", "opt", "crash", ("1000", "300"), prog="bigcore")
    size = case.core.stat().st_size
    assert size > 300e6
    code = (
        "import json, io, contextlib\n"
        "from explorer.cli import main\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        f"    rc = main(['info', '--json', {str(case.core)!r}, {str(case.binary)!r}])\n"
        # VmHWM is this process's own peak (ru_maxrss would include the forking parent's).
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
        "print(json.dumps({'rc': rc, 'info': json.loads(buf.getvalue()), 'rss_kb': int(hwm)}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["rc"] == 0
    assert out["info"]["goroutines"] == len(case.trace.user_goroutines())
    assert out["rss_kb"] * 1024 < size / 4, f"peak RSS {out['rss_kb']} KB for a {size} byte core"
