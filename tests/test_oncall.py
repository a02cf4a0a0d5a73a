"""The on-call workflow on tests/testprogs/oncall: pprof labels (in the list, the JSON, ``--filter
key=value``, ``-with``/``-without label`` and ``-group label``), the ``created by`` link, a closure's
slice put back together from the words Go 1.27 describes separately, and ``x``/``save`` on pointers
to slices and strings.

The oracle is the program: before it crashes it prints each goroutine's id with the labels it gave
it (pprof.Do, SetGoroutineLabels; a goroutine inherits its creator's), the ids of the handler, its
worker, the orphan whose creator exited and the goroutine whose creator moved on, and the body's
bytes, len, cap and address as the worker holds it. From Go 1.26 the runtime's traceback prints
labels too (GODEBUG=tracebacklabels=1), a second oracle.

Labels need no DWARF: every release optimized, and -N -l and stripped on 1.21, 1.24 and 1.27.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from corpus import CoreCase, make_core, parse_traceback
from gotools import test_versions as go_versions

from explorer.cli import main as cli_main
from explorer.goruntime.creator import creator_link
from explorer.goruntime.model import labels_of
from explorer.goruntime.process import GoProcess

FULL = ("1.21.13", "1.24.11", "1.27.3")
VERSIONS = go_versions()
LABEL_CASES = [(v, "opt") for v in VERSIONS] + [(v, m) for v in FULL if v in VERSIONS for m in ("noopt", "stripped")]
FULL_CASES = [(v, m) for v in FULL if v in VERSIONS for m in ("opt", "noopt", "stripped")]
DWARF_CASES = [(v, m) for v, m in FULL_CASES if m != "stripped"]
WORKER = "main.(*server).handle.func1"


def _id(case: tuple[str, str]) -> str:
    return "-".join(case)


@pytest.fixture(scope="module")
def oncall() -> Any:
    """(version, mode) -> (CoreCase, GoProcess), opened once for the module."""
    cache: dict[tuple[str, str], tuple[CoreCase, GoProcess]] = {}

    def get(version: str, mode: str) -> tuple[CoreCase, GoProcess]:
        if (version, mode) not in cache:
            case = make_core(version, mode, "handler", prog="oncall")
            cache[(version, mode)] = (case, GoProcess.open(case.core, case.binary))
        return cache[(version, mode)]

    yield get
    for _case, proc in cache.values():
        proc.close()


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = cli_main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def recorded(case: CoreCase) -> dict[int, dict[str, str] | None]:
    """Goroutine id -> the labels the program gave it (None: none)."""
    return {int(g["id"]): g["labels"] or None for g in case.ready["goroutines"]}


def ids_where(case: CoreCase, pred: Any) -> set[int]:
    return {gid for gid, labels in recorded(case).items() if pred(labels or {})}


def hexdump_bytes(text: str) -> bytes:
    """The bytes of ``x``'s hex dump lines (``0xADDR  hh hh ...  |ascii|``)."""
    out = bytearray()
    for line in text.splitlines():
        if not line.startswith("0x"):
            continue
        body = line.split("  ", 1)[1].rsplit("|", 2)[0]
        out += bytes.fromhex("".join(re.findall(r"\b[0-9a-f]{2}\b", body)))
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# Labels


@pytest.mark.parametrize("version,mode", LABEL_CASES, ids=[_id(c) for c in LABEL_CASES])
def test_labels_of_every_goroutine(oncall: Any, capsys: pytest.CaptureFixture[str], version: str,
                                   mode: str) -> None:
    case, proc = oncall(version, mode)
    want = recorded(case)
    assert sum(1 for v in want.values() if v) >= 7, "the program labels seven goroutines"
    got = {g.id: labels_of(proc, g) for g in proc.goroutines}
    for gid, labels in want.items():
        if gid in got:  # the spawner has exited
            assert got[gid] == labels, f"goroutine {gid}"
    assert case.ready["orphan_parent"] not in got
    for gid, labels in got.items():
        if gid not in want:  # the runtime's own goroutines and main: no labels
            assert labels is None, f"goroutine {gid} has labels {labels}"
    for rg in case.trace.user_goroutines().values():
        if rg.labels:  # Go 1.26+ prints them
            assert got[rg.id] == rg.labels, f"goroutine {rg.id}: the runtime printed {rg.labels}"
    # The JSON contract's "labels".
    rc, out, err = cli(capsys, "goroutines", "--json", str(case.core), str(case.binary))
    assert rc == 0, err
    assert {g["id"]: g["labels"] for g in json.loads(out)} == got


OPTION_CASES = [*DWARF_CASES[:1], *[c for c in FULL_CASES if c[0] == FULL[-1]]]


@pytest.mark.parametrize("version,mode", OPTION_CASES, ids=[_id(c) for c in OPTION_CASES])
def test_label_options(oncall: Any, capsys: pytest.CaptureFixture[str], version: str, mode: str) -> None:
    """-with/-without label, -group label and --filter key=value, against the program's labels."""
    case, _proc = oncall(version, mode)
    inputs = (str(case.core), str(case.binary))
    alive = {g["id"] for g in json.loads(cli(capsys, "goroutines", "--json", *inputs)[1])}

    def ids(*opts: str) -> set[int]:
        rc, out, err = cli(capsys, "goroutines", "--json", *inputs, *opts)
        assert rc == 0, err
        return {g["id"] for g in json.loads(out)}

    acme = ids_where(case, lambda lab: lab.get("tenant") == "acme") & alive
    assert len(acme) == 5 and case.ready["worker"] in acme and case.ready["handler"] in acme
    assert ids("-with", "label", "tenant=acme") == acme
    assert ids("-with", "label", "role") == ids_where(case, lambda lab: "role" in lab) & alive
    assert ids("-without", "label", "tenant") == alive - ids_where(case, lambda lab: "tenant" in lab)
    assert ids("-with", "label", "tenant=acme", "--with", "label", "route=/orders") == \
        ids_where(case, lambda lab: lab.get("tenant") == "acme" and lab.get("route") == "/orders") & alive
    assert ids("-with", "label", "tenant=acm") == set()  # exact, as delve
    assert ids("--filter", "route=/users") == ids_where(case, lambda lab: lab.get("route") == "/users")
    assert ids("--filter", "GLOBEX") == ids_where(case, lambda lab: lab.get("tenant") == "globex")

    rc, out, err = cli(capsys, "goroutines", *inputs, "-group", "label", "tenant", "--json")
    assert rc == 0, err
    groups = json.loads(out)
    assert [(g["value"], set(g["ids"])) for g in groups] == [
        ("acme", acme), ("globex", ids_where(case, lambda lab: lab.get("tenant") == "globex")),
        (None, alive - ids_where(case, lambda lab: "tenant" in lab))]
    rc, out, err = cli(capsys, "goroutines", *inputs, "-group", "label", "tenant")
    assert rc == 0, err
    assert out.startswith("tenant=acme: 5 goroutines\n")
    assert "\nno label tenant: " in out

    # The text list shows labels as key=value, quoted where a value has spaces.
    rc, out, err = cli(capsys, "goroutines", *inputs)
    janitor = next(gid for gid, lab in recorded(case).items() if lab and lab.get("role") == "janitor")
    row = next(ln for ln in out.splitlines() if ln.split()[0] == str(janitor))
    assert row.endswith('{note="a b=c", role=janitor}'), row

    # --format traceback prints them as Go 1.27's traceback does, which the runtime's parser reads.
    rc, out, err = cli(capsys, "goroutines", *inputs, "--format", "traceback")
    assert rc == 0, err
    want = recorded(case)
    assert {g.id: g.labels for g in parse_traceback(out).goroutines if g.labels} == \
        {gid: lab for gid, lab in want.items() if lab and gid in alive}

    for bad in (["-with", "userloc", "main.f"], ["-group", "label", "tenant", "--group"]):
        rc, out, err = cli(capsys, "goroutines", *inputs, *bad)
        assert rc == 2 and err.startswith("gocore-tui"), (bad, err)


# --------------------------------------------------------------------------------------------------
# created by ... in goroutine N


@pytest.mark.parametrize("version,mode", FULL_CASES, ids=[_id(c) for c in FULL_CASES])
def test_creator_link(oncall: Any, version: str, mode: str) -> None:
    case, proc = oncall(version, mode)
    r = case.ready
    worker = creator_link(proc, proc.goroutine(r["worker"]))
    assert worker.parent is not None and worker.parent.id == r["handler"] and worker.note is None
    frames = proc.backtrace(worker.parent).frames
    assert worker.frame is not None and frames[worker.frame].function == "main.(*server).handle"
    assert worker.go_statement is not None and worker.go_statement[0] == "main.(*server).handle"
    rg = case.trace.user_goroutines()[r["worker"]]  # the runtime's "created by ... in goroutine N"
    assert rg.created_by is not None and worker.parent_id == rg.created_by.goroutine
    assert (rg.created_by.function, rg.created_by.line) == (worker.go_statement[0], worker.go_statement[2])

    orphan = creator_link(proc, proc.goroutine(r["orphan"]))
    assert orphan.parent is None and orphan.parent_id == r["orphan_parent"]
    assert orphan.note == f"goroutine {r['orphan_parent']}, which created goroutine {r['orphan']} in " \
                          f"main.spawner, has exited"

    launched = creator_link(proc, proc.goroutine(r["launched"]))
    assert launched.parent is not None and launched.parent.id == r["launcher"] and launched.frame is None
    assert launched.note is not None and "no longer in main.launch" in launched.note


# --------------------------------------------------------------------------------------------------
# The closure's body, and x on pointers


def _worker_frame(proc: GoProcess, case: CoreCase) -> int:
    return next(f.index for f in proc.backtrace(proc.goroutine(case.ready["worker"])).frames
                if f.function == WORKER)


@pytest.mark.parametrize("version,mode", DWARF_CASES, ids=[_id(c) for c in DWARF_CASES])
def test_closure_body_is_one_slice(oncall: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                   version: str, mode: str) -> None:
    """Go 1.27 describes body.ptr, body.len and body.cap beside body: vars shows one body, and
    print, x and save read it as the program printed it."""
    case, proc = oncall(version, mode)
    r = case.ready
    body = bytes.fromhex(r["body_hex"])
    inputs = (str(case.core), str(case.binary), "-g", str(r["worker"]), "-f", str(_worker_frame(proc, case)))
    rc, out, err = cli(capsys, "vars", *inputs, "--json")
    assert rc == 0, err
    variables = {v["name"]: v["value"] for v in json.loads(out)}
    assert not [n for n in variables if "." in n], sorted(variables)
    v = variables["body"]
    assert (v["kind"], v["len"], v["cap"], v["data"]) == ("slice", r["body_len"], r["body_cap"],
                                                          int(r["body_addr"], 16))
    assert bytes(e["value"] for e in v["elements"]) == body
    assert variables["route"]["value"] == r["route"] and variables["name"]["value"] == r["name"]

    rc, out, err = cli(capsys, "x", *inputs, "body")
    assert rc == 0, err
    assert hexdump_bytes(out) == body
    dest = tmp_path / "body.bin"
    rc, out, err = cli(capsys, "save", *inputs, "body", "-o", str(dest))
    assert rc == 0, err
    assert dest.read_bytes() == body
    if mode == "noopt":  # addressable: &body is a *[]byte, and x opens the bytes it points to
        rc, out, err = cli(capsys, "x", *inputs, "&body")
        assert rc == 0, err
        assert hexdump_bytes(out) == body


@pytest.mark.parametrize("version,mode", DWARF_CASES, ids=[_id(c) for c in DWARF_CASES])
def test_x_on_pointers(oncall: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path, version: str,
                       mode: str) -> None:
    """x, save and decode on a *[]byte and a *string open the bytes; on a *struct, the struct's bytes."""
    case, _proc = oncall(version, mode)
    r = case.ready
    inputs = (str(case.core), str(case.binary))
    body = bytes.fromhex(r["body_hex"])
    rc, out, err = cli(capsys, "x", *inputs, "main.LastBody")
    assert rc == 0, err
    assert out.splitlines()[0].startswith(f"main.LastBody: *[]uint8, {len(body)} bytes at ")
    assert hexdump_bytes(out) == body
    dest = tmp_path / "name.bin"
    rc, out, err = cli(capsys, "save", *inputs, "main.LastName", "-o", str(dest))
    assert rc == 0, err
    assert dest.read_bytes() == r["name"].encode()
    assert f"({int(r['name_addr'], 16):#x}.." in out
    rc, out, err = cli(capsys, "decode", *inputs, "main.LastName", "--as", "text", "--json")
    assert rc == 0, err
    assert json.loads(out)["text"] == r["name"]
    rc, out, err = cli(capsys, "x", *inputs, "main.LastRequest")
    assert rc == 0, err
    assert out.splitlines()[0] == f"main.LastRequest: *main.request, {r['request_size']} bytes at " \
                                  f"{int(r['request_addr'], 16):#x}"


# Only Go 1.27 describes split variables' words (1.21-1.26 do not): one case, when 1.27 is selected.
@pytest.mark.parametrize("version", [v for v in VERSIONS if v.startswith("1.27.")])
def test_split_variable_rebuilt_from_its_words(capsys: pytest.CaptureFixture[str], version: str) -> None:
    """net/http's Serve keeps origListener, dead after its first lines, in the slots Go 1.27
    describes as origListener.itab and origListener.data: it is rebuilt from them, and its address
    is the one the crasher's server listens on."""
    case = make_core(version, "opt", "httpabort")
    with GoProcess.open(case.core, case.binary) as proc:
        g, f = next((g, f) for g in proc.goroutines for f in proc.backtrace(g).frames
                    if f.function == "net/http.(*Server).Serve")
    port = case.values["addr"].rsplit(":", 1)[1]
    rc, out, err = cli(capsys, "print", str(case.core), str(case.binary), "-g", str(g.id), "-f", str(f.index),
                       "origListener.(*net.TCPListener).fd.laddr.(*net.TCPAddr).Port")
    assert rc == 0, err
    assert out.strip() == port
