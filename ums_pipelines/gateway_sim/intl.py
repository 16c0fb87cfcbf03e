"""The relay's international SMS: ``POST /sms/v1/international/batch``.

Messages carry an E.164 ``to``, its ``country`` and an ``encoding``: ``UTF-8`` or
``UCS-2`` (what GSM networks abroad carry for non-Latin scripts; nothing outside the
Basic Multilingual Plane). The text may take up to 1,000 bytes in its encoding, the
relay splitting it into concatenated segments (67 UCS-2 characters or 153 bytes each).
"""

from __future__ import annotations

import json
import logging
from typing import Literal

import phonenumbers
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.sends import Sends, _Decision, _parse, _too_many
from ums_pipelines.gateway_sim.wire import _Wire

__all__ = ["INTL_MAX_BYTES", "IntlBatch", "IntlMessage", "check_intl", "international_batch"]

INTL_MAX_BYTES = 1000

log = logging.getLogger(__name__)


class IntlMessage(_Wire):
    client_key: str = Field(alias="clientKey", min_length=1, max_length=200)
    sender: str = Field(alias="from")
    to: str = Field(pattern=r"^\+[1-9]\d{6,14}$")
    country: str = Field(pattern=r"^[A-Z]{2}$")
    encoding: Literal["UTF-8", "UCS-2"] = "UTF-8"
    text: str


class IntlBatch(_Wire):
    messages: list[IntlMessage] = Field(min_length=1)


def segments(size: int, encoding: str) -> int:
    per = 134 if encoding == "UCS-2" else 153  # bytes per concatenated segment
    return max(1, -(-size // per))


def check_intl(m: IntlMessage) -> rules.Rejection | None:
    try:
        number = phonenumbers.parse(m.to, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return rules.Rejection(codes.E_INTL_NUMBER, "to is not a valid E.164 number")
    region = phonenumbers.region_code_for_number(number)
    if region == "KR":
        return rules.Rejection(codes.E_INTL_NUMBER, "a Korean number goes to the domestic API")
    if region != m.country:
        return rules.Rejection(codes.E_INTL_NUMBER, f"to is in {region}, not {m.country}")
    if not m.text:
        return rules.Rejection(codes.E_SIZE, "text is empty")
    if m.encoding == "UCS-2":
        outside = next((c for c in m.text if ord(c) > 0xFFFF), None)
        if outside is not None:
            return rules.Rejection(
                codes.E_ENCODING, f"U+{ord(outside):04X} is outside UCS-2; send it as UTF-8"
            )
        size = 2 * len(m.text)
    else:
        size = len(m.text.encode("utf-8"))
    if size > INTL_MAX_BYTES:
        return rules.Rejection(codes.E_SIZE, f"text is {size} bytes, limit {INTL_MAX_BYTES}")
    if not m.sender.isdigit() or not 8 <= len(m.sender) <= 11:
        return rules.Rejection(codes.E_SENDER, "sender number must have 8-11 digits")
    return None


async def international_batch(sends: Sends, request: Request) -> Response:
    batch = await _parse(request, IntlBatch)
    if isinstance(batch, Response):
        return batch
    if len(batch.messages) > sends.config.max_batch:
        return _too_many(sends.config.max_batch)
    decisions: list[_Decision] = []
    for m in batch.messages:
        rejection = check_intl(m)
        if rejection is not None:
            decisions.append((m.client_key, rejection))
            continue
        size = 2 * len(m.text) if m.encoding == "UCS-2" else len(m.text.encode("utf-8"))
        wire = m.model_dump(by_alias=True) | {"segments": segments(size, m.encoding)}
        record = sends._record(
            m.client_key,
            "sms",
            "INTL_SMS",
            sender=m.sender,
            recipient=m.to,
            subject=None,
            body=m.text,
            outcome=rules.handset_outcome(sends.config, m.client_key),
            wire=json.dumps(wire, ensure_ascii=False),
        )
        decisions.append((m.client_key, record))
    return await sends._commit("sms", decisions)
