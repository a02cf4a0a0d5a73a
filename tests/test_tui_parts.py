"""The TUI's pure parts, without a screen: command parsing, search patterns, the byte search over an
address space with holes, file names, substitute-path, disassembly lines; and the layer rule (only
explorer.tui imports textual; scripted commands never load it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from explorer.core.memory import AddressSpace, Region
from explorer.errors import ExplorerError
from explorer.render.source import SourceFinder, parse_rule, substitute
from explorer.tui import commands
from explorer.tui.session import default_save_name, package_of, parse_int, parse_range

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("line,name,extra", [
    ("goroutine 9", "goroutine", {"number": 9}),
    ("g 9", "goroutine", {"number": 9}),
    (":frame 21", "frame", {"number": 21}),
    ("f 0x10", "frame", {"number": 16}),
    ("up", "up", {"number": 1}),
    ("down 3", "down", {"number": 3}),
    ("p body[0:4]", "print", {"rest": "body[0:4]"}),
    ("print s.ready[\"body_len\"]", "print", {"rest": "s.ready[\"body_len\"]"}),
    ("x body", "x", {"rest": "body", "length": None}),
    ("x body 16", "x", {"rest": "body", "length": 16}),
    ("x 0xc000012000:64", "x", {"rest": "0xc000012000:64", "length": None}),
    ("save body /tmp/b.bin", "save", {"rest": "body", "path": "/tmp/b.bin"}),
    ("save r.Header[\"X a\"] out.bin", "save", {"rest": "r.Header[\"X a\"]", "path": "out.bin"}),
    ("save 0xc000:4 'my file.bin'", "save", {"rest": "0xc000:4", "path": "my file.bin"}),
    ("writebytestofile body out.bin", "save", {"rest": "body", "path": "out.bin"}),
    ("goroutines chan", "goroutines", {"rest": "chan"}),
    ("help", "help", {}),
    ("q", "quit", {}),
    ("exit", "quit", {}),
])
def test_parse_commands(line: str, name: str, extra: dict[str, Any]) -> None:
    c = commands.parse(line)
    assert c.name == name
    for k, v in extra.items():
        assert getattr(c, k) == v, (k, c)


@pytest.mark.parametrize("line,msg", [
    ("", "empty command"), ("bogus 1", "unknown command"), ("frame", "usage: frame N"),
    ("frame x", "usage: frame N"), ("goroutine -1", "usage"), ("print", "usage: print"),
    ("save body", "usage: save"), ("x", "usage: x"), ("substitute-path a", "usage"),
])
def test_bad_commands(line: str, msg: str) -> None:
    with pytest.raises(ExplorerError, match=msg):
        commands.parse(line)


def test_every_command_has_help() -> None:
    rows = dict(commands.help_rows())
    for c in commands.COMMANDS:
        assert any(k.startswith(c.usage) for k in rows)


def test_numbers_and_ranges() -> None:
    assert parse_int("0x10") == 16 and parse_int("16") == 16 and parse_int("0b101") == 5
    assert parse_int("1_000") == 1000 and parse_int("010") == 10
    assert parse_int("body") is None and parse_int("0xzz") is None
    assert parse_range("0xc000:64") == (0xC000, 64)
    assert parse_range("b[0:4]") is None and parse_range("body") is None


def test_save_names() -> None:
    assert default_save_name("body", 0, 64, 64) == "body.bin"
    assert default_save_name("body", 0, 4, 64) == "body-0-4.bin"
    assert default_save_name("body", 8, 8, 64) == "body-8-16.bin"
    assert default_save_name("s.ready[\"k\"]", 0, 3, 3) == "s.ready_k.bin"
    assert default_save_name("0xc000", 16, 4, 256, 0xC000) == "mem-c010-4.bin"
    assert default_save_name("0xc000:64", 0, 64, 64, 0xC000) == "mem-c000-64.bin"


def test_package_of() -> None:
    assert package_of("net/http.(*conn).serve") == "net/http"
    assert package_of("main.(*orderServer).ServeHTTP") == "main"
    assert package_of("github.com/a/b.F[go.shape.*net/http.Request]") == "github.com/a/b"


def test_search_patterns() -> None:
    from explorer.tui.hexview import parse_pattern

    assert parse_pattern("customer") == b"customer"
    assert parse_pattern('"de ad"') == b"de ad"
    assert parse_pattern("de ad be ef") == bytes.fromhex("deadbeef")
    assert parse_pattern("0xdeadbeef") == bytes.fromhex("deadbeef")
    assert parse_pattern("cafe") == b"cafe"
    # An integer's little-endian bytes, as the inspector reads the bytes at the cursor.
    assert parse_pattern("u32:0xdeadbeef") == bytes.fromhex("efbeadde")
    assert parse_pattern("U64:1") == bytes.fromhex("0100000000000000")
    assert parse_pattern("u16:-2") == bytes.fromhex("feff") and parse_pattern("u8:255") == b"\xff"
    for bad in ("u8:256", "u32:x", "u16:0x10000"):
        with pytest.raises(ExplorerError):
            parse_pattern(bad)
    assert parse_pattern("x:1") == b"x:1"  # not an integer form: text
    with pytest.raises(ExplorerError):
        parse_pattern("0xabc")
    with pytest.raises(ExplorerError):
        parse_pattern("   ")


def test_find_bytes_across_regions_and_holes() -> None:
    from explorer.tui.hexview import find_bytes

    a = b"....ab"
    b = b"cd....XY"
    mem = AddressSpace([Region(0x1000, 0x1000 + len(a), a, 0, 30),
                        Region(0x1000 + len(a), 0x1000 + len(a) + len(b), b, 0, 30),
                        Region(0x2000, 0x2002, b"YZ", 0, 30)])
    # Adjacent regions: a match may straddle them.
    assert find_bytes(mem.chunks, 0x1000, 0x1100, b"abcd") == 0x1004
    # A hole ends a match: "XY" + hole + "YZ" holds no "XYYZ".
    assert find_bytes(mem.chunks, 0x1000, 0x3000, b"XYYZ") is None
    assert find_bytes(mem.chunks, 0x1000, 0x3000, b"YZ") == 0x2000
    assert find_bytes(mem.chunks, 0x1005, 0x1100, b"abcd") is None


def test_substitute_path(tmp_path: Path) -> None:
    assert parse_rule("/build=/src") == ("/build", "/src")
    with pytest.raises(ExplorerError):
        parse_rule("nothing")
    rules = [("/build/app", str(tmp_path))]
    assert substitute("/build/app/main.go", rules) == str(tmp_path / "main.go")
    assert substitute("/build/application/main.go", rules) == "/build/application/main.go"
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    finder = SourceFinder(rules)
    src = finder.load("/build/app/main.go")
    assert src.path == tmp_path / "main.go" and src.lines[2] == "func main() {}"
    with pytest.raises(ExplorerError, match="source not found"):
        SourceFinder().load("/build/app/main.go")


def test_highlight_keeps_lines(tmp_path: Path) -> None:
    from explorer.render.source import highlight

    p = tmp_path / "x.go"
    p.write_text("package main\n\n// a comment\nfunc main() {\n\tprintln(\"hi\")\n}\n")
    src = SourceFinder().load(str(p))
    lines = highlight(src)
    assert [t.plain for t in lines] == [ln.expandtabs(4) for ln in src.lines]
    assert all(sp.style.bgcolor is None for t in lines for sp in t.spans)  # type: ignore[union-attr]


def test_disassembly_names_call_targets(corpus: Any) -> None:
    from explorer.goruntime.process import GoProcess
    from explorer.render.disasm import SymbolIndex, disassemble, render_line

    case = corpus("1.24.11", "noopt", "httpabort")
    with GoProcess.open(case.core, case.binary) as proc:
        f = proc.pclntab.func_by_name("main.processOrder")
        listing = disassemble(proc.memory.read, proc.pclntab, f, proc.arch,
                              SymbolIndex(proc.exe.symbols, proc.pie_bias))
        assert listing.error is None and listing.lines[0].address == f.entry
        calls = [ln.target_name for ln in listing.lines if ln.is_call]
        assert "main.decodeOrder" in calls
        ln = next(ln for ln in listing.lines if ln.target_name == "main.decodeOrder")
        assert "call" in render_line(ln, f.entry).plain and ln.line > 0
        assert listing.index_of(ln.address + 1) == listing.lines.index(ln)


def test_cli_does_not_import_textual(corpus: Any) -> None:
    case = corpus("1.24.11", "noopt", "httpabort")
    code = ("import sys, io, contextlib\nfrom explorer.cli import main\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    rc = main(['bt', {str(case.core)!r}, "
            f"{str(case.binary)!r}])\n"
            "assert rc == 0, rc\nassert 'textual' not in sys.modules, 'textual imported'\n"
            "import explorer.cli_tui, explorer.demo\nassert 'textual' not in sys.modules\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert r.returncode == 0, r.stderr


def test_only_tui_imports_textual() -> None:
    offenders = []
    for p in (REPO / "explorer").rglob("*.py"):
        if "tui" in p.relative_to(REPO / "explorer").parts[:1]:
            continue
        text = p.read_text()
        if "import textual" in text or "from textual" in text:
            offenders.append(str(p))
    assert not offenders


def test_tui_needs_a_terminal(corpus: Any) -> None:
    case = corpus("1.24.11", "noopt", "httpabort")
    r = subprocess.run([sys.executable, "-m", "explorer", str(case.core), str(case.binary)], capture_output=True,
                       text=True, cwd=REPO, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "needs a terminal" in r.stderr and "Traceback" not in r.stderr


def test_demo_files_are_small_and_complete() -> None:
    from explorer.demo import DEMO_DIR, prepare

    total = sum(p.stat().st_size for p in DEMO_DIR.iterdir() if p.is_file())
    assert total < 6 << 20, f"the demo is {total} bytes"
    demo = prepare()
    assert demo.binary.exists() and demo.core.exists()
    assert any(Path(dst, "scenario_httpabort.go").exists() for _src, dst in demo.substitute)



def test_tui_modules_are_small() -> None:
    """explorer/tui is split by concern (issue 12): no module over ~600 lines (tests/test_layers.py
    checks that it has no import cycle)."""
    for p in (REPO / "explorer" / "tui").glob("*.py"):
        lines = p.read_text().count("\n")
        assert lines <= 620, f"{p.name} has {lines} lines"


def test_source_place() -> None:
    """The source footer's place for files of the main module (its main package in cmd/app), of
    GOROOT, of the module cache, and of a -trimpath build."""
    from types import SimpleNamespace

    from explorer.binary.buildinfo import BuildInfo
    from explorer.tui.session import Session

    def session(files: dict[str, str], path: str, module: str) -> Session:
        funcs = {name: SimpleNamespace(name=name, entry=i) for i, name in enumerate(files)}
        pclntab = SimpleNamespace(func_by_name=funcs.get, file_line=lambda f, pc: (files[f.name], 1))
        exe = SimpleNamespace(buildinfo=BuildInfo("go1.24", path=path, main_module=module))
        return Session(SimpleNamespace(pclntab=pclntab, exe=exe))

    s = session({"main.main": "/home/dev/app/cmd/app/main.go", "runtime.main": "/usr/lib/go/src/runtime/proc.go"},
                "example.com/app/cmd/app", "example.com/app")
    assert s.source_place("/home/dev/app/cmd/app/main.go") == "example.com/app/cmd/app"
    assert s.source_place("/home/dev/app/internal/db/db.go") == "example.com/app/internal/db"
    assert s.source_place("/home/dev/application/x.go") == "/home/dev/application"
    assert s.source_place("/usr/lib/go/src/net/http/server.go") == "$GOROOT/src/net/http"
    assert s.source_place("/root/go/pkg/mod/github.com/x/y@v1.2.3/z/z.go") == "github.com/x/y@v1.2.3/z"
    trim = session({"main.main": "example.com/app/main.go", "runtime.main": "runtime/proc.go"},
                   "example.com/app", "example.com/app")
    assert trim.source_place("example.com/app/sub/a.go") == "example.com/app/sub"
