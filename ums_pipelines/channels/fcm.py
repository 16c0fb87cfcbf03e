"""FCM HTTP v1's message: notification, data, and the android/apns platform blocks.

FCM delivers to iOS through APNs as well, so the ``apns`` block carries the same
collapse id, priority and expiry as the ``android`` block, in APNs's own header names.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ums_pipelines.channels.checks.push import fcm_message as build_message
from ums_pipelines.channels.payload import Payload
from ums_pipelines.dispatch.claims import Claimed

__all__ = ["fcm_message"]

# Lanes at or below this priority number are time-critical (urgent, OTP, transactional).
_URGENT_PRIORITY = 30


def _label(job_id: str) -> str:
    return re.sub(r"[^a-zA-Z0-9\-_.~%]", "_", job_id)[:50] or "ums"


def fcm_message(m: Claimed, now: float | None = None) -> dict[str, Any]:
    """The ``message`` object of ``POST /v1/projects/{p}/messages:send`` for one row:
    built by the same function the push size check measures, so a message that passed
    the check cannot be bigger on the wire."""
    push = Payload.from_json(m.payload).push
    expires: int | None = None
    if push is not None and push.ttl_s:
        expires = int(time.time() if now is None else now) + push.ttl_s
    return build_message(
        m.subject or "",
        m.body,
        push,
        token=m.recipient,
        # The key lets the app and the simulator recognise a retried message.
        key=m.idempotency_key,
        urgent=m.priority <= _URGENT_PRIORITY,
        # Delivery statistics per job in the Firebase console.
        analytics_label=_label(m.idempotency_key.split(".")[0]),
        expires_at=expires,
    )
