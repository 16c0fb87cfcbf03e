"""Push: the FCM HTTP v1 and APNs JSON that would be sent, and its 4 KB limit."""

from __future__ import annotations

import json
from typing import Any, Literal

from ums_pipelines.channels.checks.common import Found, check_characters
from ums_pipelines.channels.checks.result import Code, n
from ums_pipelines.channels.limits import ChannelLimits
from ums_pipelines.channels.payload import Payload, PushOptions

__all__ = ["KEY_RESERVE", "apns_payload", "check_push", "fcm_message", "push_wire_size"]

Platform = Literal["fcm", "apns"]
# The adapters add the message's idempotency key ("ums_key": job id, digest, round); a
# check made before the key exists counts this many characters for it.
KEY_RESERVE = 64
# FCM's analytics_label is 50 characters at most; an APNs expiry is epoch seconds.
_LONGEST: dict[str, Any] = {"analytics_label": "l" * 50, "expires_at": 9_999_999_999}


def _dumps(value: dict[str, Any]) -> bytes:
    # Compact UTF-8, as httpx and the APNs adapter encode it: a Hangul syllable is 3 bytes,
    # not a six-character escape.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def fcm_message(
    title: str,
    body: str,
    options: PushOptions | None = None,
    *,
    token: str | None = None,
    key: str | None = None,
    urgent: bool = False,
    analytics_label: str | None = None,
    expires_at: int | None = None,
) -> dict[str, Any]:
    """The ``message`` object of FCM HTTP v1 ``messages:send``: notification, data and
    the android/apns platform blocks (FCM reaches iOS through APNs, so the apns block
    repeats collapse id, priority and expiry in APNs's header names)."""
    data = dict(options.data) if options else {}
    if key is not None:
        data["ums_key"] = key
    android: dict[str, Any] = {"priority": "HIGH" if urgent else "NORMAL"}
    note: dict[str, Any] = {}
    aps: dict[str, Any] = {}
    headers = {"apns-priority": "10" if urgent else "5"}
    if options is not None:
        if options.collapse_key:
            android["collapse_key"] = options.collapse_key
            headers["apns-collapse-id"] = options.collapse_key
        if options.ttl_s is not None:
            android["ttl"] = f"{options.ttl_s}s"
            headers["apns-expiration"] = str(expires_at or 0) if options.ttl_s else "0"
        if options.sound:
            note["sound"] = options.sound
            aps["sound"] = options.sound
        if options.badge is not None:
            note["notification_count"] = options.badge
            aps["badge"] = options.badge
    if note:
        android["notification"] = note
    message: dict[str, Any] = {}
    if token is not None:
        message["token"] = token
    message |= {
        "notification": {"title": title, "body": body},
        "data": data,
        "android": android,
        "apns": {"headers": headers, "payload": {"aps": aps}},
    }
    if analytics_label is not None:
        message["fcm_options"] = {"analytics_label": analytics_label}
    return message


def apns_payload(
    title: str, body: str, options: PushOptions | None = None, *, key: str | None = None
) -> dict[str, Any]:
    """The APNs notification JSON (the HTTP/2 request body); badge and sound in ``aps``,
    custom data beside it (``aps`` itself is Apple's)."""
    aps: dict[str, Any] = {"alert": {"title": title, "body": body}}
    if options is not None and options.badge is not None:
        aps["badge"] = options.badge
    aps["sound"] = options.sound if options is not None and options.sound else "default"
    payload: dict[str, Any] = {
        k: v for k, v in (options.data if options else {}).items() if k != "aps"
    }
    payload["aps"] = aps
    if key is not None:
        payload["ums_key"] = key
    return payload


def push_wire_size(
    platform: Platform,
    title: str,
    body: str,
    options: PushOptions | None = None,
    *,
    key: str | None = None,
) -> int:
    """Bytes of what the 4 KB limit is about, at its largest: for FCM the message
    without its target token (notification, data, platform blocks, a 50-character
    analytics label, a 10-digit expiry), for APNs the whole payload."""
    if platform == "fcm":
        # The longest variants: NORMAL/HIGH priority and apns-priority 5/10 differ in length.
        return max(
            len(_dumps(fcm_message(title, body, options, key=key, urgent=urgent, **_LONGEST)))
            for urgent in (False, True)
        )
    if platform == "apns":
        return len(_dumps(apns_payload(title, body, options, key=key)))
    raise ValueError(f"push_platform: {platform!r} is not fcm or apns")


def check_push(
    found: Found,
    text: str,
    *,
    subject: str | None,
    purpose: str | None,
    payload: Payload,
    platform: Platform,
    limits: ChannelLimits,
) -> str:
    title = subject or ""
    for field_name, value in [("text", text), ("subject", title)]:
        check_characters(found, "push", field_name, value, limits.emoji_max_version)
    size = push_wire_size(platform, title, text, payload.push, key="k" * KEY_RESERVE)
    cap = limits.push.fcm_max_bytes if platform == "fcm" else limits.push.apns_max_bytes
    name = "FCM" if platform == "fcm" else "APNs"
    if size > cap:
        found.add(
            Code.PUSH_TOO_LARGE,
            f"payload: {n(size)} bytes as {name} JSON, {name} takes {n(cap)} at most",
        )
    for part, items in (("buttons", payload.buttons), ("attachments", payload.attachments)):
        if items:
            found.add(Code.PART_NOT_ALLOWED, f"{part}: a push notification carries none")
    label = limits.ad.label
    if purpose == "ad" and not any(v.lstrip().startswith(label) for v in (title, text)):
        # The label must show in the notification itself: its title or its first line.
        found.add(
            Code.AD_LABEL_MISSING,
            f"text: an advertising push starts its title or its text with {label} exactly",
        )
    return "FCM" if platform == "fcm" else "APNS"
