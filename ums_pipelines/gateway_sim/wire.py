"""Request bodies and error responses, in each provider's own wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ums_pipelines.gateway_sim import codes
from ums_pipelines.gateway_sim.push_wire import (
    AndroidConfig,
    ApnsConfig,
    FcmOptions,
    check_data_keys,
)
from ums_pipelines.gateway_sim.records import RateWindow, Receipt, StoredMessage

__all__ = [
    "MAX_PAGE",
    "AlimTalkBatch",
    "AlimTalkMessage",
    "PushMessage",
    "PushNotification",
    "PushRequest",
    "SmsBatch",
    "SmsMessage",
    "StatusQuery",
    "batch_result",
    "error_field",
    "fcm_error",
    "has_bearer",
    "iso_time",
    "page_params",
    "rate_json",
    "receipt_json",
    "relay_error",
    "status_json",
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
    type: Literal["SMS", "LMS", "MMS"]
    sender: str = Field(alias="from")
    to: str
    subject: str | None = None
    text: str
    # MMS: the uploaded images (POST /sms/v1/files), see gateway_sim.mms.
    file_ids: list[str] | None = Field(default=None, alias="fileIds")


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


class StatusQuery(_Wire):
    client_keys: list[str] = Field(alias="clientKeys", min_length=1, max_length=1000)


class PushNotification(_Wire):
    title: str | None = None
    body: str | None = None


class PushMessage(_Wire):
    token: str = Field(min_length=1)
    notification: PushNotification | None = None
    # FCM refuses non-string data values, and so do we.
    data: dict[str, str] | None = None
    android: AndroidConfig | None = None
    apns: ApnsConfig | None = None
    fcm_options: FcmOptions | None = None

    _keys = field_validator("data")(check_data_keys)


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


def relay_error(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    retry_after: int | None = None,
) -> JSONResponse:
    """Error body of the SMS relay and the AlimTalk gateway (and the simulator's own APIs)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "1"}
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def fcm_error(
    status: int,
    fcm_status: str,
    message: str,
    error_code: str | None = None,
    retry_after: int | None = None,
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
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
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
            return relay_error(400, codes.E_REQUEST, f"{name} must be an integer in range", name)
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
        # Only "handset", unless SimConfig.receipt_stages adds relay and carrier.
        "stage": r.stage,
        "status": r.status,
        "code": r.code,
        "reason": r.reason,
        "at": iso_time(r.at),
    }


def status_json(key: str, m: StoredMessage | None, now: int) -> dict[str, Any]:
    """A message's current status: unknown (never accepted), pending, or its outcome.

    The outcome shows once it is due (its handset receipt's time), whether or not
    that receipt was lost from the feed.
    """
    if m is None:
        return {
            "clientKey": key,
            "messageId": None,
            "channel": None,
            "type": None,
            "status": "unknown",
            "code": None,
            "reason": None,
            "acceptedAt": None,
            "doneAt": None,
        }
    done = m.receipt_due_at <= now
    return {
        "clientKey": key,
        "messageId": m.message_id,
        "channel": m.channel,
        "type": m.type,
        "status": m.outcome if done else "pending",
        "code": m.code if done else None,
        "reason": m.reason if done else None,
        "acceptedAt": iso_time(m.accepted_at),
        "doneAt": iso_time(m.receipt_due_at) if done else None,
    }


def rate_json(channel: str, window_ms: int, w: RateWindow) -> dict[str, Any]:
    def both(name: str, value: int | None) -> dict[str, Any]:
        return {name: None if value is None else iso_time(value), f"{name}Ms": value}

    return {
        "channel": channel,
        "windowMs": window_ms,
        "total": w.total,
        "maxInWindow": w.max_in_window,
        **both("windowStart", w.window_start),
        **both("firstAcceptedAt", w.first),
        **both("lastAcceptedAt", w.last),
    }
