"""arm64 against oracles of its own: what its cores hold, the kernel's signal frame, g in R28, the
runtime layout table, and the ARM64 disassembly.

The backtrace and value oracles (test_goroutines.py, test_values.py, tests/harness) already run on
the arm64 corpus, which is made under qemu-user (tests/corpus.py). These check what those do not:

- the signal frame layout of :mod:`explorer.core.arch` (amd64's and arm64's): every register dump
  the runtime printed after a fatal signal or a relayed SIGQUIT (it prints the signal context) is
  found, register for register, at the offsets the description gives above a ``runtime.sigtramp``
  frame of some thread, and the unwinder goes on from that pc and sp;
- qemu-user's cores: which notes they hold (readelf lists them), the dumping thread first and the
  only one with ``pr_cursig``, AT_ENTRY, text that only the executable holds, and R28 holding the
  crashing goroutine the runtime printed (``gp=``, Go 1.24+);
- stripped arm64 binaries read runtime structures from the layout table: it must equal what the
  arm64 build's DWARF says, for every release;
- capstone's ARM64 disassembly (the TUI's disassembly pane shows it): addresses, instruction words,
  lines, call and branch targets equal ``go tool objdump``'s; and the TUI shows it on an arm64 core;
- a thread whose g register (arm64 R28) or TLS slot (amd64) holds no g of its M (C code, a damaged
  core) is matched to its M by thread id (``m.procid`` in ``runtime.allm``): the same Ms, goroutines
  and backtraces as with the register;
- the unwinder's rarer paths, which the crasher's scenarios do not take, on cores of
  tests/testprogs/lrpaths (arm64, and amd64 alike) compared with the runtime's traceback: an asynchronously preempted
  frameless function (its return address is the LR the signal handler saved below the injected
  asyncPreempt), goroutines that never ran (goexit in sched.lr), and a fatal error on the system
  stack (g0's frames up to runtime.systemstack, then curg.sched's systemstack_switch).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path
from typing import Any

import gotools
import pytest
from corpus import ARM64_FULL_VERSIONS, CoreCase, arm64_cases, build, case_id, make_core

from explorer.core.arch import ARCHES, ARM64, arch_named
from explorer.core.elfcore import NT_FILE, NT_SIGINFO
from explorer.goruntime.process import GoProcess

VERSIONS = gotools.test_versions()
ON_ARM64 = "arm64" in gotools.corpus_arches()
ARM64_VERSIONS = VERSIONS if ON_ARM64 else []


def opened(case: CoreCase) -> GoProcess:
    return GoProcess.open(case.core, case.binary)


# --------------------------------------------------------------------------------------------------
# The signal frame: the registers the runtime printed are where core.arch says


def printed_to_ours(arch: str, name: str) -> str | None:
    """The register the runtime's dump calls ``name`` (runtime/signal_{amd64,arm64}.go), as
    NT_PRSTATUS and core.arch name it; None for what the signal frame description leaves out."""
    if arch == "arm64":
        if name == "lr":
            return "x30"
        if name in ("sp", "pc"):
            return name
        m = re.fullmatch(r"r(\d+)", name)
        return f"x{m[1]}" if m else None
    if name == "rflags":
        return "eflags"
    return name if name in ARCHES[arch].sigframe.regs else None


@pytest.mark.parametrize(("version", "arch"),
                         [pytest.param(v, "amd64", id=f"amd64-{v}") for v in VERSIONS]
                         + [pytest.param(v, "arm64", id=f"arm64-{v}") for v in ARM64_VERSIONS])
def test_signal_frames_hold_the_printed_registers(version: str, arch: str) -> None:
    case = make_core(version, "opt", "httpabort", arch=arch)
    desc = arch_named(arch)
    sf = desc.sigframe
    sections = [s for s in case.trace.sections if s.registers and s.signal is not None]
    assert len(sections) >= 2  # the crashing thread's SIGABRT, and the SIGQUITs relayed to the others
    with opened(case) as proc:
        contexts = []  # (signal, registers, fault address, the unwinder's next frame)
        for ti in proc.thread_infos:
            frames = proc.thread_backtrace(ti).frames
            for i, f in enumerate(frames):
                if f.function != "runtime.sigtramp" or f.inlined:
                    continue
                cfa = f.fp
                regs = {name: proc.memory.read_u64(cfa + off) for name, off in sf.regs.items()}
                signo = proc.memory.read_i32(cfa + sf.signo)
                fault = proc.memory.read_u64(cfa + sf.fault_address)
                after = frames[i + 1] if i + 1 < len(frames) else None
                contexts.append((signo, regs, fault, after))
                assert f.signal == signo
        assert contexts
        for s in sections:
            want = {ours: v for name, v in s.registers.items() if (ours := printed_to_ours(arch, name))}
            assert desc.pc_reg in want and desc.sp_reg in want
            match = [c for c in contexts if all(c[1][k] == v for k, v in want.items())]
            assert match, f"no signal frame holds the registers of {s.signal}: {want}"
            signo, _regs, fault, after = match[0]
            assert signo == s.signal.number
            if "fault" in s.registers:  # arm64 prints the fault address too
                assert fault == s.registers["fault"]
            # The unwinder carries on from the interrupted pc and sp.
            assert after is not None and (after.pc, after.sp) == (want[desc.pc_reg], want[desc.sp_reg])


@pytest.mark.parametrize("core_case", arm64_cases(), ids=case_id, indirect=True)
def test_threads_and_crash_match_runtime(core_case: CoreCase) -> None:
    """Beyond test_goroutines' checks, on the arm64 corpus: what each other thread printed in its
    SIGQUIT section follows its signal frame in our view of it, the runtime stack of a throw, and
    info's crash (tests/oracle.py)."""
    from oracle import crash_problems, runtime_stack_problems, thread_section_problems

    with opened(core_case) as proc:
        problems = runtime_stack_problems(proc, core_case.trace)
        problems += thread_section_problems(proc, core_case.trace)
        problems += crash_problems(proc, core_case)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------------------------------
# qemu-user's cores


def readelf_notes(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-n", "-W", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\b(NT_\w+|Unknown note type: \(0x[0-9a-f]+\))", out)


@pytest.mark.parametrize("version", ARM64_VERSIONS)
def test_qemu_core(version: str) -> None:
    case = make_core(version, "opt", "panic", arch="arm64")
    notes = readelf_notes(case.core)
    with opened(case) as proc:
        core = proc.core
        assert core.arch == "arm64" and core.arch_desc is ARM64
        # What qemu 7.2 writes: a prstatus per thread, prpsinfo and auxv; no siginfo, file or FP regs.
        assert notes.count("NT_PRSTATUS") == len(core.threads) >= 2
        assert set(notes) == {"NT_PRSTATUS", "NT_PRPSINFO", "NT_AUXV"}
        types = {t for _name, t, _d in core.iter_notes()}
        assert NT_SIGINFO not in types and NT_FILE not in types and core.notes.siginfo is None
        # No NT_FILE: the executable's path is the string AT_EXECFN points to (what qemu was told).
        assert core.executable_path == str(case.binary)
        # The pid is qemu's (the host process's), which is also what getpid() told the program.
        assert core.notes.prpsinfo is not None and core.notes.prpsinfo.pid == case.pid == case.ready["pid"]
        # pr_fname: qemu fills all 16 bytes (the kernel keeps a terminating NUL: 15 characters).
        assert core.notes.prpsinfo.fname == case.binary.name[:16]
        assert core.notes.auxv[9] == proc.exe.entry  # AT_ENTRY; not PIE
        # The dumping thread first, and only it has the signal.
        assert [t.signal for t in core.threads] == [6] + [0] * (len(core.threads) - 1)
        assert proc.crashed_thread is not None and proc.crashed_thread.tid == core.threads[0].tid
        # Text is left out of the core (file size 0): code is read from the executable.
        f = proc.pclntab.func_by_name("main.validate")
        assert f is not None
        text = next(s for s in core.segments if s.vaddr <= f.entry < s.end)
        assert text.filesz == 0 and text.flags & 1
        assert proc.memory.read(f.entry, 16) == proc.exe.read_static(f.entry, 16)
        # R28 holds g: the goroutine the runtime printed first, with gp= from Go 1.24.
        crashing = case.trace.crashing
        assert crashing is not None and proc.crashed_goroutine is not None
        assert proc.crashed_goroutine.id == crashing.id
        if crashing.gp is not None:
            assert core.threads[0].regs["x28"] == crashing.gp == proc.crashed_goroutine.addr
    with GoProcess.open(case.core) as proc:  # the executable found from the core alone
        assert proc.exe.path == case.binary


# --------------------------------------------------------------------------------------------------
# Threads without their g register


@pytest.mark.parametrize("arch", ["amd64", "arm64"] if ON_ARM64 else ["amd64"])
def test_threads_found_by_procid_without_g_register(arch: str, tmp_path: Path) -> None:
    import struct

    case = make_core(VERSIONS[-1], "opt", "httpabort", arch=arch)
    desc = arch_named(arch)
    clobber = desc.g_reg or "fs_base"
    data = bytearray(case.core.read_bytes())
    with opened(case) as proc:
        want = [(ti.tid, ti.m, ti.curg, ti.g0, ti.gsignal) for ti in proc.thread_infos]
        frames = {g.id: [(f.function, f.pc, f.sp) for f in proc.backtrace(g).frames] for g in proc.goroutines}
        crashed = proc.crashed_goroutine.id if proc.crashed_goroutine else None
        for t in proc.core.threads:
            block = struct.pack(f"<{len(desc.prstatus_regs)}Q", *(t.regs[r] for r in desc.prstatus_regs))
            at = bytes(data).find(block)
            assert at > 0
            pos = at + 8 * desc.prstatus_regs.index(clobber)
            data[pos:pos + 8] = bytes(8)
    assert all(m for _tid, m, *_ in want)
    patched = tmp_path / "core"
    patched.write_bytes(bytes(data))
    with GoProcess.open(patched, case.binary) as proc:
        assert all(not ti.regs[clobber] for ti in proc.thread_infos)
        assert [(ti.tid, ti.m, ti.curg, ti.g0, ti.gsignal) for ti in proc.thread_infos] == want
        assert (proc.crashed_goroutine.id if proc.crashed_goroutine else None) == crashed
        for g in proc.goroutines:
            assert [(f.function, f.pc, f.sp) for f in proc.backtrace(g).frames] == frames[g.id], g.id


# --------------------------------------------------------------------------------------------------
# The layout table stripped arm64 binaries use


@pytest.mark.parametrize("version", ARM64_VERSIONS)
def test_layout_table_matches_arm64_dwarf(version: str) -> None:
    """Offsets, struct sizes and recorded field sizes of the arm64 table equal the DWARF of arm64
    builds of the crasher and the heap program (amd64's differ: runtime.mheap, runtime.p)."""
    from elftools.elf.elffile import ELFFile

    from explorer.binary.dwarf import GoDwarf
    from explorer.goruntime.layout import RUNTIME_FIELDS, SIZED_STRUCTS, DwarfLayout, TableLayout, go_minor

    minor = go_minor("go" + version)
    assert minor is not None
    table = TableLayout(minor, "arm64")
    checked = 0
    for prog in ("crasher", "heapprog"):
        with open(build(version, "opt", prog, arch="arm64"), "rb") as fh:
            dwarf = GoDwarf.from_elffile(ELFFile(fh))
            assert dwarf is not None
            dl = DwarfLayout(dwarf)
            for struct_name, fields in RUNTIME_FIELDS.items():
                size = dl.size(struct_name)
                if size is None:
                    continue
                assert table.size(struct_name) == size, struct_name
                for f in fields:
                    got = dl.offset(struct_name, f)
                    if got is None:
                        continue
                    assert table.offset(struct_name, f) == got, f"{struct_name}.{f}"
                    if struct_name in SIZED_STRUCTS:
                        assert table.field_size(struct_name, f) == dl.field_size(struct_name, f), f"{struct_name}.{f}"
                    checked += 1
    assert checked > 150
    assert table.size("runtime.mheap") != TableLayout(minor, "amd64").size("runtime.mheap")


# --------------------------------------------------------------------------------------------------
# ARM64 disassembly


_OBJDUMP_LINE = re.compile(r"^\s+(?P<file>\S+):(?P<line>\d+)\t+0x(?P<addr>[0-9a-f]+)\t+(?P<word>[0-9a-f]{8})\t+"
                           r"(?P<asm>.*?)\s*$")


def objdump(version: str, binary: Path, function: str) -> list[tuple[str, int, int, int, str]]:
    """(file base name, line, address, instruction word, Go assembly) of ``go tool objdump``."""
    out = subprocess.run([gotools.go_command(version), "tool", "objdump", "-s", f"^{re.escape(function)}(\\.abi0)?$",
                          str(binary)], capture_output=True, text=True, env=gotools.go_env(version),
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        m = _OBJDUMP_LINE.match(line)
        if m:
            rows.append((m["file"], int(m["line"]), int(m["addr"], 16), int(m["word"], 16), m["asm"]))
    return rows


@pytest.mark.parametrize(("version", "mode"), [(v, m) for v in ARM64_VERSIONS if v in ARM64_FULL_VERSIONS
                                               for m in ("opt", "noopt")])
def test_disassembly_matches_objdump(version: str, mode: str) -> None:
    from explorer.render.disasm import SymbolIndex, disassemble

    case = make_core(version, mode, "httpabort", arch="arm64")
    with opened(case) as proc:
        for name in ("main.processOrder", "main.(*orderServer).ServeHTTP", "runtime.sigtramp"):
            f = proc.pclntab.func_by_name(name)
            assert f is not None
            listing = disassemble(proc.memory.read, proc.pclntab, f, proc.arch,
                                  SymbolIndex(proc.exe.symbols, proc.pie_bias))
            want = objdump(version, case.binary, name)
            assert listing.error is None and want
            assert [ln.address for ln in listing.lines] == [w[2] for w in want], name
            calls = branches = 0
            for ln, (file, line, _addr, word, asm) in zip(listing.lines, want, strict=True):
                where = f"{name} {ln.address:#x} {ln.mnemonic} {ln.operands} / {asm}"
                assert ln.size == 4 and int.from_bytes(ln.raw, "little") == word, where
                assert Path(ln.file).name == file and ln.line == line, where
                if m := re.fullmatch(r"CALL (\S+?)(?:\.abi0)?\(SB\)", asm):  # the symbol of an ABI0 function
                    assert ln.is_call and ln.target_name == m[1], where
                    calls += 1
                elif m := re.fullmatch(r"(?:B|B[A-Z]{2}|CBN?Z[W]? R\d+,|TBN?Z \$\d+, R\d+,) (-?\d+)\(PC\)", asm):
                    assert ln.target == ln.address + 4 * int(m[1]), where
                    assert ln.target_name == f"<+{ln.target - f.entry:#x}>", where
                    branches += 1
            assert branches, name
            if name != "runtime.sigtramp":
                assert calls, name


def test_tui_shows_arm64_disassembly() -> None:
    """The TUI on an arm64 core: the crashing goroutine's frame in the program's code, its call
    instruction current in the disassembly pane (ARM64: ``bl``), named."""
    if not ON_ARM64:
        pytest.skip("GOCORE_TUI_ARCHES leaves arm64 out")
    pytest.importorskip("textual")
    from explorer.tui.app import GoCoreApp
    from explorer.tui.session import Session

    case = make_core(ARM64_FULL_VERSIONS[1], "noopt", "httpabort", arch="arm64")
    app = GoCoreApp(Session(opened(case), []))
    seen: dict[str, Any] = {}

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            loop = asyncio.get_running_loop()
            end = loop.time() + 60
            while not (app.loaded and app.frames and app.frame_ready.get("disasm") == app.token):
                assert loop.time() < end, "the first screen did not settle"
                await pilot.pause(0.05)
            dis = app.query_one("#disasm")
            seen["function"] = app.frames[app.frame_index].function
            seen["line"] = dis.listing.lines[dis.current]
            assert not app.internal_errors, app.internal_errors

    try:
        asyncio.run(main())
    finally:
        app.session.proc.close()
    ln = seen["line"]
    assert seen["function"].startswith("main.")
    assert ln.mnemonic == "bl" and ln.is_call and ln.target_name and ln.size == 4


# --------------------------------------------------------------------------------------------------
# The rarer paths of the LR unwinder


@pytest.mark.parametrize(("version", "arch"), [pytest.param(v, "amd64", id=f"amd64-{v}") for v in VERSIONS]
                         + [pytest.param(v, "arm64", id=f"arm64-{v}") for v in ARM64_VERSIONS])
def test_lr_paths_match_runtime(version: str, arch: str) -> None:
    """The same program on amd64 checks the same paths of its unwinder (the injected call, a
    goroutine at its entry, the system stack's throw)."""
    from test_goroutines import check_created_by, check_frames, printed_name, status_words

    case = make_core(version, "opt", "run", prog="lrpaths", arch=arch)
    trace = case.trace
    assert trace.fatal_error == "go of nil func value"
    printed = trace.user_goroutines()
    spinner = printed[case.ready["goroutines"]["spinner"][0]]
    never = [g for g in printed.values() if g.wait_reason == "runnable" and g is not spinner]
    assert "runtime.asyncPreempt" in spinner.functions and len(never) == 2
    with opened(case) as proc:
        ours = {g.id: g for g in proc.goroutines}
        assert set(ours) == set(printed)
        for gid, rg in printed.items():
            g = ours[gid]
            assert g.header_status == status_words(rg.status), f"goroutine {gid} status"
            bt = proc.backtrace(g)
            assert not bt.truncated, f"goroutine {gid}: {bt.error}"
            check_frames(gid, rg, bt.frames)
            check_created_by(proc, g, rg)
        for rg in never:  # stopped at their function's entry; on arm64 goexit is in sched.lr
            g = ours[rg.id]
            first = proc.backtrace(g).frames[0]
            assert first.pc == first.entry
            if arch == "arm64":
                assert g.sched_lr and proc.func_name_at(g.sched_lr) == "runtime.goexit"
                assert first.sp == first.fp
        # The crashing thread: g0's frames are the "runtime stack:" the runtime printed, up to
        # runtime.systemstack, and then the goroutine's own from its sched.
        thread = proc.crashed_thread
        assert thread is not None and thread.on == "g0"
        frames = proc.thread_backtrace(thread).frames
        rs = trace.runtime_stack
        names = [printed_name(f.function) for f in frames]
        start = names.index(rs[0].function)
        for rf, f in zip(rs, frames[start:start + len(rs)], strict=True):
            assert (printed_name(f.function), f.file, f.line) == (rf.function, rf.file, rf.line)
            assert (f.pc, f.sp, f.fp, f.stack) == (rf.pc, rf.sp, rf.fp, "g0"), rf.function
        after = frames[start + len(rs)]
        assert after.function == "runtime.systemstack_switch" and after.stack == "g"
