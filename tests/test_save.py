"""``save`` and ``x``: the bytes behind values, written safely; hex dump lines.

The oracles are the values program's READY line (tests/test_values.py) and the crasher's
``httpabort`` scenario, whose handler frame holds the request body the client sent (``body_hex``).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import make_core
from test_values import HOLD, VERSIONS, frame_index, open_case, values_case

from explorer.core.memory import AddressSpace, Region
from explorer.errors import ExpressionError, SaveError
from explorer.goruntime.expr import read_bytes_for
from explorer.goruntime.save import save_bytes, save_memory
from explorer.render.hexdump import format_line, hexdump_line, hexdump_lines, hexdump_text, line_count

REPO = Path(__file__).resolve().parent.parent


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


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.data())
def test_hexdump_stream_equals_the_line_by_line_dump(data: st.DataObject) -> None:
    """The streamed dump (blocks, sliced per line) gives exactly the lines of the line-by-line one,
    across holes, block boundaries, partial first and last lines, and widths."""
    from explorer.render import hexdump

    regions = []
    pos = 0x1000
    for _ in range(data.draw(st.integers(1, 4))):
        pos += data.draw(st.integers(0, 40))  # a hole (unmapped) before the region, or none
        n = data.draw(st.integers(1, 300))
        regions.append(Region(pos, pos + n, bytes((pos + i) * 7 % 256 for i in range(n)), 0, 30))
        pos += n
    mem = AddressSpace(regions)
    addr = data.draw(st.integers(0xFF0, pos + 8))
    size = data.draw(st.integers(0, pos + 40 - addr))
    width = data.draw(st.sampled_from([16, 8, 32]))
    block = data.draw(st.sampled_from([32, 64, 1 << 16]))
    want = [format_line(ln) for ln in hexdump_lines(mem, addr, size, width)]
    reasons = sorted({ln.reason for ln in hexdump_lines(mem, addr, size, width) if ln.reason})
    with mock.patch.object(hexdump, "STREAM_BLOCK", block):
        got = list(hexdump.hexdump_stream(mem, addr, size, width))
    if reasons:
        assert got[-1] == f"?? = not in the core ({', '.join(reasons)})"
        got = got[:-1]
    assert got == want


def test_hexdump_stream_reads_a_block_at_a_time() -> None:
    from explorer.render.hexdump import STREAM_BLOCK, hexdump_stream

    class Counting(AddressSpace):
        biggest = 0

        def chunks(self, addr: int, size: int) -> Any:
            Counting.biggest = max(Counting.biggest, size)
            return super().chunks(addr, size)

    mem = Counting([Region(0x10000, 0x10000 + (4 << 20), bytes(4 << 20), 0, 30)])
    lines = hexdump_stream(mem, 0x10000, 4 << 20)
    assert next(lines).startswith("0x0000000000010000  00 00")
    assert Counting.biggest <= STREAM_BLOCK
    assert sum(1 for _ in lines) == (4 << 20) // 16 - 1 and Counting.biggest <= STREAM_BLOCK


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




# --------------------------------------------------------------------------------------------------
# Special files: never replaced (issue 11). Device nodes are made with mknod inside tmp_path only,
# with /dev/null's numbers for the character device (writes vanish) and a loop device's for the
# block device (which must never even be opened).

_DATA = b"0123456789abcdef" * 4


def _mem() -> AddressSpace:
    return AddressSpace([Region(0x1000, 0x1000 + len(_DATA), _DATA, 0, 30)])


def _kind(p: Path) -> str:
    import stat

    m = os.lstat(p).st_mode
    return next(k for k, f in (("link", stat.S_ISLNK), ("file", stat.S_ISREG), ("fifo", stat.S_ISFIFO),
                               ("chr", stat.S_ISCHR), ("blk", stat.S_ISBLK), ("sock", stat.S_ISSOCK),
                               ("dir", stat.S_ISDIR)) if f(m))


def test_save_to_fifo_writes_through(tmp_path: Path) -> None:
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert save_memory(_mem(), 0x1000, len(_DATA), fifo) == len(_DATA)  # no --force needed: nothing replaced
    reader.join(10)
    assert got == [_DATA]
    assert _kind(fifo) == "fifo" and _leftovers(tmp_path) == []


def test_save_to_character_device_writes_through(tmp_path: Path) -> None:
    import stat

    dev = tmp_path / "null"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    before = os.stat(dev)
    assert save_memory(_mem(), 0x1000, 16, dev) == 16
    assert save_memory(_mem(), 0x1000, 16, dev, force=True) == 16
    after = os.stat(dev)
    assert _kind(dev) == "chr" and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["blk", "sock", "dir"])
def test_save_refuses_block_devices_sockets_and_directories(tmp_path: Path, kind: str) -> None:
    import socket
    import stat

    target = tmp_path / kind
    if kind == "blk":
        os.mknod(target, stat.S_IFBLK | 0o600, os.makedev(7, 200))
    elif kind == "sock":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(target))
        s.close()
    else:
        target.mkdir()
    before = os.lstat(target)
    words = {"blk": "is a block device", "sock": "is a socket", "dir": "is a directory"}[kind]
    for force in (False, True):
        with pytest.raises(SaveError, match=words):
            save_memory(_mem(), 0x1000, 16, target, force=force)
        link = tmp_path / f"link-{force}"
        link.symlink_to(target)
        with pytest.raises(SaveError, match=words):  # through a link, the same
            save_memory(_mem(), 0x1000, 16, link, force=force)
        assert _kind(link) == "link"
    after = os.lstat(target)
    assert _kind(target) == kind and (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _leftovers(tmp_path) == []
    if kind == "blk":  # the CLI: one line, exit status 1
        case = values_case(VERSIONS[-1], "noopt")
        r = _save_cli(case, "-o", str(target), "--force")
        assert r.returncode == 1 and r.stderr.count(b"\n") == 1 and b"is a block device" in r.stderr
        assert _kind(target) == "blk"


def test_save_through_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "sub" / "real.bin"
    real.parent.mkdir()
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    with pytest.raises(SaveError, match="exists: pass --force"):
        save_memory(_mem(), 0x1000, 8, link)
    assert real.read_bytes() == b"old"
    assert save_memory(_mem(), 0x1000, 8, link, force=True) == 8
    assert _kind(link) == "link" and os.readlink(link) == str(real)
    assert real.read_bytes() == _DATA[:8] and real.stat().st_mode & 0o777 == 0o640  # permissions kept
    # a link to nothing: its target is created, with --force only
    dangling = tmp_path / "dangling.bin"
    dangling.symlink_to(tmp_path / "sub" / "new.bin")
    with pytest.raises(SaveError, match="does not exist: pass --force"):
        save_memory(_mem(), 0x1000, 4, dangling)
    assert not (tmp_path / "sub" / "new.bin").exists()
    assert save_memory(_mem(), 0x1000, 4, dangling, force=True) == 4
    assert _kind(dangling) == "link" and (tmp_path / "sub" / "new.bin").read_bytes() == _DATA[:4]
    # a chain of links, and a loop
    chain = tmp_path / "chain"
    chain.symlink_to(link)
    assert save_memory(_mem(), 0x1000, 2, chain, force=True) == 2 and real.read_bytes() == _DATA[:2]
    assert _kind(chain) == "link" and _kind(link) == "link"
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(SaveError, match="loop"):
        save_memory(_mem(), 0x1000, 2, loop, force=True)
    assert _kind(loop) == "link"
    assert _leftovers(tmp_path) == [] and _leftovers(real.parent) == []


def test_save_refuses_a_terminal(tmp_path: Path) -> None:
    import pty

    master, slave = pty.openpty()
    try:
        name = os.ttyname(slave)
        with pytest.raises(SaveError, match="is a terminal"):
            save_memory(_mem(), 0x1000, 4, name)
        with pytest.raises(SaveError, match="is a terminal"):
            save_memory(_mem(), 0x1000, 4, f"/dev/fd/{slave}")
        os.set_blocking(master, False)
        with pytest.raises(BlockingIOError):
            os.read(master, 100)  # nothing reached it
    finally:
        os.close(master)
        os.close(slave)


def _save_cli(case: Any, *args: str, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kw.setdefault("stdout", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "explorer", "save", str(case.core), str(case.binary),
                           "main.globalBytes", *args], env=env, stderr=subprocess.PIPE, timeout=120, **kw)


def test_save_to_stdout(tmp_path: Path) -> None:
    """``-o -`` and ``-o /dev/stdout`` write the bytes to standard output (a pipe, a redirected file),
    the report to stderr."""
    case = values_case(VERSIONS[-1], "noopt")
    want = bytes.fromhex(case.values["globalBytes"])
    for target in ("-", "/dev/stdout"):
        r = _save_cli(case, "-o", target)
        assert r.returncode == 0, r.stderr
        assert r.stdout == want and b"wrote" in r.stderr
        out = tmp_path / f"redirected{len(target)}.bin"
        with open(out, "wb") as fh:
            r = _save_cli(case, "-o", target, stdout=fh)
        assert r.returncode == 0 and out.read_bytes() == want
    assert sorted(p.name for p in tmp_path.iterdir()) == ["redirected1.bin", "redirected11.bin"]


# A wrapper around the CLI whose memory reads are slow for big ranges (small reads are not slowed),
# so that a save can be caught in the middle; it says SAVING on stderr when a save is under way.
_SLOW_CLI = r"""
import os, sys, time
if os.environ.get("NO_TMPFILE"):
    del os.O_TMPFILE
from explorer.core import memory
chunks = memory.AddressSpace.chunks
def slow(self, addr, size):
    for start, data, why in chunks(self, addr, size):
        if data is None or size < (1 << 20):
            yield start, data, why
            continue
        for off in range(0, len(data), 1 << 16):
            if off == 1 << 17:
                print("SAVING", file=sys.__stderr__, flush=True)
            time.sleep(0.01)
            yield start + off, data[off:off + (1 << 16)], why
memory.AddressSpace.chunks = slow
from explorer.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("tmpfile", [True, False], ids=["O_TMPFILE", "named-temp"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_signal_during_save_leaves_nothing(tmp_path: Path, sig: signal.Signals, tmpfile: bool) -> None:
    """SIGTERM or SIGHUP (a closed terminal) in the middle of a save: no temporary or partial file is
    left, the CLI dies by that signal; SIGINT ends it with 130. With --force the old file stays."""
    from explorer.core import CoreFile

    case = values_case(VERSIONS[-1], "noopt")
    with CoreFile.open(case.core) as core:
        seg = max(core.segments, key=lambda s: s.available)
        rng = f"{seg.vaddr:#x}:{min(seg.available, 8 << 20)}"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "old.bin").write_bytes(b"old")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not tmpfile:
        env["NO_TMPFILE"] = "1"
    for name, force in (("new.bin", []), ("old.bin", ["--force"])):
        proc = subprocess.Popen([sys.executable, "-c", _SLOW_CLI, "save", str(case.core), str(case.binary), rng,
                                 "-o", str(out_dir / name), *force], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            assert proc.stderr is not None
            line = proc.stderr.readline()
            assert line == b"SAVING\n", line + proc.stderr.read()
            seen = sorted(p.name for p in out_dir.iterdir())
            # mid-save: an unnamed file shows nothing; a named temporary file shows (and will go)
            assert seen == (["old.bin"] if tmpfile else sorted(["old.bin", *_leftovers(out_dir)])), seen
            if not tmpfile:
                assert len(_leftovers(out_dir)) == 1
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        if sig == signal.SIGINT:
            assert proc.returncode == 130, err
        else:
            assert proc.returncode == -sig, err
        assert sorted(p.name for p in out_dir.iterdir()) == ["old.bin"]
        assert (out_dir / "old.bin").read_bytes() == b"old"


def test_signal_while_waiting_for_a_fifo_reader(tmp_path: Path) -> None:
    case = values_case(VERSIONS[-1], "noopt")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "save", str(case.core), str(case.binary),
                             "main.globalBytes", "-o", str(fifo)], env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _blocked_in_open(proc.pid, fifo):
            assert time.monotonic() < deadline and proc.poll() is None, "the save never waited for a reader"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGTERM, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"] and _kind(fifo) == "fifo"


def _blocked_in_open(pid: int, fifo: Path) -> bool:
    """Whether process ``pid`` sleeps opening a FIFO (the kernel's fifo_open waits in
    wait_for_partner for a reader)."""
    try:
        return "partner" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


def test_check_destination_says_what_a_save_would_do(tmp_path: Path) -> None:
    """The TUI asks before overwriting: only an existing regular file (directly or through a link)
    is one that a save replaces."""
    from explorer.goruntime.save import check_destination, fd_of_path

    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "l").symlink_to(tmp_path / "f")
    os.mkfifo(tmp_path / "p")
    assert check_destination(tmp_path / "n").kind == "new"
    with pytest.raises(SaveError, match="exists"):
        check_destination(tmp_path / "f")
    d = check_destination(tmp_path / "l", force=True)
    assert (d.kind, d.target, d.via_link, d.replaces) == ("file", tmp_path / "f", True, True)
    assert check_destination(tmp_path / "p").kind == "stream"
    assert (check_destination("-").kind, check_destination("-").fd) == ("fd", 1)
    assert check_destination("/dev/fd/5").fd == 5 and check_destination(f"/proc/{os.getpid()}/fd/3").fd == 3
    assert fd_of_path("/proc/1/fd/3") is None or os.getpid() == 1  # another process's: a path like others
    with pytest.raises(SaveError, match="does not exist"):
        check_destination(tmp_path / "no" / "f")


def test_save_from_a_worker_thread_refuses_a_fifo_without_reader(tmp_path: Path) -> None:
    """The TUI saves in a worker thread, where nothing could interrupt a wait for a FIFO's reader."""
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            save_memory(_mem(), 0x1000, 4, fifo)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=work)
    t.start()
    t.join(10)
    assert not t.is_alive() and len(errors) == 1 and isinstance(errors[0], SaveError)
    assert "nothing reads" in str(errors[0]) and _kind(fifo) == "fifo"
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    deadline = time.monotonic() + 10
    while True:  # once the reader has it open, a worker's save writes through
        errors.clear()
        t = threading.Thread(target=work)
        t.start()
        t.join(10)
        if not errors:
            break
        assert "nothing reads" in str(errors[0]) and time.monotonic() < deadline
        time.sleep(0.05)
    reader.join(10)
    assert got == [_DATA[:4]]
