"""The relay's international SMS endpoint: E.164, UTF-8 or UCS-2, 1,000 bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ums_pipelines.gateway_sim import GatewaySimulator

PATH = "/sms/v1/international/batch"


def message(key: str, **fields: Any) -> dict[str, Any]:
    base = {"clientKey": key, "from": "15880000", "to": "+819012345678", "country": "JP"}
    return base | {"encoding": "UCS-2", "text": "お振込みを確認しました。"} | fields


def test_accepted_and_recorded_as_intl_sms(sim: GatewaySimulator, api: Any, prefix: str) -> None:
    response = api.http.post(PATH, json={"messages": [message(f"{prefix}1")]})
    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["status"] == "accepted"
    (row,) = sim.ledger.messages("sms", key_prefix=prefix)
    assert (row.type, row.recipient, row.body) == (
        "INTL_SMS",
        "+819012345678",
        "お振込みを確認しました。",
    )
    wire = json.loads(sim.ledger.wire(f"{prefix}1") or "")
    assert (wire["encoding"], wire["segments"], wire["country"]) == ("UCS-2", 1, "JP")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "+81901234"}, "E-INTL-NUMBER"),
        ({"to": "+14155552671"}, "E-INTL-NUMBER"),  # a US number said to be in JP
        ({"to": "+821012345678", "country": "KR"}, "E-INTL-NUMBER"),
        ({"text": "😀 smile"}, "E-ENCODING"),
        ({"text": "😀 smile", "encoding": "UTF-8"}, None),
        ({"text": "あ" * 500}, None),
        ({"text": "あ" * 501}, "E-SIZE"),
        ({"text": "a" * 1000, "encoding": "UTF-8"}, None),
        ({"text": "a" * 1001, "encoding": "UTF-8"}, "E-SIZE"),
        ({"from": "010"}, "E-SENDER"),
    ],
)
def test_per_message_refusals(
    api: Any, prefix: str, fields: dict[str, Any], code: str | None
) -> None:
    response = api.http.post(PATH, json={"messages": [message(f"{prefix}r", **fields)]})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["code"] == code
    assert result["status"] == ("accepted" if code is None else "rejected")


def test_a_malformed_number_is_a_request_error_naming_the_field(api: Any, prefix: str) -> None:
    response = api.http.post(PATH, json={"messages": [message(f"{prefix}m", to="0901234")]})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "messages[0].to"
