"""The crash corpus: Go test programs built with each toolchain, run until they dump core.

The oracle of the tests is the Go runtime itself: run with ``GOTRACEBACK=crash``, a Go program that
dies prints every goroutine (and, after a signal, every thread's registers) on stderr before the
kernel writes its core. :func:`make_core` builds a program from ``tests/testprogs/``, runs one of its
scenarios with the core limit raised, and returns a :class:`CoreCase`: the core, the executable, the
output, the ``CRASHER-READY`` values the program printed, and :func:`parse_traceback` of stderr.

Builds and cores are cached under ``cache_dir()`` (see :mod:`tests.gotools`), keyed by a hash of the
program's sources, the toolchain and the flags, so a second run costs nothing. Every cache entry is
made in a temporary place and renamed, under a file lock, so concurrent test processes share them.

Architectures: amd64 (the host) and arm64, cross-compiled (``GOARCH=arm64``) and run under qemu-user
(``qemu-aarch64-static``, Debian's ``qemu-user-static``), which writes the guest's core as
``qemu_<prog>_<date>_<pid>.core`` in the working directory whatever the kernel's core_pattern; the
host kernel then dumps qemu itself (an x86-64 core), which is deleted. The child's coredump_filter is
set to 0 so that host core is small. amd64 cache keys are the same as before arm64 existed; arm64
builds are named ``<prog>-arm64-<mode>-<hash>``.

Traceback formats handled (runtime/traceback.go, panic.go, signal_unix.go of Go 1.21-1.27):

* goroutine headers ``goroutine 1 [running]:`` (1.21-1.23, and later for non-crashing goroutines
  below GOTRACEBACK=crash) and ``goroutine 1 gp=0xc000002380 m=0 mp=0x5f2e40 [running]:`` (1.24+;
  ``m=nil`` when the goroutine has no M); status ``wait reason[ (scan)][, N minutes][, locked to
  thread][, synctest group|bubble N]``; 1.26 may add `` labels:{"k": "v"}`` inside the brackets
  (GODEBUG=tracebacklabels=1), 1.27 prints ``{k: v}`` after them by default;
* frames ``pkg.F(args)`` / ``pkg.F(...)`` (inlined), then ``\\tfile:line +0xoff fp=.. sp=.. pc=..``
  (the ``fp/sp/pc`` part at GOTRACEBACK>=2), ``created by F in goroutine N`` (``in goroutine`` from
  1.21), ``...N frames elided...``, ``...additional frames elided...``, and
  ``\\tgoroutine running on other thread; stack unavailable``;
* the panic lines (``panic: msg [recovered]``, nested panics indented by a tab; continuation lines
  of a multi-line message are printed raw by 1.21 and tab-indented from 1.22), ``[signal SIGSEGV:
  segmentation violation code=0x1 addr=0x18 pc=0x...]``, ``fatal error: ...`` and ``runtime stack:``;
* a fatal signal's ``SIGABRT: abort`` / ``PC=0x... m=N sigcode=N [addr=0x...]`` lines, the register
  dump (amd64 ``rax .. gs``, arm64 ``r0 .. fault``), and with GOTRACEBACK=crash the ``-----``
  separated SIGQUIT sections the other threads print (``goroutine 0`` = the M's g0).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:  # imported both as ``tests.corpus`` and, with tests/ on sys.path, as ``corpus``
    from .gotools import ALL_ARCHES, cache_dir, corpus_arches, file_lock, go_command, go_env, goroot, test_versions
except ImportError:  # pragma: no cover
    from gotools import ALL_ARCHES, cache_dir, corpus_arches, file_lock, go_command, go_env, goroot, test_versions

TESTPROGS = Path(__file__).resolve().parent / "testprogs"

#: Build modes: extra ``go build`` flags.
MODES: dict[str, tuple[str, ...]] = {
    "opt": (),
    "noopt": ("-gcflags=all=-N -l",),
    "stripped": ("-ldflags=-s -w",),
}

#: The crasher's scenarios (os.Args[1]).
SCENARIOS: tuple[str, ...] = ("panic", "nilderef", "httpabort", "waits", "deadlock")

#: Flags every build gets: no VCS stamping (it would run git and tie the binary to the repo state).
_COMMON_FLAGS = ("-buildvcs=false",)

#: Build environment of programs that need more than go_env (which turns cgo off): the syscalls
#: program blocks one goroutine in C, and a cgo binary has an extra M for C callbacks (its g is
#: _Gdeadextra from 1.26, which the runtime's traceback skips).
PROG_ENV: dict[str, dict[str, str]] = {"syscalls": {"CGO_ENABLED": "1"}}

#: The environment a corpus program runs in (on top of the caller's, less GODEBUG, GOMAXPROCS, GOGC
#: and GOMEMLIMIT). tracebacklabels=1 makes 1.26 and 1.27 print pprof labels in goroutine headers
#: (1.27 does by default only for modules that say go >= 1.27); older runtimes ignore it.
RUN_ENV: dict[str, str] = {"GOTRACEBACK": "crash", "GODEBUG": "tracebacklabels=1"}

RUN_TIMEOUT = 60.0
BUILD_TIMEOUT = 600.0
READY_PREFIX = "CRASHER-READY "


class CorpusError(RuntimeError):
    """The corpus could not be made: a build failed, or a program left no core. Never a skip."""


class CorpusNoCore(CorpusError):
    """A run ended (or timed out) without leaving a core."""


# --------------------------------------------------------------------------------------------------
# Building


#: Programs of the Go runtime's own test suite, built in place from each release's source (they are
#: ``package main`` inside the standard library's module, so they may import internal packages).
RUNTIME_PROGS: dict[str, str] = {"testprog": "runtime/testdata/testprog"}


def _prog_dir(prog: str, version: str | None = None) -> Path:
    if prog in RUNTIME_PROGS:
        if version is None:
            raise ValueError(f"{prog} is built from a Go release's source: name the version")
        path = goroot(version) / "src" / RUNTIME_PROGS[prog]
        if not path.is_dir():
            raise CorpusError(f"Go {version} has no {RUNTIME_PROGS[prog]} at {path}")
        return path
    path = TESTPROGS / prog
    if not (path / "go.mod").exists():
        raise CorpusError(f"no Go test program {prog!r} at {path}")
    return path


def _source_files(prog_dir: Path) -> list[Path]:
    return sorted(p for p in prog_dir.rglob("*") if p.is_file() and p.suffix in (".go", ".mod", ".sum", ".s"))


#: Programs built from a copy of their sources in a directory whose name holds an OSC sequence, BEL,
#: Rich markup and a bidi override: the file names in their pclntab, and the executable's path (in
#: the core's NT_FILE and NT_PRPSINFO notes), carry them. What a core of tests/testprogs/hostile
#: shows must reach the terminal escaped.
HOSTILE_DIR_NAME = "src\x1b]0;DIR-TITLE\x07[bold]\u202e"
HOSTILE_PROGS = frozenset({"hostile"})


def _content_hash(prog_dir: Path) -> str:
    h = hashlib.sha256()
    for path in _source_files(prog_dir):
        h.update(str(path.relative_to(prog_dir)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def source_dir(prog: str, version: str | None = None) -> Path:
    """Where ``prog`` is built from: the Go release's own tree for the runtime's programs, else a
    copy of tests/testprogs/PROG in the cache named by its content. The executables record these
    paths (no -trimpath, so that a debugger can show the source), and a copy keyed by content keeps
    them the same from whichever checkout the tests run: a fresh clone reuses the cached builds and
    cores, and the sources a binary names exist as long as the cache does."""
    prog_dir = _prog_dir(prog, version)
    if prog in RUNTIME_PROGS or prog in HOSTILE_PROGS:
        return prog_dir
    dest = cache_dir() / "src" / f"{prog}-{_content_hash(prog_dir)}"
    if not (dest / "go.mod").exists():
        with file_lock(cache_dir() / "locks" / f"src-{prog}.lock"):
            if not (dest / "go.mod").exists():
                tmp = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
                if tmp.exists():
                    shutil.rmtree(tmp)
                shutil.copytree(prog_dir, tmp)
                if dest.exists():
                    shutil.rmtree(dest)
                os.replace(tmp, dest)
    return dest


def build_hash(version: str, mode: str, prog: str = "crasher", arch: str = "amd64") -> str:
    """Hash of what a build depends on: sources (and where they are built), toolchain, flags,
    GOARCH (left out for amd64, so its hashes did not change when arm64 came)."""
    prog_dir = _prog_dir(prog, version)
    h = hashlib.sha256()
    where = HOSTILE_DIR_NAME if prog in HOSTILE_PROGS else str(source_dir(prog, version))
    env = [f"{k}={v}" for k, v in sorted(PROG_ENV.get(prog, {}).items())]
    target = () if arch == "amd64" else (f"GOARCH={arch}",)
    for part in (version, str(goroot(version)), where, *_COMMON_FLAGS, *MODES[mode], *env, *target):
        h.update(part.encode() + b"\0")
    for path in _source_files(prog_dir):
        h.update(str(path.relative_to(prog_dir)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build(version: str, mode: str = "opt", prog: str = "crasher", arch: str = "amd64") -> Path:
    """Build test program ``prog`` with Go ``version`` in ``mode`` for linux/``arch``; returns the
    executable's path.

    The executable is cached at ``cache_dir()/builds/<version>/<prog>-<mode>-<hash>`` (amd64) or
    ``<prog>-<arch>-<mode>-<hash>``, built from :func:`source_dir` (the paths it records do not
    depend on the checkout). Builds are serialized across processes (one lock for all): the machines
    this runs on have few cores.
    """
    if mode not in MODES:
        raise ValueError(f"unknown build mode {mode!r}; known: {sorted(MODES)}")
    if arch not in ALL_ARCHES:
        raise ValueError(f"unknown architecture {arch!r}; known: {ALL_ARCHES}")
    prog_dir = source_dir(prog, version)
    name = prog if arch == "amd64" else f"{prog}-{arch}"
    key = f"{name}-{mode}-{build_hash(version, mode, prog, arch)}"
    out = cache_dir() / "builds" / version / key
    if prog in HOSTILE_PROGS:  # sources and executable inside the hostile directory
        out = cache_dir() / "builds" / version / key / HOSTILE_DIR_NAME / prog
    if out.exists():
        return out
    with file_lock(cache_dir() / "locks" / "go-build.lock"):
        if out.exists():
            return out
        if prog in HOSTILE_PROGS:
            copy = out.parent
            if copy.exists():
                shutil.rmtree(copy)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(prog_dir, copy)
            prog_dir = copy
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        cmd = [go_command(version), "build", *_COMMON_FLAGS, *MODES[mode], "-o", str(tmp), "."]
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=prog_dir, env={**go_env(version, arch), **PROG_ENV.get(prog, {})},
                                  capture_output=True, text=True,
                                  timeout=BUILD_TIMEOUT)
            if proc.returncode != 0 or not tmp.exists():
                raise CorpusError(
                    f"go build failed (Go {version}, {arch}, mode {mode}, exit {proc.returncode}):\n"
                    f"$ {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
            os.replace(tmp, out)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        _record_timing(out.with_name(out.name + ".build.json"), time.monotonic() - started, cmd, arch)
    return out


def _record_timing(path: Path, seconds: float, cmd: Sequence[str], arch: str = "amd64") -> None:
    path.write_text(json.dumps({"seconds": round(seconds, 3), "cmd": list(cmd), "arch": arch}))


# --------------------------------------------------------------------------------------------------
# Running foreign-architecture programs

#: qemu-user emulators, by GOARCH (the -static builds run without binfmt_misc registration).
QEMU = {"arm64": ("qemu-aarch64-static", "qemu-aarch64")}


def emulator(arch: str) -> list[str]:
    """The command prefix that runs a linux/``arch`` executable here ([] for the host's amd64)."""
    if arch == "amd64":
        return []
    for name in QEMU[arch]:
        path = shutil.which(name)
        if path is not None:
            return [path]
    raise CorpusError(f"no qemu-user emulator for {arch} ({' or '.join(QEMU[arch])}): "
                      "apt-get install qemu-user-static (.ci/run does)")


def emulator_version(arch: str) -> str | None:
    """The first line of ``qemu-... --version`` (None for the host's amd64)."""
    cmd = emulator(arch)
    if not cmd:
        return None
    out = subprocess.run([*cmd, "--version"], capture_output=True, text=True, timeout=30).stdout
    return out.splitlines()[0] if out else None


# --------------------------------------------------------------------------------------------------
# Running until core


@dataclass
class CoreCase:
    """One crash of a corpus program: its core, executable, output, and what the runtime printed."""

    version: str
    mode: str
    scenario: str
    args: tuple[str, ...]
    core: Path
    binary: Path
    stdout: str
    stderr: str
    ready: dict
    """The ``CRASHER-READY`` JSON: pid, scenario, goroutines (kind -> goroutine ids), values."""
    trace: RuntimeTrace
    pid: int
    returncode: int
    exit_signal: int | None
    """The signal that killed the process (SIGABRT, 6, for every scenario), None if it exited."""
    directory: Path
    """The cache directory holding core, stdout.txt, stderr.txt and meta.json."""
    arch: str = "amd64"
    """GOARCH of the executable (arm64 cores come from qemu-user)."""

    @property
    def values(self) -> dict:
        """The scenario's own values from the READY line."""
        return dict(self.ready.get("values", {}))

    @property
    def id(self) -> str:
        extra = "-" + "-".join(self.args) if self.args else ""
        where = "" if self.arch == "amd64" else f"{self.arch}-"
        return f"{where}{self.version}-{self.mode}-{self.scenario}{extra}"


#: A corpus case for parametrizing: (version, mode, scenario) for amd64, or (version, mode,
#: scenario, args, arch) for another architecture.
Case = tuple


def corpus_cases(versions: Iterable[str] | None = None, modes: Iterable[str] = ("opt", "noopt", "stripped"),
                 scenarios: Iterable[str] = SCENARIOS, arch: str = "amd64") -> list[Case]:
    """Cases for parametrizing tests (see :data:`Case`); versions default to test_versions(). Empty
    for an architecture left out by $GOCORE_TUI_ARCHES."""
    if arch not in corpus_arches():
        return []
    vs = list(versions) if versions is not None else test_versions()
    if arch == "amd64":
        return [(v, m, s) for v in vs for m in modes for s in scenarios]
    return [(v, m, s, (), arch) for v in vs for m in modes for s in scenarios]


#: The releases whose arm64 cores are made in every mode (the others: optimized only). qemu is slow.
ARM64_FULL_VERSIONS = ("1.21.13", "1.24.11", "1.27.3")


def arm64_cases(scenarios: Iterable[str] = ("panic", "nilderef", "httpabort", "waits", "deadlock"),
                modes: Iterable[str] = ("opt", "noopt", "stripped")) -> list[Case]:
    """The arm64 corpus: every version optimized, and ``modes`` on :data:`ARM64_FULL_VERSIONS`."""
    vs = test_versions()
    scenarios, modes = list(scenarios), list(modes)
    out = corpus_cases(vs, ["opt"] if "opt" in modes else [], scenarios, arch="arm64")
    full = [v for v in vs if v in ARM64_FULL_VERSIONS]
    out += corpus_cases(full, [m for m in modes if m != "opt"], scenarios, arch="arm64")
    return out


def case_id(case: tuple) -> str:
    """A readable pytest id for a corpus case: ``1.24.11-opt-panic``, ``arm64-1.24.11-opt-panic``."""
    version, mode, scenario, *rest = case
    args = tuple(rest[0]) if rest else ()
    arch = rest[1] if len(rest) > 1 else "amd64"
    return "-".join([*([arch] if arch != "amd64" else []), version, mode, scenario, *map(str, args)])


#: Runs of a program under qemu that may end without a core before giving up (the issue saw a nil
#: dereference not fault under qemu once in a while).
QEMU_ATTEMPTS = 3


def make_core(version: str, mode: str, scenario: str, args: Sequence[str] = (), prog: str = "crasher",
              arch: str = "amd64", *, attempts: int | None = None, timeout: float | None = None,
              stdin: bytes | None = None) -> CoreCase:
    """Build ``prog`` for ``arch``, run ``scenario`` with GOTRACEBACK=crash until it dumps core; cached.

    ``attempts``: how many runs may end without a core before giving up (a data race such as the
    runtime's ``concurrentMapWrites`` is caught only now and then; default 1 natively,
    QEMU_ATTEMPTS under qemu). ``timeout``: seconds per run (default RUN_TIMEOUT).

    Raises :class:`CorpusError` (with core_pattern and stderr) when no core appears: tests that need
    a core must fail, never skip. ``stdin`` is given to the program (an input of its own: make it
    part of ``args`` too, e.g. its hash, since cores are cached by ``args``).
    """
    if attempts is None:
        attempts = 1 if arch == "amd64" else QEMU_ATTEMPTS
    binary = build(version, mode, prog, arch)
    args = tuple(str(a) for a in args)
    # The runtime's testprog has scenarios such as SynctestCond/signal/no_bubble.
    key = scenario.replace("/", "+") + ("-" + "-".join(args) if args else "")
    if not re.fullmatch(r"[\w.,=+-]+", key):
        raise ValueError(f"scenario and args must be simple words: {key!r}")
    env_hash = hashlib.sha256(json.dumps(RUN_ENV, sort_keys=True).encode()).hexdigest()[:8]
    build_key = binary.parent.parent.name if prog in HOSTILE_PROGS else binary.name
    directory = cache_dir() / "cores" / version / build_key / f"env-{env_hash}" / key
    if not (directory / "meta.json").exists():
        with file_lock(cache_dir() / "locks" / f"core-{version}-{build_key}-{key}.lock"):
            for attempt in range(1, attempts + 1):
                if (directory / "meta.json").exists():
                    break
                try:
                    _run_to_core(binary, scenario, args, directory,
                                 {"version": version, "mode": mode, "prog": prog, "attempt": attempt},
                                 arch, timeout=RUN_TIMEOUT if timeout is None else timeout, stdin=stdin)
                except CorpusNoCore:
                    if attempt == attempts:
                        raise
    return load_core_case(directory, version=version, mode=mode, scenario=scenario, args=args)


def load_core_case(directory: Path, **expected: object) -> CoreCase:
    """The CoreCase stored in a cache directory made by make_core."""
    meta = json.loads((directory / "meta.json").read_text())
    for k, v in expected.items():
        if k == "args":
            v = list(v)  # type: ignore[call-overload]
        if k in meta and meta[k] != v:
            raise CorpusError(f"{directory}: meta.json has {k}={meta[k]!r}, expected {v!r}")
    stdout = (directory / "stdout.txt").read_text(errors="replace")
    stderr = (directory / "stderr.txt").read_text(errors="replace")
    return CoreCase(
        version=str(expected.get("version", meta.get("version", ""))),
        mode=str(expected.get("mode", meta.get("mode", ""))),
        scenario=meta["scenario"],
        args=tuple(meta["args"]),
        core=directory / "core",
        binary=Path(meta["binary"]),
        stdout=stdout,
        stderr=stderr,
        ready=parse_ready(stdout),
        trace=parse_traceback(stderr),
        pid=meta["pid"],
        returncode=meta["returncode"],
        exit_signal=meta["exit_signal"],
        directory=directory,
        arch=meta.get("arch", "amd64"),
    )


def parse_ready(stdout: str) -> dict:
    """The JSON of the ``CRASHER-READY {json}`` line, or {} when there is none."""
    for line in stdout.splitlines():
        if line.startswith(READY_PREFIX):
            return json.loads(line[len(READY_PREFIX):])
    return {}


def _raise_core_limit() -> None:  # runs in the child, between fork and exec
    _soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def _prepare_emulated() -> None:  # runs in the child, between fork and exec
    """As :func:`_raise_core_limit`, and with coredump_filter 0: the host kernel's core of qemu
    itself (written after qemu wrote the guest's) then holds no memory, a few KiB instead of
    hundreds of MiB. qemu writes the guest's core itself and does not read the filter."""
    _raise_core_limit()
    with contextlib.suppress(OSError):
        Path("/proc/self/coredump_filter").write_text("0")


def core_pattern() -> str:
    """The kernel's core_pattern (``core`` when it cannot be read)."""
    try:
        return Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return "core"


def _core_uses_pid() -> bool:
    try:
        return Path("/proc/sys/kernel/core_uses_pid").read_text().strip() not in ("", "0")
    except OSError:
        return False


def core_glob(pattern: str, pid: int, cwd: Path, uses_pid: bool = False) -> str:
    """A glob matching the core file a process ``pid`` running in ``cwd`` leaves under ``pattern``.

    ``%p`` and ``%%`` are expanded exactly; every other specifier (%P %i %I %u %g %d %s %t %h %e %E
    %f %c ...) becomes ``*``: the newest match is taken. A relative pattern is relative to the
    process's working directory; with core_uses_pid and no %p, the kernel appends ``.PID``.
    """
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%" and i + 1 < len(pattern):
            spec = pattern[i + 1]
            out.append("%" if spec == "%" else str(pid) if spec == "p" else "*")
            i += 2
            continue
        out.append(glob.escape(c))
        i += 1
    expanded = "".join(out)
    if uses_pid and "%p" not in pattern:
        expanded += f".{pid}"
    if not expanded.startswith("/"):
        expanded = glob.escape(str(cwd)) + "/" + expanded
    return expanded


def _find_core(pattern: str, pid: int, cwd: Path, started: float, dest: Path) -> Path | None:
    """Move the core of ``pid`` to ``dest``; None when there is none."""
    if pattern.startswith("|") and "systemd-coredump" in pattern:
        for _ in range(50):  # systemd-coredump stores the core asynchronously
            proc = subprocess.run(["coredumpctl", "dump", str(pid), "-o", str(dest)], capture_output=True,
                                  timeout=60)
            if proc.returncode == 0 and dest.exists() and dest.stat().st_size > 0:
                return dest
            time.sleep(0.2)
        return None
    if pattern.startswith("|"):
        # Another handler (apport...): some write "core" into the process's cwd when its limit allows.
        pattern = "core*"
    candidates = [Path(p) for p in glob.glob(core_glob(pattern, pid, cwd, _core_uses_pid()))]
    candidates = [p for p in candidates if p.is_file() and p.stat().st_mtime >= started - 1]
    if not candidates:
        return None
    newest = max(candidates, key=lambda p: p.stat().st_mtime)
    shutil.move(str(newest), dest)
    return dest


def _find_qemu_core(binary: Path, pid: int, run_dir: Path, dest: Path) -> Path | None:
    """Copy qemu-user's core of the guest (``qemu_<exe>_<date>_<pid>.core`` in its working
    directory) to ``dest`` as a sparse file; None when there is none."""
    found = sorted(run_dir.glob(f"qemu_{glob.escape(binary.name)}_*_{pid}.core"))
    if not found:
        return None
    sparse_copy(found[-1], dest)
    found[-1].unlink()
    return dest


def sparse_copy(src: Path, dest: Path, block: int = 1 << 12) -> None:
    """Copy ``src`` to ``dest``, leaving its all-zero blocks as holes. qemu writes every page of the
    guest's mappings, untouched ones as zeros (a kernel skips them): 50 MB cores take 4 MB."""
    zero = bytes(block)
    with open(src, "rb") as fin, open(dest, "wb") as fout:
        while chunk := fin.read(block):
            if chunk == zero[: len(chunk)]:
                fout.seek(len(chunk), os.SEEK_CUR)
            else:
                fout.write(chunk)
        fout.truncate()


def _remove_host_core(pattern: str, pid: int, cwd: Path, started: float) -> None:
    """Delete the x86-64 core the host kernel may write of qemu itself after the guest's, when the
    core_pattern names a file (a pipe handler keeps its own)."""
    if pattern.startswith("|"):
        return
    for p in glob.glob(core_glob(pattern, pid, cwd, _core_uses_pid())):
        path = Path(p)
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime >= started - 1 and elf_header(path)[1:] == (4, 62):
                path.unlink()


def _run_to_core(binary: Path, scenario: str, args: tuple[str, ...], directory: Path,
                 extra_meta: dict[str, object], arch: str = "amd64", timeout: float = RUN_TIMEOUT,
                 stdin: bytes | None = None) -> None:
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = directory.with_name(f"{directory.name}.tmp{os.getpid()}")
    if work.exists():
        shutil.rmtree(work)
    run_dir = work / "run"  # the process's cwd: a relative core_pattern puts the core here
    run_dir.mkdir(parents=True)
    env = dict(os.environ)
    for var in ("GODEBUG", "GOMAXPROCS", "GOGC", "GOMEMLIMIT"):
        env.pop(var, None)
    env.update(RUN_ENV)
    cmd = [*emulator(arch), str(binary), scenario, *args]
    started = time.time()
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, cwd=run_dir, env=env,
                                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=_raise_core_limit if arch == "amd64" else _prepare_emulated)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            out, err = proc.communicate()
            raise CorpusNoCore(
                f"{' '.join(cmd)} did not crash within {timeout}s\n"
                f"stdout:\n{out.decode(errors='replace')}\nstderr:\n{err.decode(errors='replace')[-4000:]}"
            ) from exc
        seconds = time.monotonic() - t0
        stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
        pattern = core_pattern()
        if arch == "amd64":
            core = _find_core(pattern, proc.pid, run_dir, started, work / "core")
        else:
            core = _find_qemu_core(binary, proc.pid, run_dir, work / "core")
            _remove_host_core(pattern, proc.pid, run_dir, started)
        if core is None:
            soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
            raise CorpusNoCore(
                f"no core file from {' '.join(cmd)} (pid {proc.pid}, exit status {proc.returncode})\n"
                f"core_pattern: {pattern!r}, core_uses_pid: {_core_uses_pid()}, "
                f"parent RLIMIT_CORE: {soft}/{hard} (the child raises it to unlimited)\n"
                f"cwd: {run_dir}: {sorted(p.name for p in run_dir.iterdir())}\n"
                f"stdout:\n{stdout}\nstderr (tail):\n{stderr[-4000:]}")
        (work / "stdout.txt").write_text(stdout)
        (work / "stderr.txt").write_text(stderr)
        ready = parse_ready(stdout)
        meta = {
            **extra_meta,
            **({} if arch == "amd64" else {"arch": arch, "emulator": emulator_version(arch)}),
            "scenario": scenario,
            "args": list(args),
            "binary": str(binary),
            "binary_sha256": hashlib.sha256(binary.read_bytes()).hexdigest(),
            "pid": proc.pid,
            "returncode": proc.returncode,
            "exit_signal": -proc.returncode if proc.returncode < 0 else None,
            "env": RUN_ENV,
            "core_pattern": pattern,
            "core_size": core.stat().st_size,
            "core_blocks_bytes": core.stat().st_blocks * 512,
            "seconds": round(seconds, 3),
            "ready": ready,
        }
        shutil.rmtree(run_dir)
        (work / "meta.json").write_text(json.dumps(meta, indent=1))  # last: marks the entry complete
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(work, directory)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# The Go runtime's own crash programs (runtime/testdata/testprog)

#: The crash scenarios of the runtime's testprog that the corpus always runs when a release has them.
TESTPROG_NAMED: tuple[str, ...] = (
    "Abort", "Breakpoint", "CircularPanic", "DoublePanic", "ErrorPanic", "GoNil", "GoexitDeadlock",
    "GoexitInPanic", "GoschedInPanic", "LockedDeadlock", "NilPanic", "PanicAfterGoexit", "PanicTraceback",
    "RecursivePanic", "RecursivePanic2", "RepanickedPanic", "Segv", "SimpleDeadlock", "StackOverflow",
    "StringPanic", "SyscallInPanic", "TgkillSegv", "concurrentMapWrites", "panicCustomString",
    "panicDeferFatal",
)
#: Data races the runtime detects only now and then: run until one dumps core.
TESTPROG_RACY = frozenset({"concurrentMapWrites", "concurrentMapReadWrite", "concurrentMapIterateWrite",
                           "PanicRace", "TypelinksRace"})
TESTPROG_ATTEMPTS = 3
TESTPROG_RACY_ATTEMPTS = 40
#: A testprog scenario that has not died after this long never will (some loop or wait by design).
TESTPROG_TIMEOUT = 15.0
#: Signals whose default action dumps core (what GOTRACEBACK=crash ends with).
CORE_SIGNALS = frozenset({signal.SIGQUIT, signal.SIGILL, signal.SIGTRAP, signal.SIGABRT, signal.SIGBUS,
                          signal.SIGFPE, signal.SIGSEGV, signal.SIGSYS})
_TESTPROG_REGISTER_RE = re.compile(r'\bregister(?:Init)?\("([^"]+)"')


def testprog_registered(version: str) -> list[str]:
    """Names testprog registers (``register("Name", fn)``) in Go ``version``'s source, for Linux."""
    names: set[str] = set()
    for path in sorted(_prog_dir("testprog", version).glob("*.go")):
        stem = path.stem
        if stem.endswith(("_windows", "_darwin", "_freebsd", "_openbsd", "_netbsd", "_plan9", "_wasm")):
            continue
        names.update(_TESTPROG_REGISTER_RE.findall(path.read_text(errors="replace")))
    return sorted(names)


def testprog_discovery(version: str) -> dict[str, dict[str, object]]:
    """Every registered scenario of testprog run once (optimized build, GOTRACEBACK=crash, no core):
    name -> {"returncode", "signal" (the one that killed it, or None), "seconds"}. Cached per build."""
    binary = build(version, "opt", "testprog")
    path = cache_dir() / "discovery" / version / f"{binary.name}.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    with file_lock(cache_dir() / "locks" / f"discovery-{version}-{binary.name}.lock"):
        if path.exists():
            return dict(json.loads(path.read_text()))
        env = dict(os.environ)
        for var in ("GODEBUG", "GOMAXPROCS", "GOGC", "GOMEMLIMIT"):
            env.pop(var, None)
        env.update(RUN_ENV)
        results: dict[str, dict[str, object]] = {}
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            for name in testprog_registered(version):
                results[name] = _run_once(binary, name, env, Path(tmp))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_path = path.with_name(path.name + f".tmp{os.getpid()}")
        tmp_path.write_text(json.dumps(results, indent=1, sort_keys=True))
        os.replace(tmp_path, path)
    return results


def _no_core() -> None:  # in the child: discovery needs the exit status, not the core
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_once(binary: Path, name: str, env: dict[str, str], cwd: Path) -> dict[str, object]:
    t0 = time.monotonic()
    proc = subprocess.Popen([str(binary), name], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_no_core,
                            start_new_session=True)
    try:
        rc: int | None = proc.wait(timeout=TESTPROG_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: whatever it started goes too
        proc.wait()
        rc = None
    sig = -rc if rc is not None and rc < 0 else None
    return {"returncode": rc, "signal": sig, "seconds": round(time.monotonic() - t0, 3)}


def testprog_scenarios(version: str) -> list[str]:
    """The testprog scenarios of Go ``version`` that die with a core under GOTRACEBACK=crash: those
    its discovery run saw killed by a core-dumping signal, and every TESTPROG_NAMED one it has (the
    racy ones may have got away once)."""
    found = testprog_discovery(version)
    keep = {n for n, r in found.items() if r["signal"] in CORE_SIGNALS}
    keep |= {n for n in TESTPROG_NAMED if n in found}
    return sorted(keep)


def testprog_core(version: str, mode: str, scenario: str, arch: str = "amd64") -> CoreCase:
    """The core of one testprog scenario (built from Go ``version``'s own source) in ``mode``."""
    attempts = TESTPROG_RACY_ATTEMPTS if scenario in TESTPROG_RACY else TESTPROG_ATTEMPTS
    return make_core(version, mode, scenario, prog="testprog", arch=arch, attempts=attempts,
                     timeout=TESTPROG_TIMEOUT)


# --------------------------------------------------------------------------------------------------
# The runtime's traceback


@dataclass
class Frame:
    """One frame line pair of a traceback: ``func(args)`` then ``\\tfile:line +0xoff fp= sp= pc=``."""

    function: str
    """As printed: ``main.(*Dispatcher).serve``; runtime.gopanic is printed ``panic`` (1.21+)."""
    args: str
    """The text between the parentheses: ``0xc000012345, {0x1?, 0x2?}``; ``...`` for inlined frames."""
    file: str
    line: int
    offset: int | None = None
    """pc - function entry (``+0x1a5``); absent for inlined frames."""
    fp: int | None = None
    sp: int | None = None
    pc: int | None = None

    @property
    def inlined(self) -> bool:
        return self.args == "..."


@dataclass
class CreatedBy:
    """``created by FUNC in goroutine N`` and its location line."""

    function: str
    goroutine: int | None
    """The creating goroutine's id (printed from Go 1.21)."""
    file: str
    line: int
    offset: int | None = None


@dataclass
class Signal:
    """A signal the runtime reported: the ``[signal ...]`` line of a panic or a ``SIGxxx:`` header."""

    name: str
    """``SIGSEGV``, ``SIGABRT``...; ``0x1f`` style when the runtime knows no name."""
    description: str
    """``segmentation violation``, ``abort``..."""
    number: int | None
    code: int | None = None
    addr: int | None = None
    pc: int | None = None
    m: int | None = None
    """``PC=... m=N`` in a fatal signal header: the M that got it."""


@dataclass
class Goroutine:
    """One ``goroutine N ...[status]:`` block."""

    id: int
    header: str
    status: str
    """Everything between the brackets: ``running, locked to thread``, ``chan receive, 5 minutes``."""
    wait_reason: str
    """The first part of the status without the flags: ``chan receive``, ``running``, ``idle``..."""
    gp: int | None = None
    m: int | None = None
    """``m=N`` (1.24+ when printed); None also for ``m=nil``."""
    mp: int | None = None
    minutes: int | None = None
    locked_to_thread: bool = False
    scan: bool = False
    flags: list[str] = field(default_factory=list)
    """Parenthesized flags after the wait reason: ``scan``, ``leaked``, ``durable``."""
    extra: list[str] = field(default_factory=list)
    """Status parts not understood above (``synctest bubble 3``...)."""
    labels: dict[str, str] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)
    created_by: CreatedBy | None = None
    elided: list[str] = field(default_factory=list)
    """Elision markers as printed (``...additional frames elided...``, ``...12 frames elided...``)."""
    elided_at: list[int] = field(default_factory=list)
    """For each marker, how many frames preceded it."""
    stack_unavailable: bool = False
    """``goroutine running on other thread; stack unavailable``."""
    section: int = 0
    """Index in RuntimeTrace.sections."""

    @property
    def functions(self) -> list[str]:
        return [f.function for f in self.frames]

    def frame(self, function: str) -> Frame:
        """The first frame of ``function``; KeyError when absent."""
        for f in self.frames:
            if f.function == function:
                return f
        raise KeyError(f"goroutine {self.id} has no frame {function}; frames: {self.functions}")


@dataclass
class Panic:
    message: str
    recovered: bool = False
    repanicked: bool = False


@dataclass
class Section:
    """What one thread printed: the first (the crashing one) and, after a fatal signal with
    GOTRACEBACK=crash, one per other thread (separated by ``-----``, usually ``SIGQUIT: quit``)."""

    signal: Signal | None = None
    goroutines: list[Goroutine] = field(default_factory=list)
    runtime_stack: list[Frame] = field(default_factory=list)
    """The ``runtime stack:`` frames (a throw on the system stack)."""
    registers: dict[str, int] = field(default_factory=dict)
    other_lines: list[str] = field(default_factory=list)
    """Lines not understood (``signal arrived during cgo execution``, ``runtime: ...``)."""


@dataclass
class RuntimeTrace:
    """What the Go runtime printed when the program died."""

    raw: str
    panics: list[Panic] = field(default_factory=list)
    panic_signal: Signal | None = None
    """The ``[signal SIGSEGV: ... code= addr= pc=]`` line under a panic from a fault."""
    fatal_error: str | None = None
    sections: list[Section] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)
    """Lines before the traceback proper that are not panic/fatal/signal lines (program output)."""

    @property
    def goroutines(self) -> list[Goroutine]:
        """Every goroutine block of every section, in printed order (g0s of the SIGQUIT sections too)."""
        return [g for s in self.sections for g in s.goroutines]

    @property
    def signal(self) -> Signal | None:
        """The fatal signal: the first section's header (``SIGABRT: abort``) or a panic's [signal]."""
        if self.sections and self.sections[0].signal is not None:
            return self.sections[0].signal
        return self.panic_signal

    @property
    def panic(self) -> Panic | None:
        """The last (innermost) panic printed."""
        return self.panics[-1] if self.panics else None

    @property
    def registers(self) -> dict[str, int]:
        """The crashing thread's registers (empty when the crash was not a signal)."""
        return self.sections[0].registers if self.sections else {}

    @property
    def runtime_stack(self) -> list[Frame]:
        return self.sections[0].runtime_stack if self.sections else []

    @property
    def crashing(self) -> Goroutine | None:
        """The goroutine printed first: the one that panicked, faulted or got the signal. None for a
        throw on the system stack with no user goroutine (a deadlock)."""
        first = self.sections[0] if self.sections else None
        if first is None or not first.goroutines:
            return None
        g = first.goroutines[0]
        if first.runtime_stack and g.wait_reason != "running":
            return None
        return g

    def goroutine(self, goid: int) -> Goroutine:
        """The first block of goroutine ``goid``; KeyError when it was not printed."""
        for g in self.goroutines:
            if g.id == goid:
                return g
        raise KeyError(f"goroutine {goid} not in the traceback")

    def user_goroutines(self) -> dict[int, Goroutine]:
        """Goroutines with an id (not the g0s of other threads), first block of each."""
        out: dict[int, Goroutine] = {}
        for g in self.goroutines:
            if g.id != 0 and g.id not in out:
                out[g.id] = g
        return out


_HEX = r"0x[0-9a-fA-F]+"
_GOROUTINE_RE = re.compile(
    r"^goroutine (?P<id>\d+)(?P<fields>(?: \w+=\S+)*) \[(?P<status>.*)\](?: (?P<labels>\{.*\}))?:$")
_FIELD_RE = re.compile(r"(\w+)=(\S+)")
_FRAME_RE = re.compile(r"^(?P<func>\S.*)\((?P<args>[^()]*)\)$")
_LOC_RE = re.compile(
    r"^\t(?P<file>.+?):(?P<line>\d+)(?: \+0x(?P<off>[0-9a-f]+))?"
    r"(?: fp=0x(?P<fp>[0-9a-f]+) sp=0x(?P<sp>[0-9a-f]+) pc=0x(?P<pc>[0-9a-f]+))?\s*$")
_CREATED_RE = re.compile(r"^created by (?P<func>.+?)(?: in goroutine (?P<goid>\d+))?$")
_ELIDED_RE = re.compile(r"^\.\.\.(?:additional frames elided|\d+ frames elided)\.\.\.$")
_PANIC_SIGNAL_RE = re.compile(
    r"^\[signal (?P<name>SIG\w+|0x[0-9a-f]+)(?:: (?P<desc>.*?))? code=(?P<code>-?" + _HEX + r"|-?\d+)"
    r" addr=(?P<addr>" + _HEX + r") pc=(?P<pc>" + _HEX + r")\]$")
_SIGNAL_HEADER_RE = re.compile(r"^(?:(?P<name>SIG[A-Z0-9]+): (?P<desc>.+)|Signal (?P<num>\d+))$")
_PC_LINE_RE = re.compile(
    r"^PC=(?P<pc>" + _HEX + r") m=(?P<m>-?\d+) sigcode=(?P<code>-?\d+)(?: addr=(?P<addr>" + _HEX + r"))?$")
_REGISTER_RE = re.compile(r"^(?P<reg>[a-z][a-z0-9]*)\s+(?P<val>" + _HEX + r")$")
_STATUS_FLAG_RE = re.compile(r"^(?P<reason>.*?)((?: \((?:scan|leaked|durable)\))*)$")
_LABELS_IN_STATUS_RE = re.compile(r"^(?P<status>.*?) labels:(?P<labels>\{.*\})$")


def _signal_number(name: str) -> int | None:
    if name.startswith("0x"):
        return int(name, 16)
    try:
        return int(signal.Signals[name])
    except KeyError:
        return None


_GO_ESCAPES = {"a": b"\a", "b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v",
               "\\": b"\\", '"': b'"', "'": b"'"}


def go_unquote(quoted: str) -> str:
    """The text of a Go interpreted string literal (as ``strconv.Unquote``); bytes that are not UTF-8
    come back as surrogate escapes."""
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8", "surrogateescape")
            i += 1
            continue
        e = body[i + 1]
        if e in _GO_ESCAPES:
            out += _GO_ESCAPES[e]
            i += 2
        elif e == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(body[i + 2:i + 2 + n], 16)).encode()
            i += 2 + n
        else:  # octal \NNN
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return out.decode("utf-8", "surrogateescape")


def _parse_labels(text: str) -> dict[str, str]:
    """``{"k": "v", k2: v2}`` (1.26 quotes always, 1.27 only when needed)."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    labels: dict[str, str] = {}
    # Tokens: quoted Go strings or bare words, separated by ": " and ", ".
    tokens = re.findall(r'"(?:[^"\\]|\\.)*"|[^,:\s][^,:]*', inner)
    values = [go_unquote(t) if t.startswith('"') else t.strip() for t in tokens]
    for k, v in zip(values[::2], values[1::2], strict=False):
        labels[k] = v
    return labels


def _parse_header(line: str, section: int) -> Goroutine | None:
    m = _GOROUTINE_RE.match(line)
    if m is None:
        return None
    fields = dict(_FIELD_RE.findall(m["fields"]))
    status = m["status"]
    labels: dict[str, str] = {}
    if m["labels"]:
        labels = _parse_labels(m["labels"])
    lm = _LABELS_IN_STATUS_RE.match(status)
    if lm:
        status, labels = lm["status"], _parse_labels(lm["labels"])
    parts = status.split(", ")
    fm = _STATUS_FLAG_RE.match(parts[0])
    assert fm is not None
    flags = re.findall(r"\((scan|leaked|durable)\)", fm.group(2))
    g = Goroutine(
        id=int(m["id"]), header=line, status=status, wait_reason=fm["reason"], labels=labels,
        flags=flags, scan="scan" in flags, section=section,
        gp=int(fields["gp"], 16) if "gp" in fields else None,
        m=int(fields["m"]) if fields.get("m", "nil") != "nil" else None,
        mp=int(fields["mp"], 16) if "mp" in fields else None,
    )
    for part in parts[1:]:
        if part == "locked to thread":
            g.locked_to_thread = True
        elif (mm := re.fullmatch(r"(\d+) minutes", part)) is not None:
            g.minutes = int(mm[1])
        else:
            g.extra.append(part)
    return g


def _split_panic_lines(lines: list[str]) -> tuple[list[Panic], int]:
    """Parse the panic lines starting at lines[0]; returns the panics and how many lines were used."""
    panics: list[Panic] = []
    msg: list[str] = []
    i = 0

    def finish() -> None:
        text = "\n".join(msg)
        p = Panic(text)
        for suffix, rec, rep in ((" [recovered, repanicked]", True, True), (" [recovered]", True, False)):
            if text.endswith(suffix):
                p = Panic(text[: -len(suffix)], recovered=rec, repanicked=rep)
                break
        panics.append(p)

    while i < len(lines):
        line = lines[i]
        if line.startswith("panic: ") or (msg and line.startswith("\tpanic: ")):
            if msg:
                finish()
            msg = [line.lstrip("\t")[len("panic: "):]]
        elif not msg or line == "" or line.startswith(("[signal ", "goroutine ", "fatal error: ")):
            break
        else:
            # A continuation line of a multi-line message: raw in 1.21, tab-indented from 1.22.
            msg.append(line[1:] if line.startswith("\t") else line)
        i += 1
    if msg:
        finish()
    return panics, i


def parse_traceback(stderr: str) -> RuntimeTrace:
    """Parse what the Go runtime printed on stderr when a program died (Go 1.21-1.27 formats)."""
    trace = RuntimeTrace(raw=stderr)
    lines = stderr.splitlines()
    section = Section()
    trace.sections.append(section)
    g: Goroutine | None = None
    pending: tuple[str, str] | None = None  # a frame's func line waiting for its location line
    created: str | None = None  # a created-by line waiting for its location line
    in_runtime_stack = False
    started = False  # saw a goroutine block, runtime stack or signal header
    i = 0
    while i < len(lines):
        line = lines[i]
        if pending is not None or created is not None:
            loc = _LOC_RE.match(line)
            if loc is not None:
                off = int(loc["off"], 16) if loc["off"] else None
                if pending is not None:
                    frame = Frame(pending[0], pending[1], loc["file"], int(loc["line"]), off,
                                  int(loc["fp"], 16) if loc["fp"] else None,
                                  int(loc["sp"], 16) if loc["sp"] else None,
                                  int(loc["pc"], 16) if loc["pc"] else None)
                    if in_runtime_stack:
                        section.runtime_stack.append(frame)
                    elif g is not None:
                        g.frames.append(frame)
                elif g is not None and created is not None:
                    cm = _CREATED_RE.match(created)
                    assert cm is not None
                    g.created_by = CreatedBy(cm["func"], int(cm["goid"]) if cm["goid"] else None,
                                             loc["file"], int(loc["line"]), off)
                pending = created = None
                i += 1
                continue
            pending = created = None
        if line == "-----":
            section = Section()
            trace.sections.append(section)
            g, in_runtime_stack = None, False
            i += 1
            continue
        if line == "":
            in_runtime_stack = False
            i += 1
            continue
        if not started:
            if line.startswith("panic: ") or (line.startswith("\tpanic: ") and trace.panics):
                panics, used = _split_panic_lines(lines[i:])
                trace.panics.extend(panics)
                i += max(used, 1)
                continue
            if line.startswith("fatal error: "):
                trace.fatal_error = line[len("fatal error: "):]
                i += 1
                continue
            if (pm := _PANIC_SIGNAL_RE.match(line)) is not None:
                trace.panic_signal = Signal(
                    pm["name"], pm["desc"] or "", _signal_number(pm["name"]), int(pm["code"], 0),
                    int(pm["addr"], 16), int(pm["pc"], 16))
                i += 1
                continue
        if (sm := _SIGNAL_HEADER_RE.match(line)) is not None and i + 1 < len(lines) and \
                (pc := _PC_LINE_RE.match(lines[i + 1])) is not None:
            name = sm["name"] or f"Signal {sm['num']}"
            section.signal = Signal(
                name, sm["desc"] or "", _signal_number(sm["name"]) if sm["name"] else int(sm["num"]),
                int(pc["code"]), int(pc["addr"], 16) if pc["addr"] else None, int(pc["pc"], 16), int(pc["m"]))
            started = True
            i += 2
            continue
        if line == "runtime stack:":
            in_runtime_stack, g, started = True, None, True
            i += 1
            continue
        if line.startswith("goroutine "):
            header = _parse_header(line, len(trace.sections) - 1)
            if header is not None:
                g, in_runtime_stack, started = header, False, True
                section.goroutines.append(g)
                i += 1
                continue
        if g is not None and line == "\tgoroutine running on other thread; stack unavailable":
            g.stack_unavailable = True
            i += 1
            continue
        if _ELIDED_RE.match(line):
            if g is not None:
                g.elided.append(line)
                g.elided_at.append(len(g.frames))
            i += 1
            continue
        if line.startswith("created by ") and g is not None:
            created = line
            i += 1
            continue
        if (rm := _REGISTER_RE.match(line)) is not None and started:
            section.registers[rm["reg"]] = int(rm["val"], 16)
            g = None
            i += 1
            continue
        if (fm := _FRAME_RE.match(line)) is not None and (g is not None or in_runtime_stack) \
                and i + 1 < len(lines) and _LOC_RE.match(lines[i + 1]):
            pending = (fm["func"], fm["args"])
            i += 1
            continue
        if started:
            section.other_lines.append(line)
        else:
            trace.preamble.append(line)
        i += 1
    return trace


# --------------------------------------------------------------------------------------------------
# Helpers for tests


def elf_header(path: Path) -> tuple[bytes, int, int]:
    """(e_ident magic, e_type, e_machine) of an ELF file."""
    with open(path, "rb") as fh:
        data = fh.read(64)
    return data[:4], int.from_bytes(data[16:18], "little"), int.from_bytes(data[18:20], "little")

