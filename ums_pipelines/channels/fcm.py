"""FCM HTTP v1's message: notification, data, and the android/apns platform blocks.

FCM delivers to iOS through APNs as well, so the ``apns`` block carries the same
collapse id, priority and expiry as the ``android`` block, in APNs's own header names.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ums_pipelines.channels.payload import Payload
from ums_pipelines.dispatch.claims import Claimed

__all__ = ["fcm_message"]

# Lanes at or below this priority number are time-critical (urgent, OTP, transactional).
_URGENT_PRIORITY = 30


def _label(job_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9\-_.~%]", "_", job_id)[:50] or "ums"


def fcm_message(m: Claimed, now: float | None = None) -> dict[str, Any]:
    """The ``message`` object of ``POST /v1/projects/{p}/messages:send``."""
    push = Payload.from_json(m.payload).push
    urgent = m.priority <= _URGENT_PRIORITY
    title = m.subject or ""
    data = dict(push.data) if push is not None else {}
    # The key lets the app and the simulator recognise a retried message.
    data["ums_key"] = m.idempotency_key
    android: dict[str, Any] = {"priority": "HIGH" if urgent else "NORMAL"}
    android_note: dict[str, Any] = {}
    aps: dict[str, Any] = {}
    apns_headers = {"apns-priority": "10" if urgent else "5"}
    if push is not None:
        if push.collapse_key:
            android["collapse_key"] = push.collapse_key
            apns_headers["apns-collapse-id"] = push.collapse_key
        if push.ttl_s is not None:
            android["ttl"] = f"{push.ttl_s}s"
            moment = time.time() if now is None else now
            apns_headers["apns-expiration"] = str(int(moment) + push.ttl_s) if push.ttl_s else "0"
        if push.sound:
            android_note["sound"] = push.sound
            aps["sound"] = push.sound
        if push.badge is not None:
            android_note["notification_count"] = push.badge
            aps["badge"] = push.badge
    if android_note:
        android["notification"] = android_note
    message: dict[str, Any] = {
        "token": m.recipient,
        "notification": {"title": title, "body": m.body},
        "data": data,
        "android": android,
        "apns": {"headers": apns_headers, "payload": {"aps": aps}},
        # Delivery statistics per job in the Firebase console.
        "fcm_options": {"analytics_label": _label(m.idempotency_key.split(".")[0])},
    }
    return message
