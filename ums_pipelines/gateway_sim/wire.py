"""Request bodies and error responses, in each provider's own wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim.records import Receipt, StoredMessage

__all__ = [
    "MAX_PAGE",
    "AlimTalkBatch",
    "AlimTalkMessage",
    "PushMessage",
    "PushNotification",
    "PushRequest",
    "SmsBatch",
    "SmsMessage",
    "batch_result",
    "error_field",
    "fcm_error",
    "has_bearer",
    "iso_time",
    "page_params",
    "receipt_json",
    "relay_error",
    "stored_json",
]

_KST = timezone(timedelta(hours=9), "KST")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_PAGE = 5000


class _Wire(BaseModel):
    # Providers ignore fields they do not know, so clients may send extras.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SmsMessage(_Wire):
    client_key: str = Field(alias="clientKey", min_length=1, max_length=200)
    type: Literal["SMS", "LMS"]
    sender: str = Field(alias="from")
    to: str
    subject: str | None = None
    text: str


class SmsBatch(_Wire):
    messages: list[SmsMessage] = Field(min_length=1)


class AlimTalkMessage(_Wire):
    client_key: str = Field(alias="clientKey", min_length=1, max_length=200)
    to: str
    text: str
    buttons: list[dict[str, Any]] | None = None


class AlimTalkBatch(_Wire):
    template_code: str = Field(alias="templateCode", min_length=1)
    messages: list[AlimTalkMessage] = Field(min_length=1)


class PushNotification(_Wire):
    title: str | None = None
    body: str | None = None


class PushMessage(_Wire):
    token: str = Field(min_length=1)
    notification: PushNotification | None = None
    # FCM refuses non-string data values, and so do we.
    data: dict[str, str] | None = None


class PushRequest(_Wire):
    message: PushMessage


def error_field(exc: ValidationError) -> tuple[str, str]:
    """The first offending field as ``messages[3].to`` and pydantic's message for it."""
    first = exc.errors(include_url=False)[0]
    field = ""
    for part in first["loc"]:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += f".{part}" if field else str(part)
    return field or "body", first["msg"]


def relay_error(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    """Error body of the SMS relay and the AlimTalk gateway (and the simulator's own APIs)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def fcm_error(
    status: int, fcm_status: str, message: str, error_code: str | None = None
) -> JSONResponse:
    """Error body in the shape of FCM HTTP v1 (google.rpc.Status)."""
    error: dict[str, Any] = {"code": status, "message": message, "status": fcm_status}
    if error_code is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": error_code,
            }
        ]
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def iso_time(epoch_ms: int) -> str:
    """Korean carriers report local time; keep the offset so nobody has to guess."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.astimezone(_KST).isoformat(timespec="milliseconds")


def has_bearer(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip())


def page_params(request: Request) -> tuple[int, int] | Response:
    """``after`` and ``limit`` from the query string, or the 400 to answer with."""
    values: list[int] = []
    for name, default, top in (("after", 0, 2**62), ("limit", 1000, MAX_PAGE)):
        raw = request.query_params.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            value = -1
        if not 0 <= value <= top or (name == "limit" and value == 0):
            return relay_error(400, "E-REQUEST", f"{name} must be an integer in range", name)
        values.append(value)
    return values[0], values[1]


def batch_result(
    key: str, message_id: str | None, status: str, code: str | None, reason: str | None
) -> dict[str, Any]:
    return {
        "clientKey": key,
        "messageId": message_id,
        "status": status,
        "code": code,
        "reason": reason,
    }


def stored_json(m: StoredMessage) -> dict[str, Any]:
    return {
        "seq": m.seq,
        "clientKey": m.client_key,
        "messageId": m.message_id,
        "channel": m.channel,
        "type": m.type,
        "sender": m.sender,
        "recipient": m.recipient,
        "subject": m.subject,
        "body": m.body,
        "acceptedAt": iso_time(m.accepted_at),
        "outcome": m.outcome,
        "code": m.code,
        "reason": m.reason,
        "receiptDueAt": iso_time(m.receipt_due_at),
    }


def receipt_json(r: Receipt) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "clientKey": r.client_key,
        "messageId": r.message_id,
        "channel": r.channel,
        "type": r.type,
        # Only the final (handset) stage is simulated so far.
        "stage": "handset",
        "status": r.status,
        "code": r.code,
        "reason": r.reason,
        "at": iso_time(r.at),
    }
