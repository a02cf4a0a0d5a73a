"""``save`` and ``x``: the bytes behind values, written safely; hex dump lines.

The oracles are the values program's READY line (tests/test_values.py) and the crasher's
``httpabort`` scenario, whose handler frame holds the request body the client sent (``body_hex``).
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import make_core
from test_values import HOLD, VERSIONS, frame_index, open_case, values_case

from explorer.core.memory import AddressSpace, Region
from explorer.errors import ExpressionError, SaveError
from explorer.goruntime.expr import read_bytes_for
from explorer.goruntime.save import save_bytes, save_memory
from explorer.render.hexdump import format_line, hexdump_line, hexdump_lines, hexdump_text, line_count


def _cli(*args: str) -> tuple[int, str, str]:
    from explorer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("version", VERSIONS)
def test_save_values(version: str, tmp_path: Path) -> None:
    case = values_case(version, "noopt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, HOLD)
    want = {
        "vBytes": bytes.fromhex(case.values["vBytes"]),
        "vString": case.values["vString"].encode(),
        "main.globalBytes": bytes.fromhex(case.values["globalBytes"]),
        "vByteArray": bytes.fromhex(case.values["vByteArray"]),
        "vBytes[7:]": bytes.fromhex(case.values["vBytes"])[7:],
        "vNilBytes": b"",
    }
    for i, (expr, data) in enumerate(want.items()):
        addr, size = read_bytes_for(proc, expr, g, fi)
        out = tmp_path / f"out{i}.bin"
        assert save_bytes(proc, addr, size, out) == len(data)
        assert out.read_bytes() == data, expr
        # the same bytes as a raw ADDR:LEN range, without any goroutine
        assert read_bytes_for(proc, f"{addr:#x}:{size}", None) == (addr, size)
    # a pointer's target: *main.Inner{A: 7, B: 70000} is 8 bytes, B at offset 4
    addr, size = read_bytes_for(proc, "vInner", g, fi)
    assert size == 8
    raw = proc.memory.read(addr, size)
    assert raw[0] == 7 and int.from_bytes(raw[4:8], "little") == 70000
    assert _leftovers(tmp_path) == []


def test_save_refusals(tmp_path: Path) -> None:
    mem = AddressSpace([Region(0x1000, 0x1010, b"0123456789abcdef", 0, 30)])
    out = tmp_path / "f.bin"
    assert save_memory(mem, 0x1000, 16, out) == 16
    assert out.read_bytes() == b"0123456789abcdef"
    # an existing file is not overwritten without force, and stays as it was
    with pytest.raises(SaveError, match="exists: pass --force"):
        save_memory(mem, 0x1004, 4, out)
    assert out.read_bytes() == b"0123456789abcdef"
    assert save_memory(mem, 0x1004, 4, out, force=True) == 4
    assert out.read_bytes() == b"4567"
    # a missing directory is a clear error and creates nothing
    missing = tmp_path / "no" / "such" / "dir" / "f.bin"
    with pytest.raises(SaveError, match="does not exist"):
        save_memory(mem, 0x1000, 4, missing)
    assert not (tmp_path / "no").exists()
    # bytes the core does not hold: nothing written at all (not even part)
    part = tmp_path / "part.bin"
    with pytest.raises(SaveError, match=r"0x1010 \(unmapped\); nothing written"):
        save_memory(mem, 0x1008, 16, part)
    with pytest.raises(SaveError, match="nothing written"):
        save_memory(mem, 0x10, 4, part)
    assert not part.exists()
    # garbage lengths are refused before anything is read or allocated
    with pytest.raises(SaveError, match="refusing"):
        save_memory(mem, 0x1000, 1 << 60, part)
    with pytest.raises(SaveError, match="is a directory"):
        save_memory(mem, 0x1000, 4, tmp_path)
    assert not part.exists()
    assert _leftovers(tmp_path) == []
    # an empty range writes an empty file
    empty = tmp_path / "empty.bin"
    assert save_memory(mem, 0x1000, 0, empty) == 0 and empty.read_bytes() == b""


def test_save_file_mode(tmp_path: Path) -> None:
    mem = AddressSpace([Region(0x1000, 0x1004, b"abcd", 0, 30)])
    out = tmp_path / "m.bin"
    save_memory(mem, 0x1000, 4, out)
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_save_cli(tmp_path: Path) -> None:
    case = values_case(VERSIONS[-1], "noopt")
    proc = open_case(case)
    fi = str(frame_index(proc, proc.crashed_goroutine, HOLD))
    out = tmp_path / "bytes.bin"
    core, exe = str(case.core), str(case.binary)
    rc, stdout, err = _cli("save", core, exe, "vBytes", "-f", fi, "-o", str(out))
    assert rc == 0, err
    assert out.read_bytes() == bytes.fromhex(case.values["vBytes"]) and "wrote 10 bytes" in stdout
    rc, _, err = _cli("save", core, exe, "vString", "-f", fi, "-o", str(out))
    assert rc == 1 and "exists" in err and err.count("\n") == 1
    assert out.read_bytes() == bytes.fromhex(case.values["vBytes"])
    rc, _, err = _cli("save", core, exe, "vString", "-f", fi, "-o", str(out), "--force")
    assert rc == 0 and out.read_bytes() == case.values["vString"].encode()
    rc, _, err = _cli("save", core, exe, "vNilPtr", "-f", fi, "-o", str(tmp_path / "nil.bin"))
    assert rc == 1 and "has no bytes to save" in err and not (tmp_path / "nil.bin").exists()
    rc, _, err = _cli("save", core, exe, "vInt", "-f", fi, "-o", str(tmp_path / "missing" / "x.bin"))
    assert rc == 1 and "does not exist" in err
    rc, _, err = _cli("save", core, exe, "0x10:64", "-o", str(tmp_path / "unmapped.bin"))
    assert rc == 1 and "nothing written" in err and not (tmp_path / "unmapped.bin").exists()
    rc, _, err = _cli("save", core, exe, "main.globalBytes", "-o", str(tmp_path / "g.bin"))
    assert rc == 0 and (tmp_path / "g.bin").read_bytes() == bytes.fromhex(case.values["globalBytes"])
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("mode", ["noopt", "opt"])
@pytest.mark.parametrize("version", VERSIONS)
def test_save_http_request_body(version: str, mode: str, tmp_path: Path) -> None:
    """The crashing handler's ``body []byte`` (moved to the heap: DWARF's ``&body``) is exactly the
    request body the client sent."""
    case = make_core(version, mode, "httpabort")
    proc = open_case(case)
    g = proc.crashed_goroutine
    assert g is not None and g.id == case.values["handler_goid"]
    fi = frame_index(proc, g, "main.(*orderServer).ServeHTTP")
    addr, size = read_bytes_for(proc, "body", g, fi)
    out = tmp_path / "body.bin"
    assert save_bytes(proc, addr, size, out) == case.values["body_len"]
    assert out.read_bytes().hex() == case.values["body_hex"]
    if mode == "noopt":
        # crashOnPanic(body *[]byte): the bytes behind *body are the same
        fc = frame_index(proc, g, "main.(*orderServer).crashOnPanic")
        assert read_bytes_for(proc, "*body", g, fc) == (addr, size)
        rc, _, err = _cli("save", str(case.core), str(case.binary), "body", "-f", str(fi), "-o",
                          str(tmp_path / "cli.bin"))
        assert rc == 0, err
        assert (tmp_path / "cli.bin").read_bytes().hex() == case.values["body_hex"]


# --------------------------------------------------------------------------------------------------
# Hex dumps


def test_hexdump_lines() -> None:
    mem = AddressSpace([Region(0x1004, 0x1010, bytes(range(0x41, 0x41 + 12)), 0, 30),
                        Region(0x1010, 0x1014, b"\x00\x01\xff\x7f", 0, 30)])
    assert line_count(0x1004, 0x20) == 3
    lines = list(hexdump_lines(mem, 0x1002, 0x20))
    assert [ln.address for ln in lines] == [0x1000, 0x1010, 0x1020]
    first = lines[0]
    assert first.cells[:2] == (-1, -1) and first.cells[2:4] == (None, None) and first.cells[4] == 0x41
    assert first.reason == "unmapped"
    text = format_line(first)
    assert text.startswith("0x0000000000001000        ?? ?? 41 42 43 44  45 46 47 48 49 4a 4b 4c")
    assert text.endswith("|    ABCDEFGHIJKL|")
    second = format_line(lines[1])
    assert second.startswith("0x0000000000001010  00 01 ff 7f ?? ??")
    assert "|....            |" in second
    assert hexdump_line(mem, 0x1002, 0x20, 2).cells[:2] == (None, None)
    dump = hexdump_text(mem, 0x1002, 0x20)
    assert dump.splitlines()[-1] == "?? = not in the core (unmapped)"


def test_x_command() -> None:
    case = values_case(VERSIONS[-1], "noopt")
    proc = open_case(case)
    fi = str(frame_index(proc, proc.crashed_goroutine, HOLD))
    core, exe = str(case.core), str(case.binary)
    rc, out, err = _cli("x", core, exe, "vBytes", "-f", fi)
    assert rc == 0, err
    assert "[]uint8, 10 bytes at" in out
    dumped = "".join(tok for line in out.splitlines()[1:] for tok in line.split("|")[0].split()[1:])
    assert dumped == case.values["vBytes"]
    assert "".join(line.split("|")[1].strip() for line in out.splitlines()[1:]) == ".......ok."
    addr, _ = read_bytes_for(proc, "vBytes", proc.crashed_goroutine, int(fi))
    rc, out2, _ = _cli("x", core, exe, f"{addr:#x}", "-n", "10")
    assert rc == 0 and out2.strip() == "\n".join(out.splitlines()[1:]).strip()
    rc, out3, _ = _cli("x", core, exe, "0x10", "-n", "16")
    assert rc == 0 and "?? ?? ??" in out3 and "not in the core" in out3
    rc, _, err = _cli("x", core, exe, "vNilPtr", "-f", fi)
    assert rc == 1 and "nil" in err


def test_read_bytes_for_errors() -> None:
    case = values_case(VERSIONS[-1], "opt")
    proc = open_case(case)
    g = proc.crashed_goroutine
    fi = frame_index(proc, g, "main.crash")
    with pytest.raises(ExpressionError, match="unreadable"):
        read_bytes_for(proc, "payload", g, fi)  # optimized out at the call


