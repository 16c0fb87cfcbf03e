"""The simulated print vendor: batch file and PDF checked against each other."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from ums_pipelines.channels.dm import DmBatch, Letter, build_batch
from ums_pipelines.gateway_sim import GatewaySimulator

NOW = datetime(2026, 11, 25, 9, 30, 0)


def letters(prefix: str, n: int = 3, **fields: str) -> list[Letter]:
    base = {
        "name": "이영희",
        "postcode": "48058",
        "address": "부산광역시 해운대구 센텀중앙로 79",
        "address_detail": "",
        "text": "이영희 고객님, 카드 이용대금 명세서를 보내드립니다.",
    }
    return [Letter(key=f"{prefix}{i}", **(base | fields)) for i in range(n)]


def upload(api: Any, batch: DmBatch) -> Any:
    files = {
        "batch": ("b.dat", batch.records, "application/octet-stream"),
        "pdf": ("b.pdf", batch.pdf, "application/pdf"),
    }
    return api.http.post("/dm/v1/batches", files=files)


def test_batch_is_acknowledged_per_record_and_booked(
    sim: GatewaySimulator, api: Any, prefix: str
) -> None:
    batch = build_batch("B1", "UMS은행", letters(prefix), NOW)
    response = upload(api, batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["batchId"] == "B1"
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    again = upload(api, batch).json()
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    rows = sim.ledger.messages("dm", key_prefix=prefix)
    assert [(r.type, r.recipient) for r in rows] == [
        ("DM", "48058 부산광역시 해운대구 센텀중앙로 79")
    ] * 3
    assert "카드 이용대금 명세서" in rows[0].body
    wire = json.loads(sim.ledger.wire(f"{prefix}0") or "")
    assert wire["record"]["first_page"] == "1" and wire["header"]["sender"] == "UMS은행"


def test_bad_postcode_is_refused_for_that_record_only(api: Any, prefix: str) -> None:
    good = letters(prefix, 1)
    bad = letters(f"{prefix}bad", 1, postcode="1234")
    results = upload(api, build_batch("B2", "S", good + bad, NOW)).json()["results"]
    assert [(r["status"], r["code"]) for r in results] == [
        ("accepted", None),
        ("rejected", "E-DM-POSTCODE"),
    ]


@pytest.mark.parametrize("kind", ["pages", "count", "pdf", "missing"])
def test_files_that_disagree_are_refused_whole(
    sim: GatewaySimulator, api: Any, prefix: str, kind: str
) -> None:
    three = build_batch("B3", "S", letters(prefix), NOW)
    two = build_batch("B4", "S", letters(prefix, 2), NOW)
    if kind == "pages":
        response, code = upload(api, replace(three, pdf=two.pdf)), "E-DM-PAGES"
    elif kind == "count":
        records = three.records.split(b"\r\n")
        broken = b"\r\n".join([*records[:2], *records[3:]])  # one D record dropped
        response, code = upload(api, replace(three, records=broken)), "E-DM-COUNT"
    elif kind == "pdf":
        response, code = upload(api, replace(three, pdf=b"%PDF-1.4 broken")), "E-DM-PAGES"
    else:
        files = {"batch": ("b.dat", three.records, "application/octet-stream")}
        response, code = api.http.post("/dm/v1/batches", files=files), "E-DM-FORMAT"
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert sim.ledger.messages("dm", key_prefix=prefix) == []
