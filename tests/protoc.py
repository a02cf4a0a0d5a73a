"""protoc, the oracle of the payload tests, from the grpcio-tools wheel (``python -m grpc_tools.protoc``).

Starting ``python -m grpc_tools.protoc`` costs half a second, so :func:`run_many` starts one Python
that imports grpc_tools once and forks a child per input: the child puts the input on fd 0 and
files on fds 1 and 2, and runs protoc's ``main`` (the compiler reads stdin and writes stdout through
the file descriptors, as the protoc binary does). A few milliseconds an input.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

try:  # imported both as ``tests.protoc`` and, with tests/ on sys.path, as ``protoc``
    from .needs import need_module
except ImportError:  # pragma: no cover
    from needs import need_module

need_module("grpc_tools", "protoc for the payload tests: pip install grpcio-tools (the test extra)")
need_module("google.protobuf", "the protobuf package (a runtime dependency)")

PROTOS = Path(__file__).resolve().parent / "protos"

_DRIVER = r"""
import json, os, sys
from grpc_tools import protoc
work = sys.argv[1]
spec = json.load(open(os.path.join(work, "spec.json")))
codes = []
for i, args in enumerate(spec["args"]):
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(os.open(os.path.join(work, f"in{i}"), os.O_RDONLY), 0)
            os.dup2(os.open(os.path.join(work, f"out{i}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(os.path.join(work, f"err{i}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            os.chdir(spec["cwd"])
            rc = protoc.main(["protoc", *args])
        except BaseException:
            rc = 99
        os._exit(rc)
    _, status = os.waitpid(pid, 0)
    codes.append(os.waitstatus_to_exitcode(status))
json.dump(codes, open(os.path.join(work, "codes.json"), "w"))
"""


@dataclass(frozen=True)
class ProtocResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode("latin-1")


def run_many(jobs: list[tuple[list[str], bytes]], cwd: Path | None = None, timeout: float = 300) -> list[ProtocResult]:
    """protoc ``args`` with ``stdin`` for each job, in one helper process."""
    if not jobs:
        return []
    with tempfile.TemporaryDirectory(prefix="protoc-") as tmp:
        work = Path(tmp)
        for i, (_, data) in enumerate(jobs):
            (work / f"in{i}").write_bytes(data)
        (work / "spec.json").write_text(json.dumps({"args": [a for a, _ in jobs], "cwd": str(cwd or work)}))
        subprocess.run([sys.executable, "-c", _DRIVER, str(work)], check=True, timeout=timeout)
        codes = json.loads((work / "codes.json").read_text())
        return [ProtocResult(codes[i], (work / f"out{i}").read_bytes(), (work / f"err{i}").read_bytes())
                for i in range(len(jobs))]


def decode_raw_many(inputs: list[bytes]) -> list[ProtocResult]:
    """``protoc --decode_raw`` of each input."""
    return run_many([(["--decode_raw"], data) for data in inputs])


def decode_many(descriptor_set: Path, proto_file: str, type_name: str, inputs: list[bytes]) -> list[ProtocResult]:
    """``protoc --descriptor_set_in=SET --decode=TYPE FILE`` of each input."""
    args = [f"--descriptor_set_in={descriptor_set}", f"--decode={type_name}", proto_file]
    return run_many([(args, data) for data in inputs])


@cache
def descriptor_set(proto: str) -> Path:
    """tests/protos/``proto`` compiled with ``protoc -o --include_imports`` (once per session)."""
    out = Path(tempfile.mkdtemp(prefix="desc-")) / (Path(proto).stem + ".desc")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", "--include_imports",
                    f"-o{out}", proto], check=True, cwd=PROTOS)
    return out
