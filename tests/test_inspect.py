"""The machine-level commands and the selected frame, through the command line, against oracles
that are not ours:

- the selected frame (``-f``'s default, ``bt``'s marker): the innermost frame of the program's own
  code in the crashing goroutine as the Go runtime printed it;
- ``threads`` and ``thread N``'s registers, ``regs`` at a thread's innermost frame: gdb reading the
  same core (``info threads``, ``info registers``, the x87/SSE registers of ``regs -a``);
- a thread's own stack past its signal frame, and the registers the signal interrupted: the
  runtime's per-thread sections (``SIGQUIT: quit``, its frames and its register dump);
- ``regs`` at outer frames: the runtime's printed pc, sp and fp of each frame (the frame pointer
  is fp - 16, where the caller's frame pointer and the return address above it are);
- ``list``: the source file's own lines; ``disassemble``: ``go tool objdump`` of the same binary;
- ``args``/``locals``: what the values program printed about its own variables.

Cores are the corpus's (cached): the crasher's httpabort scenario (its other threads print their
sections), -N -l, on Go 1.21, 1.24 and 1.27; nilderef optimized; the values program.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import gotools
import pytest
from corpus import CoreCase, make_core, source_dir
from needs import need_tool
from oracle import printed_name
from test_values import HOLD, check, expected_key

from explorer.cli import _tui_parser, build_parser
from explorer.cli import main as cli_main
from explorer.goruntime.process import GoProcess

VERSIONS = [v for v in ("1.21.13", "1.24.11", "1.27.3") if v in gotools.test_versions()] or \
    gotools.test_versions()[:1]
PRIMARY = "1.24.11" if "1.24.11" in VERSIONS else VERSIONS[0]

_OPEN: dict[str, GoProcess] = {}


@pytest.fixture(scope="module", autouse=True)
def _close() -> Any:
    yield
    for p in _OPEN.values():
        p.close()
    _OPEN.clear()  # other modules importing proc_of open their own


def proc_of(case: CoreCase) -> GoProcess:
    key = str(case.core)
    if key not in _OPEN:
        _OPEN[key] = GoProcess.open(case.core, case.binary)
    return _OPEN[key]


def abort_case(version: str, arch: str = "amd64") -> CoreCase:
    return make_core(version, "noopt", "httpabort", arch=arch)


#: (version, arch) of the thread and frame-pointer tests: amd64 on every version, arm64 (qemu cores)
#: on one.
TARGETS = [pytest.param(v, "amd64", id=v) for v in VERSIONS] + (
    [pytest.param(PRIMARY, "arm64", id=f"arm64-{PRIMARY}")] if "arm64" in gotools.corpus_arches() else [])
#: The runtime's register dump names (runtime/signal_{amd64,arm64}.go dumpregs) -> ours (NT_PRSTATUS's).
DUMP_NAMES = {"amd64": {"rflags": "eflags"}, "arm64": {"lr": "x30", **{f"r{i}": f"x{i}" for i in range(30)}}}


def run(*args: Any) -> tuple[int, str, str]:
    """``gocore-tui ARGS`` in this process: (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli_main([str(a) for a in args])
    assert "Traceback" not in err.getvalue(), err.getvalue()
    return rc, out.getvalue(), err.getvalue()


def run_json(*args: Any) -> Any:
    rc, out, err = run(*args, "--json")
    assert rc == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------------------------------
# Help


def _actions(parser: argparse.ArgumentParser, path: str) -> list[tuple[str, argparse.Action]]:
    out = []
    for a in parser._actions:
        out.append((path, a))
        if isinstance(a, argparse._SubParsersAction):
            for choice in a._choices_actions:
                out.append((f"{path} {choice.dest}", choice))
            for name, sub in a.choices.items():
                out += _actions(sub, f"{path} {name}")
    return out


def test_every_option_of_every_command_has_help() -> None:
    actions = _actions(build_parser(), "gocore-tui") + _actions(_tui_parser(), "gocore-tui (TUI)")
    missing = [f"{path}: {a.option_strings or a.dest}" for path, a in actions
               if not a.help or a.help == argparse.SUPPRESS]
    assert not missing, missing
    assert len(actions) > 80  # the walk reached the subcommands


def test_help_shows_the_tui_form_and_the_commands() -> None:
    rc, out, _ = run("--help")
    assert rc == 0
    assert "gocore-tui CORE [BINARY] [-g ID] [-f N] [--substitute-path FROM=TO]" in out
    for name in ("info", "goroutines", "bt", "stack", "vars", "args", "locals", "print", "x", "save", "decode",
                 "regs", "threads", "thread", "list", "disassemble", "heap", "pprof", "demo"):
        assert re.search(rf"^\s+{name}\b", out, re.M), name
    rc, out, _ = run("regs", "--help")
    assert rc == 0 and "-a" in out and "-f N" in out and "innermost frame in the program's own code" in out


# --------------------------------------------------------------------------------------------------
# The selected frame: -f's default, bt's marker


@pytest.mark.parametrize(("version", "mode", "scenario"), [*((v, "noopt", "httpabort") for v in VERSIONS),
                                                          (PRIMARY, "opt", "nilderef")])
def test_selected_frame_is_the_programs_innermost(version: str, mode: str, scenario: str, tmp_path: Path) -> None:
    case = make_core(version, mode, scenario)
    crashing = case.trace.crashing
    assert crashing is not None
    mine = next(f for f in crashing.frames if f.function.startswith("main."))
    frames = run_json("bt", case.core, case.binary)
    selected = [f for f in frames if f["selected"]]
    assert len(selected) == 1, frames
    sel = selected[0]
    assert (sel["function"], sel["file"], sel["line"]) == (mine.function, mine.file, mine.line)
    # bt's text marks it; stack N stops at frame N
    rc, out, _ = run("bt", case.core, case.binary)
    marked = [ln for ln in out.splitlines() if ln.startswith("=>")]
    assert len(marked) == 1 and f" {sel['index']}  {mine.function}(" in marked[0], marked
    assert [f["index"] for f in run_json("stack", case.core, case.binary, "2")] == [0, 1, 2]
    assert run("stack", case.core, case.binary, "--", "-1")[0] == 2  # a negative depth is bad usage
    rc, _, err = run("bt", case.core, "-1")  # ... also where BINARY is left out
    assert rc == 2 and err.strip() == "gocore-tui bt: argument N: -1: must not be negative", err
    # vars without -f is vars -f INDEX (and args + locals are vars)
    k = sel["index"]
    assert run_json("vars", case.core, case.binary) == run_json("vars", case.core, case.binary, "-f", k)
    args_, locals_ = run_json("args", case.core, case.binary), run_json("locals", case.core, case.binary)
    assert {v["kind"] for v in args_} <= {"arg"} and {v["kind"] for v in locals_} <= {"local"}
    assert sorted(map(json.dumps, args_ + locals_)) == sorted(map(json.dumps, run_json("vars", case.core, case.binary)))
    if scenario == "httpabort":
        # print, x, save and decode default to it: the handler's request body, as the program printed it
        body = bytes.fromhex(case.values["body_hex"])
        assert run_json("print", case.core, case.binary, "len(*body)")["value"] == len(body)
        out_file = tmp_path / "body.bin"
        rc, _, err = run("save", case.core, case.binary, "*body", "-o", out_file)
        assert rc == 0 and out_file.read_bytes() == body, err
        assert bytes.fromhex(run_json("decode", case.core, case.binary, "*body", "--as", "hex")["hex"]) == body
        rc, out, _ = run("x", case.core, case.binary, "*body", "-n", "8")
        assert rc == 0 and body[:8].hex(" ") in out


def test_args_and_locals_are_the_programs_values() -> None:
    case = make_core(PRIMARY, "noopt", "values", prog="values")
    # The selected frame is main.checkCode(code, reason), where the panic starts; main.crash(code,
    # reason, payload) calls it: their arguments as the program printed them
    frames = run_json("bt", case.core, case.binary)
    sel = next(f for f in frames if f["selected"])
    assert sel["function"] == "main.checkCode"
    assert [v["name"] for v in run_json("args", case.core, case.binary)] == ["code", "reason"]
    crash = next(f["index"] for f in frames if f["function"] == "main.crash")
    args_ = run_json("args", case.core, case.binary, "-f", crash)
    assert [v["name"] for v in args_] == ["code", "reason", "payload"]
    for v in args_:
        check(v["name"], v["value"], case.values[f"crash.{v['name']}"])
    hold = next(f["index"] for f in frames if f["function"] == HOLD)
    locals_ = run_json("locals", case.core, case.binary, "-f", hold)
    assert locals_ and all(v["kind"] == "local" for v in locals_)
    checked = 0
    for v in locals_:
        key = expected_key(HOLD, v["name"])
        if key in case.values:
            check(key, v["value"], case.values[key])
            checked += 1
    assert checked >= 30, checked
    assert run_json("args", case.core, case.binary, "-f", hold)[0]["name"] == "shared"


# --------------------------------------------------------------------------------------------------
# threads, thread N, regs: against gdb


_GDB_THREAD = re.compile(r"^\*?[ \t]+\d+[ \t]+LWP (\d+)[ \t]+(\S+) \(\)", re.M)
_GDB_SECTION = re.compile(r"^Thread \d+ \(LWP (\d+)\):$", re.M)
_GDB_REG = re.compile(r"^([a-z0-9_]+)\s+(0x[0-9a-f]+)\b", re.M)
_GDB_RAW = re.compile(r"^(st\d)\s+.*\(raw (0x[0-9a-f]+)\)", re.M)
_GDB_VEC = re.compile(r"^(xmm\d+)\s+\{.*uint128 = (0x[0-9a-f]+)", re.M)
GDB_NAMES = {"fctrl": "cw", "fstat": "sw"}  # gdb's names of the FXSAVE control and status words
GDB_REGS = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags cs ss ds es fs gs fs_base "
            "gs_base orig_rax fctrl fstat mxcsr " + " ".join(f"st{i}" for i in range(8)) + " " +
            " ".join(f"xmm{i}" for i in range(16)))


def gdb_threads(case: CoreCase) -> tuple[dict[int, str], dict[int, dict[str, int]]]:
    """gdb's view of the core: LWP -> the function of its innermost frame, and LWP -> registers."""
    gdb = need_tool("gdb", "apt-get install gdb")
    out = subprocess.run([gdb, "-batch", "-nx", "-ex", "set auto-load off", "-ex", "info threads",
                          "-ex", f"thread apply all info registers {GDB_REGS}", str(case.binary), str(case.core)],
                         capture_output=True, text=True, timeout=120).stdout
    table, _, dumps = out.partition("\nThread ")
    functions = {int(m[1]): m[2] for m in _GDB_THREAD.finditer(table.split("Target Id")[-1])}
    regs: dict[int, dict[str, int]] = {}
    parts = _GDB_SECTION.split("\nThread " + dumps)
    for lwp, body in zip(parts[1::2], parts[2::2], strict=True):
        r = {GDB_NAMES.get(m[1], m[1]): int(m[2], 16) for m in _GDB_REG.finditer(body)}
        r.update((m[1], int(m[2], 16)) for m in _GDB_RAW.finditer(body))
        r.update((m[1], int(m[2], 16)) for m in _GDB_VEC.finditer(body))
        regs[int(lwp)] = r
    return functions, regs


@pytest.mark.parametrize("version", VERSIONS)
def test_threads_and_registers_match_gdb(version: str) -> None:
    case = abort_case(version)
    functions, gdb_regs = gdb_threads(case)
    threads = run_json("threads", case.core, case.binary)
    assert [t["lwp"] for t in threads] and {t["lwp"] for t in threads} == set(gdb_regs) == set(functions)
    general = ("rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags").split()
    for t in threads:
        g = gdb_regs[t["lwp"]]
        assert (t["pc"], t["sp"]) == (g["rip"], g["rsp"]), t["lwp"]
        assert t["function"] == functions[t["lwp"]], t["lwp"]
        assert t["frames"][0]["registers"] == {n: g[n] for n in general}, t["lwp"]
    # thread N -a: every register gdb shows for it (segment, x87 and SSE ones included)
    for t in threads[:2]:
        regs = run_json("thread", case.core, case.binary, t["lwp"], "-a")["registers"]
        g = gdb_regs[t["lwp"]]
        common = set(regs) & set(g)
        assert len(common) >= 18 + 9 + 3 + 8 + 16, sorted(set(g) - set(regs))
        assert {n: regs[n] for n in common} == {n: g[n] for n in common}
    # regs at the crashing goroutine's frame 0 are its thread's (the one the runtime's first section
    # names: before Go 1.22 not the one that dumped core, gdb's current thread)
    crashed = next(t for t in threads if t["crashed"])
    assert run_json("regs", case.core, case.binary, "-f", "0") == {n: gdb_regs[crashed["lwp"]][n] for n in general}
    rc, out, _ = run("threads", case.core, case.binary)
    assert rc == 0 and re.search(rf"^\* {crashed['lwp']} ", out, re.M)


def _thread_by_m(proc: GoProcess) -> dict[int, int]:
    """m.id -> the LWP running that M (to find the runtime's sections, which name Ms)."""
    off = proc.layout.offset("runtime.m", "id")
    assert off is not None
    return {proc.memory.read_uint(ti.m + off, 8): ti.tid for ti in proc.thread_infos if ti.m}


@pytest.mark.parametrize(("version", "arch"), TARGETS)
def test_thread_stacks_match_the_runtimes_sections(version: str, arch: str) -> None:
    """Each thread section the runtime printed (the crashing one, then SIGQUIT on every other thread):
    ``thread N``'s frames past its outermost signal frame are the frames printed there, the
    registers known at the first of them are the register dump printed there, and the goroutine the
    section names is the thread's."""
    case = abort_case(version, arch)
    by_m = _thread_by_m(proc_of(case))
    sections = [s for s in case.trace.sections if s.signal is not None and s.signal.m is not None and s.registers]
    assert len(sections) >= 3, [s.signal for s in case.trace.sections]
    for s in sections:
        assert s.signal is not None and s.signal.m is not None
        t = run_json("thread", case.core, case.binary, by_m[s.signal.m])
        frames = t["frames"]
        last_sig = max(i for i, f in enumerate(frames) if f["signal"] is not None)
        assert frames[last_sig]["function"] == "runtime.sigtramp"
        after = frames[last_sig + 1:]
        # the crashing section goes on with every goroutine (GOTRACEBACK=all): its own is the first
        blocks = s.goroutines[:1] if s is case.trace.sections[0] else s.goroutines
        printed = [f for b in blocks for f in b.frames if not b.elided]
        assert printed
        ours = [(printed_name(f["function"]), f["pc"], f["sp"]) for f in after if not f["inlined"]]
        want = [(f.function, f.pc, f.sp) for f in printed if not f.inlined]
        assert ours[: len(want)] == want, f"m{s.signal.m}: {ours}\n!= {want}"
        dumped = {DUMP_NAMES[arch].get(k, k): v for k, v in s.registers.items()}
        known = after[0]["registers"]
        common = set(known) & set(dumped)
        assert len(common) >= 18, common
        assert {k: known[k] for k in common} == {k: dumped[k] for k in common}, f"m{s.signal.m}"
        ids = [b.id for b in blocks if b.id != 0]
        if ids:
            assert t["goroutine"] == ids[-1]
        # the signal the section reports (SIGABRT; SIGQUIT, the runtime's relay) is the one its
        # outermost signal frame delivered
        assert frames[last_sig]["signal"] == s.signal.number, (s.signal, frames[last_sig])
        assert t["crashed"] == (s is case.trace.sections[0])


@pytest.mark.parametrize(("version", "arch"), TARGETS)
def test_regs_at_outer_frames_follow_the_frame_pointers(version: str, arch: str) -> None:
    """At every frame the runtime printed for the crashing goroutine: the pc and the stack pointer
    are its pc and sp, and the frame pointer is where the prologue put it, holding the caller's: amd64
    rbp = fp - 16, the return address (the next printed frame's pc) above it; arm64 x29 = sp - 8, the
    return address at sp and in x30."""
    case = abort_case(version, arch)
    proc = proc_of(case)
    crashing = case.trace.crashing
    assert crashing is not None
    from explorer.goruntime.machine import frame_registers

    frames = proc.backtrace(proc.crashed_goroutine).frames
    printed = [f for f in crashing.frames if not f.inlined]
    start = next(i for i, f in enumerate(frames) if (printed_name(f.function), f.sp) ==
                 (printed[0].function, printed[0].sp))
    ours = [f for f in frames[start:] if not f.inlined]
    checked = 0
    pc, sp, fp = ("pc", "sp", "x29") if arch == "arm64" else ("rip", "rsp", "rbp")
    slot = 0 if arch == "arm64" else 8  # what a frame of nothing but a return address spans

    def frame_pointer(p: Any) -> int:
        return p.sp - 8 if arch == "arm64" else p.fp - 16

    for k, (f, p) in enumerate(zip(ours, printed, strict=False)):
        assert (printed_name(f.function), f.pc, f.sp) == (p.function, p.pc, p.sp)
        regs = frame_registers(proc, frames, f.index)
        assert (regs[pc], regs[sp]) == (p.pc, p.sp)
        if f.regs or p.fp is None or p.fp - p.sp <= slot or k + 1 >= len(printed):
            continue
        caller = printed[k + 1]
        assert regs[fp] == frame_pointer(p)
        ret = p.sp if arch == "arm64" else regs[fp] + 8
        assert proc.memory.read_u64(ret) == caller.pc
        if arch == "arm64":
            assert regs["x30"] == caller.pc
        if caller.fp is not None and caller.fp - caller.sp > slot:
            assert proc.memory.read_u64(regs[fp]) == frame_pointer(caller)
        checked += 1
    assert checked >= 4, checked
    k = next(i for i, f in enumerate(frames) if f.function == "main.processOrder" or f.function.startswith("main."))
    assert run_json("regs", case.core, case.binary, "-f", k) == frame_registers(proc, frames, k)


# --------------------------------------------------------------------------------------------------
# list


def _source_lines(case: CoreCase, name: str) -> list[str]:
    return (source_dir("crasher") / name).read_text().splitlines()


def test_list_shows_the_source_files_lines(tmp_path: Path) -> None:
    case = abort_case(PRIMARY)
    src = _source_lines(case, "scenario_httpabort.go")
    sel = next(f for f in run_json("bt", case.core, case.binary) if f["selected"])
    got = run_json("list", case.core, case.binary)
    assert got["line"] == got["current"] == sel["line"] and got["file"] == sel["file"]
    assert [ln["text"] for ln in got["lines"]] == src[got["first"] - 1 : got["last"]]
    assert got["first"] == sel["line"] - 5 and got["last"] == sel["line"] + 5
    # FUNC: its func line, found in the file by text
    decl = next(i for i, t in enumerate(src, 1) if t.startswith("func processOrder("))
    got = run_json("list", case.core, case.binary, "processOrder")
    assert got["line"] == decl and got["function"] == "main.processOrder"
    assert [ln["text"] for ln in got["lines"]] == src[decl - 6 : decl + 5]
    # FILE:LINE (a base name), +N; the text form marks the frame's line
    main_go = _source_lines(case, "main.go")
    got = run_json("list", case.core, case.binary, "main.go:20")
    assert [(ln["line"], ln["text"]) for ln in got["lines"]] == list(enumerate(main_go, 1))[14:25]
    assert run_json("list", case.core, case.binary, "+3")["line"] == sel["line"] + 3
    rc, out, _ = run("list", case.core, case.binary)
    assert rc == 0 and re.search(rf"^=> {sel['line']}:\t", out, re.M), out
    # --substitute-path: the sources found where the rule points (a copy, one line changed)
    copy = tmp_path / "src"
    shutil.copytree(source_dir("crasher"), copy)
    text = src.copy()
    text[sel["line"] - 1] = "// the copy's line"
    (copy / "scenario_httpabort.go").write_text("\n".join(text) + "\n")
    got = run_json("list", case.core, case.binary, "--substitute-path", f"{source_dir('crasher')}={copy}")
    assert got["path"] == str(copy / "scenario_httpabort.go")
    assert next(ln["text"] for ln in got["lines"] if ln["line"] == sel["line"]) == "// the copy's line"
    rc, _, err = run("list", case.core, case.binary, "ServeHTTP")
    assert rc == 1 and "ambiguous" in err and "main.(*orderServer).ServeHTTP" in err


# --------------------------------------------------------------------------------------------------
# disassemble


_OBJDUMP = re.compile(r"^\s+(?P<file>\S+):(?P<line>\d+)\t+0x(?P<addr>[0-9a-f]+)\t+(?P<hex>[0-9a-f]+)\t+")


def objdump(version: str, binary: Path, function: str) -> list[tuple[str, int, int, str]]:
    """(file base name, line, address, bytes as hex) of each instruction go tool objdump prints."""
    out = subprocess.run([gotools.go_command(version), "tool", "objdump", "-s", f"^{re.escape(function)}$",
                          str(binary)], capture_output=True, text=True, env=gotools.go_env(version),
                         check=True).stdout
    return [(m["file"], int(m["line"]), int(m["addr"], 16), m["hex"]) for m in map(_OBJDUMP.match, out.splitlines())
            if m]


@pytest.mark.parametrize("version", VERSIONS)
def test_disassemble_matches_objdump(version: str) -> None:
    case = abort_case(version)
    sel = next(f for f in run_json("bt", case.core, case.binary) if f["selected"])
    for args, function in ((["-l", "main.processOrder"], "main.processOrder"), ([], sel["function"])):
        want = objdump(version, case.binary, function)
        got = run_json("disassemble", case.core, case.binary, *args)
        ins = got["instructions"]
        assert want and [(os.path.basename(i["file"]), i["line"], i["address"], i["bytes"]) for i in ins] == want
        assert {i["function"] for i in ins} == {function}
    # the selected frame's instruction is the current one: the call the frame is in (its pc, the
    # return address, follows it)
    cur = [i for i in ins if i["current"]]
    assert len(cur) == 1 and cur[0]["address"] + cur[0]["size"] == sel["pc"] and cur[0]["mnemonic"] == "call"
    # -a START END: objdump's instructions in the range, wherever START falls
    want = objdump(version, case.binary, "main.processOrder")
    k = next(i for i, w in enumerate(want) if i and len(w[3]) > 2)  # START inside a multi-byte instruction
    start, end = want[k][2] + 1, want[-3][2]
    got = run_json("disassemble", case.core, case.binary, "-a", hex(start), hex(end))
    assert [i["address"] for i in got["instructions"]] == [w[2] for w in want[k:-3]]
    rc, out, _ = run("disassemble", case.core, case.binary)
    assert rc == 0 and out.startswith(f"TEXT {sel['function']}(SB) ")
    assert re.search(rf"^=>\t.*\t{cur[0]['address']:#x}\t.*\tcall ", out, re.M), out
