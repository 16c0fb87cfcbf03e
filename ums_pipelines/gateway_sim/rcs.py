"""RCS Biz Center: ``POST /rcs/v1/messages`` (one message a request) and media upload.

The message names its ``messagebaseId`` (the standard bases ``SS000000`` SMS,
``SL000000`` LMS, ``SMwThM00`` MMS, or an approved template ``UBR.*``), ``brandId``,
``chatbotId`` (the sender number: never a 010 mobile number), ``clientKey``,
``destinationPhoneNumber``, ``header`` (``"1"`` advertising) and ``footer`` (the 080
opt-out), ``body`` (``title1``/``description`` and, for MMS, ``media`` naming an
uploaded file as ``maap://content/<fileId>``; for a template, its variables) and
``buttons`` (``suggestions`` of ``urlAction``/``dialerAction``/``clipboardAction``).
Media come from ``POST /rcs/v1/files`` (multipart ``file``: JPEG/PNG/GIF/BMP, 1 MB).

Refusals are RCS Biz Center's ``{"status": 400, "error": {"code", "message"}}``; whether
the handset can take RCS is known at the carrier: ``rcs_incapable_rate`` of the numbers
get a failure receipt 60101, a fall-back code.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal

from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes, rules
from ums_pipelines.gateway_sim.config import SimConfig
from ums_pipelines.gateway_sim.records import NewMessage
from ums_pipelines.gateway_sim.sends import Sends
from ums_pipelines.gateway_sim.uploads import read_upload, uploads_for
from ums_pipelines.gateway_sim.wire import _Wire, error_field

__all__ = [
    "MESSAGE_BASES",
    "RCS_MAX_CHARS",
    "RCS_MEDIA_MAX_BYTES",
    "Rcs",
    "RcsBody",
    "RcsMessage",
    "rcs_error",
    "rcs_outcome",
]

MESSAGE_BASES = {"SS000000": "SMS", "SL000000": "LMS", "SMwThM00": "MMS"}
RCS_MAX_CHARS = {"SMS": 100, "LMS": 1300, "MMS": 1300, "TEMPLATE": 1300}
RCS_MEDIA_MAX_BYTES = 1024 * 1024
_TEMPLATE = re.compile(r"^UBR\.[A-Za-z0-9_.-]{1,60}$")
_MEDIA = re.compile(r"^maap://content/([A-Za-z0-9]+)$")
_CHATBOT = re.compile(r"^\d{8,11}$")

log = logging.getLogger(__name__)


class RcsBody(_Wire):
    title1: str | None = None
    description: str | None = None
    media: str | None = None


class RcsMessage(_Wire):
    client_key: str = Field(alias="clientKey", min_length=1, max_length=200)
    messagebase_id: str = Field(alias="messagebaseId", min_length=1)
    brand_id: str = Field(alias="brandId", min_length=1)
    chatbot_id: str = Field(alias="chatbotId", min_length=1)
    destination: str = Field(alias="destinationPhoneNumber")
    header: Literal["0", "1"] = "0"
    footer: str | None = None
    copy_allowed: bool = Field(default=True, alias="copyAllowed")
    # Standard bases: title1/description/media (RcsBody); a template: its variables.
    body: dict[str, str]
    buttons: list[dict[str, Any]] = Field(default_factory=list, max_length=3)


def rcs_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"status": status, "error": {"code": code, "message": message}}, status_code=status
    )


def rcs_outcome(config: SimConfig, client_key: str, recipient: str) -> rules.Outcome:
    """Keyed on the number: a handset without RCS stays one on every send."""
    if rules.fraction(config.seed, "rcs", recipient) < config.rcs_incapable_rate:
        return rules.Outcome(
            delivered=False, code=codes.RCS_NOT_CAPABLE, reason="no RCS-capable handset"
        )
    outcome = rules.handset_outcome(config, client_key, "rcs")
    if outcome.delivered:
        return outcome
    return rules.Outcome(delivered=False, code=codes.RCS_HANDSET, reason="handset unreachable")


class Rcs:
    def __init__(self, sends: Sends) -> None:
        self.sends = sends
        self.config = sends.config
        self.ledger = sends.ledger

    async def upload(self, request: Request) -> Response:
        found = await read_upload(request, "file", codes.RCS, RCS_MEDIA_MAX_BYTES)
        if isinstance(found, str):
            return rcs_error(400, codes.RCS_INVALID_ATTRIBUTE, found)
        uploads_for(self.ledger).add(found)
        return JSONResponse({"status": 200, "data": {"fileId": found.file_id}})

    async def send(self, request: Request) -> Response:
        raw = await request.body()
        if not raw.strip():
            return rcs_error(400, codes.RCS_MISSING_BODY, "Missing Body data")
        try:
            json.loads(raw)
        except ValueError:
            return rcs_error(400, codes.RCS_INVALID_JSON, "Invalid JSON format")
        try:
            m = RcsMessage.model_validate_json(raw)
        except ValidationError as exc:
            field, problem = error_field(exc)
            return rcs_error(400, codes.RCS_INVALID_ATTRIBUTE, f"{field}: {problem}")
        refused = self._check(m)
        if refused is not None:
            code, text = refused
            log.debug("rcs rejected %s for %s", code, rules.mask_phone(m.destination))
            return rcs_error(400, code, text)
        kind = MESSAGE_BASES.get(m.messagebase_id, "TEMPLATE")
        body = _standard_body(m)
        subject: str | None
        if body is None:
            subject, text = m.messagebase_id, json.dumps(m.body, ensure_ascii=False)
        else:
            subject, text = body.title1, body.description or ""
        record: NewMessage = self.sends._record(
            m.client_key,
            "rcs",
            f"RCS_{kind}",
            sender=m.chatbot_id,
            recipient=m.destination,
            subject=subject,
            body=text,
            outcome=rcs_outcome(self.config, m.client_key, m.destination),
            wire=raw.decode("utf-8"),
        )
        accepted = await self.sends._accept("rcs", [record], 1)
        if isinstance(accepted, Response):
            return accepted
        (result,) = accepted
        status = "duplicate" if result.duplicate else "accepted"
        return JSONResponse(
            {
                "status": 200,
                "data": {
                    "clientKey": m.client_key,
                    "messageId": result.message_id,
                    "result": status,
                },
            }
        )

    def _check(self, m: RcsMessage) -> tuple[str, str] | None:
        if rules.check_alimtalk(m.destination, "x", 0) is not None:
            return codes.RCS_INVALID_MDN, "destinationPhoneNumber is not a Korean mobile number"
        if not _CHATBOT.fullmatch(m.chatbot_id):
            return codes.RCS_INVALID_CHATBOT, "chatbotId must be a registered 8-11 digit number"
        if m.chatbot_id.startswith("010"):
            return codes.RCS_INVALID_CHATBOT, "chatbotId: a 010 mobile number cannot send RCS"
        kind = MESSAGE_BASES.get(m.messagebase_id)
        if kind is None and not _TEMPLATE.fullmatch(m.messagebase_id):
            return codes.RCS_INVALID_MESSAGEBASE, f"messagebaseId {m.messagebase_id!r} unknown"
        if m.header == "1" and not (m.footer and "080" in m.footer):
            return codes.RCS_INVALID_ATTRIBUTE, "footer: an advertisement carries its 080 number"
        if kind is None:
            too_long = [k for k, v in m.body.items() if len(v) > RCS_MAX_CHARS["TEMPLATE"]]
            if too_long:
                return codes.RCS_OVER_SIZE, f"body.{too_long[0]}: template variable too long"
            return None
        unknown = sorted(set(m.body) - set(RcsBody.model_fields))
        if unknown:
            return codes.RCS_INVALID_ATTRIBUTE, f"body.{unknown[0]}: not a field of {kind}"
        body = _standard_body(m)
        if body is None or not body.description:
            return codes.RCS_INVALID_ATTRIBUTE, "body.description is required"
        text = body.description
        if len(text) > RCS_MAX_CHARS[kind]:
            limit = RCS_MAX_CHARS[kind]
            return codes.RCS_OVER_SIZE, f"{kind} description is {len(text)} chars, limit {limit}"
        if body.title1 is not None and len(body.title1) > 30:
            return codes.RCS_OVER_SIZE, "body.title1 is over 30 characters"
        if kind == "SMS" and body.title1:
            return codes.RCS_INVALID_ATTRIBUTE, "body.title1: an RCS SMS has no title"
        if kind == "MMS":
            found = _MEDIA.fullmatch(body.media or "")
            if found is None or uploads_for(self.ledger).get(codes.RCS, found.group(1)) is None:
                return codes.RCS_INVALID_ATTRIBUTE, "body.media is not an uploaded file"
        elif body.media:
            return codes.RCS_INVALID_ATTRIBUTE, f"body.media: an RCS {kind} has no media"
        return None


def _standard_body(m: RcsMessage) -> RcsBody | None:
    if m.messagebase_id not in MESSAGE_BASES:
        return None
    return RcsBody.model_validate(m.body)
