"""FCM HTTP v1's platform blocks (``android``, ``apns``, ``fcm_options``), as FCM
validates them: a ``ttl`` is a protobuf Duration string, priorities are enums, data
values are strings and some data keys are reserved."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "AndroidConfig",
    "AndroidNotification",
    "ApnsConfig",
    "FcmOptions",
    "check_data_keys",
]

_DURATION = re.compile(r"\d{1,10}(\.\d{1,9})?s")
# FCM refuses these data keys (and any starting with "google." or "gcm.").
_RESERVED = {"from", "message_type", "collapse_key", "notification"}


def check_data_keys(data: dict[str, str] | None) -> dict[str, str] | None:
    for key in data or {}:
        if key in _RESERVED or key.startswith(("google.", "gcm.")):
            raise ValueError(f"data key {key!r} is reserved")
    return data


class _Block(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AndroidNotification(_Block):
    title: str | None = None
    body: str | None = None
    sound: str | None = None
    notification_count: int | None = Field(default=None, ge=0)
    channel_id: str | None = None


class AndroidConfig(_Block):
    collapse_key: str | None = Field(default=None, max_length=100)
    priority: Literal["NORMAL", "HIGH"] | None = None
    ttl: str | None = None
    data: dict[str, str] | None = None
    notification: AndroidNotification | None = None

    @field_validator("ttl")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and _DURATION.fullmatch(value) is None:
            raise ValueError("must be a duration in seconds such as '3600s'")
        return value

    _keys = field_validator("data")(check_data_keys)


class ApnsConfig(_Block):
    headers: dict[str, str] | None = None
    payload: dict[str, Any] | None = None

    @field_validator("headers")
    @classmethod
    def _apns_headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        priority = (value or {}).get("apns-priority")
        if priority is not None and priority not in {"1", "5", "10"}:
            raise ValueError("apns-priority must be 1, 5 or 10")
        return value


class FcmOptions(_Block):
    analytics_label: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9-_.~%]{1,50}$")
