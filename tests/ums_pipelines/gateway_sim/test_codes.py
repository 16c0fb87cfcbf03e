"""The registry of simulator error codes: well-formed, and the only source of codes.

Two ways of making sure the simulator returns no code outside the registry: its source
passes no unregistered code literal to anything that answers with a code, and a run
through every kind of failure it can produce only ever shows registered codes.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

import ums_pipelines.gateway_sim
from ums_pipelines.gateway_sim import GatewaySimulator, SimConfig, codes

for _module in pkgutil.iter_modules(ums_pipelines.gateway_sim.__path__):
    importlib.import_module(f"ums_pipelines.gateway_sim.{_module.name}")

SIM_DIR = Path(ums_pipelines.gateway_sim.__file__).parent
REGISTERED = {c.code for c in codes.all_codes()}
# What an error code looks like in each provider's shape (E-RECIPIENT, 3018, 64001,
# UNREGISTERED, BadDeviceToken, 550); messages have spaces and punctuation.
CODE_SHAPE = re.compile(
    r"E-[A-Z0-9-]+|\d{3,5}|[A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{5,}|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+"
)
# Calls whose arguments carry a code the simulator answers with.
CODE_CALL = re.compile(r"(Rejection|Outcome|_error|Error|register_code)$")
SMTP_REPLY = re.compile(r"([45]\d\d) [45]\.\d{1,3}\.\d{1,3} ")
AUTH = {"Authorization": "Bearer t"}


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _code_literals(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and CODE_CALL.search(_call_name(node)):
            values = [*node.args, *(k.value for k in node.keywords if k.arg in ("code", None))]
            found += [
                (v.lineno, v.value)
                for v in values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            ]
        # Tables of codes: NAME_REASONS = {"BadDeviceToken": 400, ...}
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(n.endswith(("REASONS", "CODES")) for n in names):
                found += [
                    (k.lineno, k.value)
                    for k in node.value.keys
                    if isinstance(k, ast.Constant) and isinstance(k.value, str)
                ]
    # SMTP replies written out: "554 5.7.1 Message rejected ..."
    found += [
        (node.lineno, match.group(1))
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for match in [SMTP_REPLY.match(node.value)]
        if match is not None
    ]
    return [(line, text) for line, text in found if CODE_SHAPE.fullmatch(text)]


SOURCES = sorted(p for p in SIM_DIR.glob("*.py") if p.name != "codes.py")


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_simulator_source_answers_only_with_registered_codes(path: Path) -> None:
    literals = _code_literals(ast.parse(path.read_text(encoding="utf-8")))
    unknown = [(line, text) for line, text in literals if text not in REGISTERED]
    assert unknown == [], f"{path.name}: register these in gateway_sim/codes.py: {unknown}"


def test_the_source_scan_finds_literal_codes() -> None:
    """The scan itself: a literal code in a rejection is found, a message is not."""
    tree = ast.parse(
        'Rejection("E-NEWCODE", "a reason")\n'
        'fcm_error(400, "NEW_STATUS", "Message text.")\n'
        "Outcome(delivered=False, code='3999', reason='x y')\n"
        'X_REASONS = {"BrandNewReason": 400}\n'
        'REPLY = "571 5.7.1 Refused"\n'
    )
    assert sorted(text for _, text in _code_literals(tree)) == [
        "3999",
        "571",
        "BrandNewReason",
        "E-NEWCODE",
        "NEW_STATUS",
    ]


def test_register_checks_its_input() -> None:
    with pytest.raises(ValueError, match="provider"):
        codes.register("carrier-pigeon", "X", "no such provider")
    with pytest.raises(ValueError, match="stages"):
        codes.register(codes.RELAY, "E-TEST-RECEIPT", "no stage", ("receipt",))
    with pytest.raises(ValueError, match="already registered"):
        codes.register(codes.RELAY, "E-SIZE", "a different meaning")
    # The same entry again is harmless (a module imported twice).
    entry = codes.lookup(codes.RELAY, "E-SIZE")
    assert entry is not None
    assert codes.register(codes.RELAY, "E-SIZE", entry.meaning, entry.where) == "E-SIZE"


def test_registry_entries_are_well_formed() -> None:
    entries = codes.all_codes()
    assert {c.provider for c in entries} == set(codes.PROVIDERS)
    for c in entries:
        assert c.meaning and c.where
        assert ("receipt" in c.where) == bool(c.stages), c
    # Receipt failures are registered for every stage a receipt can fail at.
    stages = {s for c in entries for s in c.stages}
    assert stages == {"relay", "carrier", "handset"}


def _codes_in(body: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ("code", "errorCode") and isinstance(value, str):
                found.add(value)
            elif key == "status" and isinstance(value, str) and value.isupper():
                found.add(value)  # FCM's google.rpc status
            else:
                found |= _codes_in(value)
    elif isinstance(body, list):
        for item in body:
            found |= _codes_in(item)
    return found


def _exercise(sim: GatewaySimulator) -> set[str]:
    """Every kind of refusal and failure the HTTP side gives, and the codes seen."""
    seen: set[str] = set()
    with httpx.Client(base_url=sim.base_url, timeout=10) as http:
        sms = [
            {"clientKey": f"s{i}", "type": kind, "from": sender, "to": to, "text": text}
            for i, (kind, sender, to, text) in enumerate(
                [
                    ("SMS", "15880000", "0212345678", "안내"),  # not a mobile
                    ("SMS", "15880000", "01012345678", "안내 🙂"),  # outside CP949
                    ("SMS", "15880000", "01012345678", "가" * 46),  # over 90 bytes
                    ("SMS", "1", "01012345678", "안내"),  # bad sender
                ]
                + [("SMS", "15880000", f"0101234{i:04d}", "안내") for i in range(20)]
            )
        ]
        answers = [
            http.post("/sms/v1/messages/batch", json={"messages": sms}, headers=AUTH),
            http.post("/sms/v1/messages/batch", json={"messages": []}, headers=AUTH),
            http.post("/sms/v1/messages/batch", json={"messages": sms}),  # no auth
            http.post(
                "/alimtalk/v2/senders/k/messages",
                json={
                    "templateCode": "T1",
                    "messages": [
                        {"clientKey": f"a{i}", "to": f"0105555{i:04d}", "text": "안내"}
                        for i in range(40)
                    ]
                    + [{"clientKey": "a-bad", "to": "0212345678", "text": "안내"}],
                },
                headers=AUTH,
            ),
            http.post(
                "/v1/projects/p/messages:send",
                json={"message": {"token": "invalid-1", "notification": {"body": "x"}}},
                headers={**AUTH, "Idempotency-Key": "p1"},
            ),
            http.post(
                "/v1/projects/p/messages:send",
                json={"message": {"token": "tok-2", "notification": {"body": "x"}}},
                headers=AUTH,  # no idempotency key
            ),
            http.post("/v1/projects/p/messages:send", json={"message": {}}),  # no auth
            http.get("/sms/v1/messages/never-sent", headers=AUTH),
            http.get("/receipts/v1", params={"channel": "nope"}),
        ]
        for response in answers:
            seen |= _codes_in(response.json()) if response.content else set()
        for channel in ("sms", "alimtalk", "push"):
            receipts = http.get("/receipts/v1", params={"channel": channel}).json()
            seen |= _codes_in(receipts["receipts"])
    return seen


def test_every_code_the_simulator_answers_with_is_registered() -> None:
    config = SimConfig(
        latency_ms=(0, 0),
        receipt_delay_ms=0,
        failure_rate=0.5,
        kakao_non_user_rate=0.5,
        registered_senders=["15880000"],
    )
    with GatewaySimulator(config) as sim:
        seen = _exercise(sim)
    # Sanity: the run did produce the interesting ones.
    assert {"E-RECIPIENT", "E-ENCODING", "E-SIZE", "E-SENDER", "3018", "UNREGISTERED"} <= seen
    assert seen <= REGISTERED, seen - REGISTERED


def test_request_faults_answer_with_registered_codes() -> None:
    config = SimConfig(latency_ms=(0, 0), error_rate_5xx=1.0)
    with GatewaySimulator(config) as sim, httpx.Client(base_url=sim.base_url) as http:
        relay = http.post("/sms/v1/messages/batch", json={"messages": []}, headers=AUTH)
        fcm = http.post(
            "/v1/projects/p/messages:send", json={}, headers={**AUTH, "Idempotency-Key": "k"}
        )
    assert relay.status_code == fcm.status_code == 503
    seen = _codes_in(relay.json()) | _codes_in(fcm.json())
    assert seen == {"E-UNAVAILABLE", "UNAVAILABLE"}
    assert seen <= REGISTERED


# -- receipt failures at each stage --------------------------------------------------------


def _all_receipts(sim: GatewaySimulator, channel: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = 0
    with httpx.Client(base_url=sim.base_url, timeout=10) as http:
        while True:
            page = http.get("/receipts/v1", params={"channel": channel, "after": cursor}).json()
            if not page["receipts"]:
                return found
            found += page["receipts"]
            cursor = page["next"]


def test_stage_failures_end_at_the_stage_their_code_belongs_to() -> None:
    config = SimConfig(
        latency_ms=(0, 0),
        receipt_delay_ms=0,
        failure_rate=1.0,
        receipt_stages=True,
        stage_failures=True,
    )
    keys = [f"st{i:03d}" for i in range(80)]
    messages = [
        {"clientKey": k, "type": "SMS", "from": "15880000", "to": "01012345678", "text": "안내"}
        for k in keys
    ]
    with GatewaySimulator(config) as sim:
        answer = httpx.post(
            f"{sim.base_url}/sms/v1/messages/batch", json={"messages": messages}, headers=AUTH
        )
        assert answer.status_code == 200
        receipts = _all_receipts(sim, "sms")
    by_key: dict[str, list[tuple[str, str, str | None]]] = {}
    for r in receipts:
        by_key.setdefault(r["clientKey"], []).append((r["stage"], r["status"], r["code"]))
    assert sorted(by_key) == keys
    order = ["relay", "carrier", "handset"]
    seen_codes = set()
    for events in by_key.values():
        *before, (stage, status, code) = events
        assert status == "failed" and code is not None
        assert codes.failure_stage(code) == stage  # each code at its own stage ...
        assert [s for s, _, _ in before] == order[: order.index(stage)]  # ... and the last
        assert all(st == "sent" and c is None for _, st, c in before)
        seen_codes.add(code)
    assert seen_codes == {c.code for c in codes.receipt_failures(codes.RELAY)}
    assert {codes.failure_stage(c) for c in seen_codes} == set(order)


def test_without_stage_failures_every_failure_is_the_handsets() -> None:
    config = SimConfig(latency_ms=(0, 0), receipt_delay_ms=0, failure_rate=1.0)
    messages = [
        {"clientKey": f"h{i}", "type": "SMS", "from": "15880000", "to": "01012345678", "text": "안"}
        for i in range(20)
    ]
    with GatewaySimulator(config) as sim:
        httpx.post(
            f"{sim.base_url}/sms/v1/messages/batch", json={"messages": messages}, headers=AUTH
        )
        receipts = _all_receipts(sim, "sms")
    assert {(r["stage"], r["code"]) for r in receipts} == {("handset", "E-HANDSET")}


@pytest.mark.parametrize(
    ("code", "stage"),
    [
        ("E-SPAM", "relay"),
        ("E-NO-NUMBER", "carrier"),
        ("E-HANDSET", "handset"),
        ("60101", "carrier"),
        ("3018", "handset"),
        ("E-SIZE", None),
        (None, None),
    ],
)
def test_failure_stage(code: str | None, stage: str | None) -> None:
    assert codes.failure_stage(code) == stage
