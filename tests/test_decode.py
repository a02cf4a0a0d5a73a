"""``decode`` and ``print --as``: a real protobuf request body, held by a crashed Go HTTP handler.

The Python test client encodes a shop.v1.Order (tests/protos/orders.proto) with the protobuf
package; tests/testprogs/protobody receives it over HTTP and dies in its handler holding the bytes
(``body``, ``bodyText``, and ``archived``, the body gzip-compressed). The oracle is protoc: ``decode``
of the handler's body must print exactly what ``protoc --decode_raw`` and ``protoc --decode=TYPE``
print for the bytes the client sent. Go 1.21-1.27 optimized; stripped (no DWARF: ``ADDR:LEN``) and
``-N -l`` builds on the first and last releases.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from functools import cache
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gotools
from corpus import CoreCase, make_core
from protoc import decode_many, decode_raw_many, descriptor_set
from test_values import frame_index, open_case

VERSIONS = gotools.test_versions()
HANDLER = "main.(*orderAPI).ServeHTTP"
TYPE = "shop.v1.Order"


def cli(*args: str) -> tuple[int, str, str]:
    from explorer.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


@cache
def order_body() -> bytes:
    """The request body: an Order as a client would send it, with a field of a newer client
    (number 99, unknown to orders.proto) at the end."""
    from google.protobuf import message_factory

    from explorer.payload.schema import Schema

    schema = Schema.load(descriptor_set("orders.proto"))
    order = message_factory.GetMessageClass(schema.message(TYPE))()
    order.id = 9_007_199_254_740_993
    order.customer = "alice@example.com \u2014 \u00e9t\u00e9"
    for i, (sku, qty) in enumerate([("SKU-RED-XL", 2), ("SKU-\x1b[2J", 1), ("", 40)]):
        item = order.items.add(sku=sku, quantity=qty, tags=["gift", f"batch-{i}"], blob=bytes([i, 0, 0xFF, 0x7F]))
        item.price.currency = "EUR"
        item.price.units = 19 * (i + 1)
        item.price.nanos = -990_000_000
    order.status = 2
    order.created.seconds = 1_767_225_600
    order.created.nanos = 123_456_789
    order.labels["region"] = "eu-west-1"
    order.labels["trace"] = "\x08\x96\x01"  # text that parses as a message
    order.adjustments.extend([-1, 5, -(1 << 31), (1 << 31) - 1])
    order.total = 97.35
    order.discount = 0.1
    order.checksum = 0xDEADBEEFCAFEBABE
    order.region = -42
    order.gift = True
    order.credit.currency = "USD"
    order.credit.units = -3
    order.priority = 0
    return bytes(order.SerializeToString(deterministic=True)) + b"\x9a\x06\x05later"


@cache
def protoc_raw() -> str:
    (r,) = decode_raw_many([order_body()])
    assert r.returncode == 0, r.stderr
    return r.text


@cache
def protoc_typed() -> str:
    (r,) = decode_many(descriptor_set("orders.proto"), "orders.proto", TYPE, [order_body()])
    assert r.returncode == 0, r.stderr
    return r.text


def order_case(version: str, mode: str) -> CoreCase:
    body = order_body()
    case = make_core(version, mode, "order", (hashlib.sha256(body).hexdigest()[:16],), prog="protobody", stdin=body)
    assert case.values["body_hex"] == body.hex(), "the handler did not receive what the client sent"
    return case


def _handler_frame(case: CoreCase) -> tuple[str, str, str]:
    proc = open_case(case)
    g = proc.crashed_goroutine
    assert g is not None and g.id == case.values["handler_goid"]
    return str(case.core), str(case.binary), str(frame_index(proc, g, HANDLER))


@pytest.mark.parametrize("version", VERSIONS)
def test_decode_request_body(version: str) -> None:
    case = order_case(version, "opt")
    core, exe, fi = _handler_frame(case)
    rc, out, err = cli("decode", core, exe, "-f", fi, "body", "--as", "protobuf")
    assert rc == 0, err
    assert out == protoc_raw()
    rc, out, err = cli("decode", core, exe, "-f", fi, "body", "--proto", str(descriptor_set("orders.proto")),
                       "--type", TYPE)
    assert rc == 0, err
    assert out == protoc_typed()
    # auto: the same bytes are recognised as protobuf; the archived copy is gzip, then protobuf
    assert cli("decode", core, exe, "-f", fi, "body")[1] == protoc_raw()
    rc, out, err = cli("decode", core, exe, "-f", fi, "archived")
    assert rc == 0, err
    assert out == protoc_raw()
    assert "gzip:" in err and f"decompressed to {len(order_body())}" in err


@pytest.mark.parametrize("version", sorted({VERSIONS[0], VERSIONS[-1]}))
def test_decode_stripped_range(version: str) -> None:
    """No DWARF, no expressions: the body's ADDR:LEN decodes the same."""
    case = order_case(version, "stripped")
    target = f"{case.values['body_addr']}:{case.values['body_len']}"
    rc, out, err = cli("decode", str(case.core), str(case.binary), target, "--as", "protobuf")
    assert rc == 0, err
    assert out == protoc_raw()
    rc, out, err = cli("decode", str(case.core), str(case.binary), target, "--proto",
                       str(descriptor_set("orders.proto")), "--type", TYPE)
    assert rc == 0, err
    assert out == protoc_typed()


@pytest.mark.parametrize("version", sorted({VERSIONS[0], VERSIONS[-1]}))
def test_print_as_protobuf(version: str) -> None:
    """``print EXPR --as protobuf`` of the []byte and of the string, in the handler and, through the
    pointers the crash handler was given, in its frame."""
    case = order_case(version, "noopt")
    core, exe, fi = _handler_frame(case)
    for expr in ("body", "bodyText"):
        rc, out, err = cli("print", core, exe, "-f", fi, expr, "--as", "protobuf")
        assert rc == 0, (expr, err)
        assert out == protoc_raw(), expr
    proc = open_case(case)
    fc = str(frame_index(proc, proc.crashed_goroutine, "main.(*orderAPI).crashOnPanic"))
    rc, out, err = cli("print", core, exe, "-f", fc, "*body", "--as", "protobuf")
    assert rc == 0, err
    assert out == protoc_raw()
    rc, _, err = cli("print", core, exe, "-f", fi, "api", "--as", "protobuf")
    assert rc == 1 and "--as decodes a string, a []byte or a byte array" in err


def test_decode_json_tree() -> None:
    case = order_case(VERSIONS[-1], "opt")
    core, exe, fi = _handler_frame(case)
    body = order_body()
    rc, out, err = cli("decode", core, exe, "-f", fi, "body", "--json", "--proto",
                       str(descriptor_set("orders.proto")), "--type", TYPE)
    assert rc == 0, err
    tree = json.loads(out)
    assert tree["format"] == "protobuf" and tree["type"] == TYPE and tree["error"] is None
    assert tree["length"] == len(body) and tree["address"] == int(case.values["body_addr"], 16)

    def walk(fields: list[dict[str, Any]]) -> None:
        for f in fields:
            assert body[f["offset"] : f["offset"] + f["length"]]  # in range
            if "message" in f:
                walk(f["message"])

    walk(tree["fields"])
    by = {f.get("name"): f for f in tree["fields"]}
    assert by["id"]["value"] == 9_007_199_254_740_993
    assert by["customer"]["value"] == "alice@example.com \u2014 \u00e9t\u00e9"
    assert by["status"]["value"] == "PAID"
    assert by["adjustments"]["value"] == [-1, 5, -(1 << 31), (1 << 31) - 1]
    assert by["region"]["value"] == -42 and by["gift"]["value"] is True
    items = [f for f in tree["fields"] if f.get("name") == "items"]
    assert [i["message"][0]["value"] for i in items] == ["SKU-RED-XL", "SKU-\x1b[2J", 40]  # proto3: no "" sku
    unknown = tree["fields"][-1]
    assert unknown["number"] == 99 and "name" not in unknown and unknown["value"] == "later"
    # without a schema: numbers and wire types only
    rc, out, _ = cli("decode", core, exe, "-f", fi, "body", "--json")
    raw = json.loads(out)
    assert rc == 0 and [f["number"] for f in raw["fields"]] == [f["number"] for f in tree["fields"]]
    assert all("name" not in f for f in raw["fields"])


def test_decode_errors(tmp_path: Path) -> None:
    case = order_case(VERSIONS[-1], "opt")
    core, exe, fi = _handler_frame(case)
    addr, n = int(case.values["body_addr"], 16), case.values["body_len"]
    # a cut body: its valid prefix on stdout, where and why it broke on stderr
    rc, out, err = cli("decode", core, exe, f"{addr:#x}:{n - 3}", "--as", "protobuf")
    assert rc == 1 and "not a valid protobuf message: at offset" in err
    assert protoc_raw().startswith(out) and out
    rc, _, err = cli("decode", core, exe, "-f", fi, "body", "--as", "json")
    assert rc == 1 and "not JSON" in err
    rc, _, err = cli("decode", core, exe, "-f", fi, "body", "--proto", str(tmp_path / "none.desc"), "--type", TYPE)
    assert rc == 1 and "cannot read the descriptor set" in err
    rc, _, err = cli("decode", core, exe, "-f", fi, "body", "--proto", str(descriptor_set("orders.proto")))
    assert rc == 2 and "--proto and --type go together" in err
    rc, _, err = cli("decode", core, exe, "-f", fi, "body", "--proto", str(descriptor_set("orders.proto")),
                     "--type", "shop.v1.Nope")
    assert rc == 1 and "no message type 'shop.v1.Nope'" in err
    rc, out, err = cli("decode", core, exe, "-f", fi, "body", "--as", "hex")
    assert rc == 0 and out.splitlines()[0].startswith("00000000  08 81 80 80 80 80 80 80  10 12")
    rc, out, err = cli("decode", core, exe, "-f", fi, "body", "--as", "text")
    assert rc == 0 and "\x1b" not in out and "\\x1b[2J" in out
    assert "not UTF-8" in err
    rc, _, err = cli("decode", core, exe, "0x10:16")
    assert rc == 1 and "cannot read 16 bytes at 0x10" in err
